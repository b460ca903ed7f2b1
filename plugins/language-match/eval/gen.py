#!/usr/bin/env python3
"""Generates the language-match evaluation set (Python 3 stdlib, deterministic).

    python3 plugins/language-match/eval/gen.py            # writes tune.jsonl and heldout.jsonl

Two splits with different seeds AND different hand-written templates and
vocabulary (tuning happened on `tune` only; `heldout` uses other topics,
phrasings and words):

- users write in de, fr, es, it, pt, nl or en, in short chat turns of 25-80
  characters (casual style: sometimes lower-case, no final punctuation);
- 3-8 assistant turns per conversation, often after an English system prompt;
- a third of the conversations never switch; in the others the assistant
  answers in English (an English user gets another language) from some turn
  on, or only at that turn; a few users really switch to English themselves
  (and the assistant follows, or does not).

Every assistant turn has its ground truth in the record's `truth` list:
`"<user's language>:<assistant's language>"` for turn 1, 2, ...; the
evaluation (`eval.py`) compares it to the metric's verdict with
`expand_turns = true`. No `lang` metadata: the metric must infer it.
"""

import json
import random
from pathlib import Path

LANGS = ["de", "fr", "es", "it", "pt", "nl", "en"]

# --------------------------------------------------------------------------
# Tuning split: online shop, travel, banking.
# --------------------------------------------------------------------------
TUNE = {
    "de": {
        "item": ["die Jacke", "den Rucksack", "die Kaffeemaschine", "das Fahrrad", "die Schuhe",
                 "den Drucker", "das Handy", "die Lampe"],
        "day": ["morgen", "am Montag", "nächste Woche", "heute Abend", "übermorgen"],
        "place": ["Berlin", "Wien", "Zürich", "Hamburg", "München"],
        "user": [
            "Hallo, ich habe gestern {item} bestellt.",
            "Wann bekomme ich {item} ungefähr?",
            "Und wie ändere ich die Lieferadresse?",
            "Kann ich {item} auch zurückschicken?",
            "Die Bestellnummer ist {num}.",
            "Ich brauche das unbedingt {day}.",
            "Gibt es eine Filiale in {place}?",
            "Was kostet der Versand nach {place}?",
            "Das Paket ist leider beschädigt angekommen",
            "Kann ich auch mit Rechnung bezahlen?",
            "ich finde meine bestätigung nicht mehr",
            "Habt ihr {item} noch auf Lager?",
            "Ich möchte einen Flug nach {place} buchen.",
            "Wie hoch ist die Gebühr für die Überweisung?",
            "Meine Karte wurde gesperrt, was soll ich tun?",
            "Danke, und bis wann muss ich zahlen?",
            "okay, geht das auch {day}?",
        ],
        "assistant": [
            "Gern helfe ich Ihnen weiter.",
            "Ihre Bestellung {num} ist unterwegs und kommt {day} an.",
            "Sie können die Adresse in Ihrem Kundenkonto unter Einstellungen ändern.",
            "Eine Rücksendung ist innerhalb von dreißig Tagen kostenlos möglich.",
            "Der Versand nach {place} kostet 4,90 Euro und dauert zwei Werktage.",
            "Leider ist dieser Artikel gerade ausverkauft, aber wir bekommen bald Nachschub.",
            "Ich habe Ihre Karte geprüft, sie ist jetzt wieder freigeschaltet.",
            "Bitte schicken Sie mir ein Foto des Schadens, dann kümmere ich mich darum.",
            "Gibt es sonst noch etwas, bei dem ich Ihnen helfen kann?",
        ],
    },
    "fr": {
        "item": ["la veste", "le sac à dos", "la cafetière", "le vélo", "les chaussures",
                 "l'imprimante", "le téléphone", "la lampe"],
        "day": ["demain", "lundi", "la semaine prochaine", "ce soir", "après-demain"],
        "place": ["Paris", "Lyon", "Genève", "Bruxelles", "Marseille"],
        "user": [
            "Bonjour, j'ai commandé {item} hier.",
            "Quand est-ce que {item} va arriver ?",
            "Et comment je change l'adresse de livraison ?",
            "Est-ce que je peux renvoyer {item} ?",
            "Le numéro de commande est {num}.",
            "J'en ai absolument besoin {day}.",
            "Vous avez un magasin à {place} ?",
            "Combien coûte la livraison vers {place} ?",
            "Le colis est arrivé abîmé malheureusement",
            "Je peux payer par virement aussi ?",
            "je ne trouve plus ma confirmation",
            "Est-ce que {item} est encore en stock ?",
            "Je voudrais réserver un vol pour {place}.",
            "Quels sont les frais pour un virement ?",
            "Ma carte est bloquée, qu'est-ce que je fais ?",
            "Merci, et je dois payer avant quand ?",
            "d'accord, c'est possible {day} ?",
        ],
        "assistant": [
            "Avec plaisir, je vais vous aider.",
            "Votre commande {num} est en route et arrivera {day}.",
            "Vous pouvez modifier l'adresse dans votre compte client, rubrique paramètres.",
            "Le retour est gratuit pendant trente jours après la livraison.",
            "La livraison vers {place} coûte 4,90 euros et prend deux jours ouvrés.",
            "Cet article est malheureusement épuisé, mais il sera bientôt de nouveau disponible.",
            "J'ai vérifié votre carte, elle est de nouveau active.",
            "Envoyez-moi une photo des dégâts et je m'en occupe tout de suite.",
            "Est-ce que je peux vous aider pour autre chose ?",
        ],
    },
    "es": {
        "item": ["la chaqueta", "la mochila", "la cafetera", "la bicicleta", "los zapatos",
                 "la impresora", "el móvil", "la lámpara"],
        "day": ["mañana", "el lunes", "la semana que viene", "esta noche", "pasado mañana"],
        "place": ["Madrid", "Sevilla", "Barcelona", "Valencia", "Bilbao"],
        "user": [
            "Hola, ayer pedí {item}.",
            "¿Cuándo llega {item} más o menos?",
            "¿Y cómo cambio la dirección de entrega?",
            "¿Puedo devolver {item}?",
            "El número de pedido es {num}.",
            "Lo necesito sin falta {day}.",
            "¿Tienen una tienda en {place}?",
            "¿Cuánto cuesta el envío a {place}?",
            "El paquete llegó dañado, qué pena",
            "¿Puedo pagar también con transferencia?",
            "no encuentro la confirmación por ningún lado",
            "¿Todavía queda {item} en stock?",
            "Quiero reservar un vuelo a {place}.",
            "¿Cuánto cobran por una transferencia?",
            "Me han bloqueado la tarjeta, ¿qué hago?",
            "Gracias, ¿y hasta cuándo tengo que pagar?",
            "vale, ¿se puede {day}?",
        ],
        "assistant": [
            "Con mucho gusto le ayudo.",
            "Su pedido {num} ya está en camino y llegará {day}.",
            "Puede cambiar la dirección en su cuenta, en el apartado de ajustes.",
            "La devolución es gratuita durante treinta días desde la entrega.",
            "El envío a {place} cuesta 4,90 euros y tarda dos días laborables.",
            "Lamentablemente este artículo está agotado, pero pronto volverá a estar disponible.",
            "He revisado su tarjeta y ya está desbloqueada.",
            "Envíeme una foto de los daños y me encargo enseguida.",
            "¿Hay algo más en lo que pueda ayudarle?",
        ],
    },
    "it": {
        "item": ["la giacca", "lo zaino", "la macchina del caffè", "la bicicletta", "le scarpe",
                 "la stampante", "il telefono", "la lampada"],
        "day": ["domani", "lunedì", "la settimana prossima", "stasera", "dopodomani"],
        "place": ["Roma", "Milano", "Torino", "Napoli", "Bologna"],
        "user": [
            "Ciao, ieri ho ordinato {item}.",
            "Quando arriva {item} più o meno?",
            "E come cambio l'indirizzo di consegna?",
            "Posso restituire {item}?",
            "Il numero dell'ordine è {num}.",
            "Mi serve assolutamente {day}.",
            "Avete un negozio a {place}?",
            "Quanto costa la spedizione a {place}?",
            "Il pacco è arrivato danneggiato purtroppo",
            "Posso pagare anche con bonifico?",
            "non trovo più la conferma dell'ordine",
            "{item} è ancora disponibile?",
            "Vorrei prenotare un volo per {place}.",
            "Quanto costa fare un bonifico?",
            "Mi hanno bloccato la carta, cosa devo fare?",
            "Grazie, e entro quando devo pagare?",
            "va bene, si può fare {day}?",
        ],
        "assistant": [
            "Volentieri, la aiuto subito.",
            "Il suo ordine {num} è in viaggio e arriverà {day}.",
            "Può cambiare l'indirizzo nel suo profilo, alla voce impostazioni.",
            "Il reso è gratuito entro trenta giorni dalla consegna.",
            "La spedizione a {place} costa 4,90 euro e richiede due giorni lavorativi.",
            "Purtroppo questo articolo è esaurito, ma tornerà disponibile a breve.",
            "Ho controllato la sua carta, adesso è di nuovo attiva.",
            "Mi mandi una foto del danno e me ne occupo subito.",
            "Posso aiutarla in qualcos'altro?",
        ],
    },
    "pt": {
        "item": ["o casaco", "a mochila", "a máquina de café", "a bicicleta", "os sapatos",
                 "a impressora", "o telemóvel", "o candeeiro"],
        "day": ["amanhã", "na segunda-feira", "na próxima semana", "hoje à noite", "depois de amanhã"],
        "place": ["Lisboa", "Porto", "São Paulo", "Coimbra", "Braga"],
        "user": [
            "Olá, ontem encomendei {item}.",
            "Quando é que {item} chega mais ou menos?",
            "E como mudo o endereço de entrega?",
            "Posso devolver {item}?",
            "O número da encomenda é {num}.",
            "Preciso disso sem falta {day}.",
            "Vocês têm uma loja em {place}?",
            "Quanto custa o envio para {place}?",
            "A encomenda chegou danificada, infelizmente",
            "Também posso pagar por transferência?",
            "não encontro a confirmação em lado nenhum",
            "Ainda têm {item} em stock?",
            "Queria reservar um voo para {place}.",
            "Quanto custa fazer uma transferência?",
            "O meu cartão foi bloqueado, o que faço?",
            "Obrigado, e até quando tenho de pagar?",
            "está bem, dá para ser {day}?",
        ],
        "assistant": [
            "Com todo o gosto, vou ajudá-lo.",
            "A sua encomenda {num} já está a caminho e chega {day}.",
            "Pode alterar o endereço na sua conta, na secção de definições.",
            "A devolução é gratuita durante trinta dias após a entrega.",
            "O envio para {place} custa 4,90 euros e demora dois dias úteis.",
            "Infelizmente este artigo está esgotado, mas voltará a estar disponível em breve.",
            "Verifiquei o seu cartão e já está desbloqueado.",
            "Envie-me uma fotografia dos danos e eu trato disso já.",
            "Posso ajudá-lo em mais alguma coisa?",
        ],
    },
    "nl": {
        "item": ["de jas", "de rugzak", "het koffiezetapparaat", "de fiets", "de schoenen",
                 "de printer", "de telefoon", "de lamp"],
        "day": ["morgen", "maandag", "volgende week", "vanavond", "overmorgen"],
        "place": ["Amsterdam", "Utrecht", "Gent", "Rotterdam", "Antwerpen"],
        "user": [
            "Hallo, ik heb gisteren {item} besteld.",
            "Wanneer komt {item} ongeveer aan?",
            "En hoe verander ik het afleveradres?",
            "Kan ik {item} ook terugsturen?",
            "Het bestelnummer is {num}.",
            "Ik heb het echt {day} nodig.",
            "Hebben jullie een winkel in {place}?",
            "Wat kost de verzending naar {place}?",
            "Het pakket is helaas beschadigd aangekomen",
            "Kan ik ook achteraf betalen?",
            "ik kan mijn bevestiging niet meer vinden",
            "Is {item} nog op voorraad?",
            "Ik wil graag een vlucht naar {place} boeken.",
            "Hoeveel kost een overschrijving eigenlijk?",
            "Mijn pas is geblokkeerd, wat moet ik doen?",
            "Bedankt, en wanneer moet ik betalen?",
            "oké, kan dat ook {day}?",
        ],
        "assistant": [
            "Ik help u graag verder.",
            "Uw bestelling {num} is onderweg en komt {day} aan.",
            "U kunt het adres wijzigen in uw account onder instellingen.",
            "Terugsturen is binnen dertig dagen na levering gratis.",
            "Verzending naar {place} kost 4,90 euro en duurt twee werkdagen.",
            "Helaas is dit artikel uitverkocht, maar het is binnenkort weer leverbaar.",
            "Ik heb uw pas gecontroleerd, hij werkt nu weer.",
            "Stuur me een foto van de schade, dan regel ik het meteen.",
            "Kan ik u nog ergens anders mee helpen?",
        ],
    },
    "en": {
        "item": ["the jacket", "the backpack", "the coffee machine", "the bike", "the shoes",
                 "the printer", "the phone", "the lamp"],
        "day": ["tomorrow", "on Monday", "next week", "tonight", "the day after tomorrow"],
        "place": ["London", "Dublin", "Boston", "Leeds", "Toronto"],
        "user": [
            "Hi, I ordered {item} yesterday.",
            "When will {item} roughly arrive?",
            "And how do I change the delivery address?",
            "Can I send {item} back?",
            "The order number is {num}.",
            "I really need it {day}.",
            "Do you have a store in {place}?",
            "How much is shipping to {place}?",
            "The parcel arrived damaged unfortunately",
            "Can I pay by bank transfer as well?",
            "i can't find my confirmation anymore",
            "Is {item} still in stock?",
            "I'd like to book a flight to {place}.",
            "What's the fee for a transfer?",
            "My card got blocked, what should I do?",
            "Thanks, and when do I have to pay by?",
            "ok, is {day} possible too?",
        ],
        "assistant": [
            "Happy to help you with that.",
            "Your order {num} is on its way and will arrive {day}.",
            "You can change the address in your account under settings.",
            "Returns are free within thirty days of delivery.",
            "Shipping to {place} costs 4.90 euros and takes two business days.",
            "Unfortunately this item is sold out, but it will be back in stock soon.",
            "I checked your card and it is unblocked now.",
            "Please send me a photo of the damage and I will take care of it right away.",
            "Is there anything else I can help you with?",
        ],
        # The user's own switch to English (after writing another language).
        "switch": [
            "Sorry, can we continue in English please?",
            "Could you answer in English? It's easier for me.",
            "Let's switch to English, my {lang} is not great.",
        ],
    },
}

# --------------------------------------------------------------------------
# Held-out split: tech support, doctor's appointments, flat rental, cooking.
# Other templates, other words, other names.
# --------------------------------------------------------------------------
HELD = {
    "de": {
        "item": ["der Router", "das WLAN", "der Laptop", "die App", "das Passwort", "die Heizung"],
        "day": ["Donnerstag", "diesen Freitag", "am Wochenende", "in zwei Wochen", "vormittags"],
        "place": ["Köln", "Leipzig", "Graz", "Bern", "Dresden"],
        "user": [
            "Seit heute früh geht {item} nicht mehr.",
            "Ich hab schon neu gestartet, hilft nix",
            "Muss ich dafür einen Techniker bestellen?",
            "Bekomme ich {day} noch einen Termin beim Arzt?",
            "Meine Tochter hat seit gestern Fieber.",
            "Brauche ich eine Überweisung vom Hausarzt?",
            "Ist die Wohnung in {place} noch frei?",
            "Wie hoch sind die Nebenkosten im Monat?",
            "Sind Haustiere in der Wohnung erlaubt?",
            "Wie lange muss der Kuchen in den Ofen?",
            "Kann ich statt Butter auch Margarine nehmen?",
            "hm, und wenn {item} immer noch spinnt?",
            "Schreib mir bitte die Schritte einzeln auf",
            "Alles klar, das probiere ich gleich aus!",
        ],
        "assistant": [
            "Das klingt ärgerlich, lassen Sie uns das gemeinsam lösen.",
            "Ziehen Sie bitte kurz den Stecker und warten Sie dreißig Sekunden.",
            "Ein Termin wäre {day} um zehn Uhr frei, soll ich ihn eintragen?",
            "Bei hohem Fieber sollten Sie lieber heute noch in die Praxis kommen.",
            "Die Wohnung in {place} ist ab dem ersten des Monats verfügbar.",
            "Die Nebenkosten liegen bei etwa zweihundert Euro, Heizung inklusive.",
            "Backen Sie den Kuchen bei 180 Grad ungefähr vierzig Minuten.",
            "Margarine funktioniert auch, der Teig wird nur etwas weicher.",
        ],
    },
    "fr": {
        "item": ["le routeur", "le wifi", "l'ordinateur portable", "l'application", "le mot de passe",
                 "le chauffage"],
        "day": ["jeudi", "ce vendredi", "ce week-end", "dans deux semaines", "le matin"],
        "place": ["Toulouse", "Nantes", "Lausanne", "Lille", "Bordeaux"],
        "user": [
            "Depuis ce matin {item} ne marche plus.",
            "J'ai déjà redémarré, ça ne change rien",
            "Il faut faire venir un technicien pour ça ?",
            "Je peux avoir un rendez-vous chez le médecin {day} ?",
            "Ma fille a de la fièvre depuis hier.",
            "Est-ce qu'il me faut une ordonnance du généraliste ?",
            "L'appartement à {place} est toujours libre ?",
            "Les charges mensuelles sont de combien ?",
            "Les animaux sont acceptés dans le logement ?",
            "Le gâteau doit rester combien de temps au four ?",
            "Je peux remplacer le beurre par de la margarine ?",
            "bon, et si {item} fait encore des siennes ?",
            "Tu peux me détailler les étapes une par une",
            "Parfait, je teste ça tout de suite !",
        ],
        "assistant": [
            "C'est agaçant, essayons de régler ça ensemble.",
            "Débranchez l'appareil et attendez une trentaine de secondes.",
            "Il reste un créneau {day} à dix heures, je vous l'inscris ?",
            "Avec une forte fièvre, venez plutôt au cabinet dès aujourd'hui.",
            "L'appartement à {place} est disponible à partir du premier du mois.",
            "Les charges sont d'environ deux cents euros, chauffage compris.",
            "Faites cuire le gâteau à 180 degrés pendant une quarantaine de minutes.",
            "La margarine marche aussi, la pâte sera juste un peu plus molle.",
        ],
    },
    "es": {
        "item": ["el router", "el wifi", "el portátil", "la aplicación", "la contraseña", "la calefacción"],
        "day": ["el jueves", "este viernes", "el fin de semana", "dentro de dos semanas", "por la mañana"],
        "place": ["Málaga", "Zaragoza", "Granada", "Salamanca", "Córdoba"],
        "user": [
            "Desde esta mañana no funciona {item}.",
            "Ya lo reinicié y sigue igual",
            "¿Tengo que pedir que venga un técnico?",
            "¿Me pueden dar cita con el médico {day}?",
            "Mi hija tiene fiebre desde ayer.",
            "¿Necesito un volante del médico de cabecera?",
            "¿Sigue libre el piso de {place}?",
            "¿Cuánto son los gastos de comunidad al mes?",
            "¿Se permiten mascotas en el piso?",
            "¿Cuánto tiempo tiene que estar el bizcocho en el horno?",
            "¿Puedo usar margarina en vez de mantequilla?",
            "ya, ¿y si {item} sigue dando guerra?",
            "Explícame los pasos uno por uno, porfa",
            "¡Genial, lo pruebo ahora mismo!",
        ],
        "assistant": [
            "Qué fastidio, vamos a solucionarlo juntos.",
            "Desenchufe el aparato y espere unos treinta segundos.",
            "Queda un hueco {day} a las diez, ¿se lo reservo?",
            "Con fiebre alta es mejor que venga hoy mismo a la consulta.",
            "El piso de {place} está disponible a partir del día uno del mes.",
            "Los gastos rondan los doscientos euros, calefacción incluida.",
            "Hornee el bizcocho a 180 grados durante unos cuarenta minutos.",
            "La margarina también sirve, la masa solo quedará algo más blanda.",
        ],
    },
    "it": {
        "item": ["il router", "il wifi", "il portatile", "l'app", "la password", "il riscaldamento"],
        "day": ["giovedì", "questo venerdì", "nel fine settimana", "tra due settimane", "di mattina"],
        "place": ["Firenze", "Genova", "Verona", "Palermo", "Trieste"],
        "user": [
            "Da stamattina {item} non funziona più.",
            "Ho già riavviato, non cambia niente",
            "Devo far venire un tecnico per questo?",
            "Posso avere un appuntamento dal medico {day}?",
            "Mia figlia ha la febbre da ieri.",
            "Mi serve l'impegnativa del medico di base?",
            "L'appartamento a {place} è ancora libero?",
            "A quanto ammontano le spese condominiali?",
            "Sono ammessi animali domestici in casa?",
            "Quanto tempo deve stare la torta in forno?",
            "Posso usare la margarina al posto del burro?",
            "mah, e se {item} continua a fare i capricci?",
            "Scrivimi i passaggi uno alla volta per favore",
            "Perfetto, lo provo subito!",
        ],
        "assistant": [
            "Che seccatura, proviamo a risolverlo insieme.",
            "Stacchi la spina e aspetti una trentina di secondi.",
            "C'è un posto libero {day} alle dieci, glielo prenoto?",
            "Con la febbre alta è meglio che venga in ambulatorio oggi stesso.",
            "L'appartamento a {place} è disponibile dal primo del mese.",
            "Le spese sono circa duecento euro, riscaldamento compreso.",
            "Cuocia la torta a 180 gradi per circa quaranta minuti.",
            "Va bene anche la margarina, l'impasto sarà solo un po' più morbido.",
        ],
    },
    "pt": {
        "item": ["o router", "o wi-fi", "o portátil", "a aplicação", "a palavra-passe", "o aquecimento"],
        "day": ["na quinta-feira", "esta sexta", "no fim de semana", "daqui a duas semanas", "de manhã"],
        "place": ["Faro", "Aveiro", "Recife", "Curitiba", "Setúbal"],
        "user": [
            "Desde hoje de manhã {item} deixou de funcionar.",
            "Já reiniciei e continua na mesma",
            "Tenho de chamar um técnico para isso?",
            "Consigo uma consulta no médico {day}?",
            "A minha filha está com febre desde ontem.",
            "Preciso de uma credencial do médico de família?",
            "O apartamento em {place} ainda está livre?",
            "Quanto é o condomínio por mês?",
            "São permitidos animais de estimação na casa?",
            "Quanto tempo o bolo tem de ficar no forno?",
            "Posso usar margarina em vez de manteiga?",
            "pois, e se {item} continuar a dar problemas?",
            "Explica-me os passos um de cada vez, por favor",
            "Ótimo, vou experimentar já!",
        ],
        "assistant": [
            "Que chatice, vamos resolver isso juntos.",
            "Desligue o aparelho da tomada e espere uns trinta segundos.",
            "Há uma vaga {day} às dez horas, quer que a marque?",
            "Com febre alta é melhor vir ainda hoje ao consultório.",
            "O apartamento em {place} está disponível a partir do dia um do mês.",
            "O condomínio ronda os duzentos euros, com aquecimento incluído.",
            "Coza o bolo a 180 graus durante cerca de quarenta minutos.",
            "A margarina também serve, a massa só fica um pouco mais mole.",
        ],
    },
    "nl": {
        "item": ["de router", "de wifi", "de laptop", "de app", "het wachtwoord", "de verwarming"],
        "day": ["donderdag", "deze vrijdag", "in het weekend", "over twee weken", "'s ochtends"],
        "place": ["Leiden", "Groningen", "Brugge", "Eindhoven", "Haarlem"],
        "user": [
            "Sinds vanochtend doet {item} het niet meer.",
            "Ik heb al opnieuw opgestart, helpt niks",
            "Moet ik daarvoor een monteur laten komen?",
            "Kan ik {day} nog bij de huisarts terecht?",
            "Mijn dochter heeft sinds gisteren koorts.",
            "Heb ik een verwijzing van de huisarts nodig?",
            "Is het appartement in {place} nog vrij?",
            "Hoe hoog zijn de servicekosten per maand?",
            "Zijn huisdieren toegestaan in de woning?",
            "Hoe lang moet de taart in de oven?",
            "Kan ik ook margarine gebruiken in plaats van boter?",
            "hm, en als {item} nog steeds moeilijk doet?",
            "Schrijf de stappen even één voor één op",
            "Top, dat probeer ik meteen uit!",
        ],
        "assistant": [
            "Vervelend, laten we het samen oplossen.",
            "Haal de stekker er even uit en wacht een halve minuut.",
            "Er is {day} om tien uur nog plek, zal ik die voor u reserveren?",
            "Met hoge koorts kunt u beter vandaag nog langskomen.",
            "Het appartement in {place} is beschikbaar vanaf de eerste van de maand.",
            "De servicekosten zijn ongeveer tweehonderd euro, inclusief verwarming.",
            "Bak de taart op 180 graden, ongeveer veertig minuten.",
            "Margarine kan ook, het deeg wordt alleen iets zachter.",
        ],
    },
    "en": {
        "item": ["the router", "the wifi", "my laptop", "the app", "my password", "the heating"],
        "day": ["on Thursday", "this Friday", "at the weekend", "in two weeks", "in the morning"],
        "place": ["Manchester", "Glasgow", "Seattle", "Bristol", "Ottawa"],
        "user": [
            "Since this morning {item} stopped working.",
            "I already restarted it, no luck",
            "Do I need to get a technician out?",
            "Can I see the doctor {day}?",
            "My daughter has had a fever since yesterday.",
            "Do I need a referral from my GP?",
            "Is the flat in {place} still available?",
            "How much are the monthly service charges?",
            "Are pets allowed in the flat?",
            "How long does the cake need in the oven?",
            "Can I use margarine instead of butter?",
            "hmm, and what if {item} still acts up?",
            "Write the steps out one by one please",
            "Great, I'll try that right away!",
        ],
        "assistant": [
            "That sounds annoying, let's sort it out together.",
            "Unplug the device and wait about thirty seconds.",
            "There is a slot {day} at ten, shall I book it for you?",
            "With a high fever you should come to the practice today.",
            "The flat in {place} is available from the first of the month.",
            "Service charges are about two hundred pounds, heating included.",
            "Bake the cake at 180 degrees for roughly forty minutes.",
            "Margarine works too, the dough will just be a little softer.",
        ],
        "switch": [
            "Can you reply in English from now on?",
            "English please, I don't really speak {lang}.",
            "Would you mind writing in English instead?",
        ],
    },
}

NAMES = {"de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
         "nl": "Dutch", "en": "English"}
SYSTEM = [
    "You are a helpful assistant. Answer in the user's language.",
    "You are the support assistant of an online service.",
    "Be concise and friendly.",
]


def fill(rng, bank, template, lang=""):
    text = template.format(
        item=rng.choice(bank["item"]), day=rng.choice(bank["day"]), place=rng.choice(bank["place"]),
        num=rng.randint(10000, 99999), lang=lang,
    )
    return text[0].upper() + text[1:] if text[0].islower() and template[0] == "{" else text


def user_turn(rng, bank, used):
    for _ in range(100):
        text = fill(rng, bank, rng.choice(bank["user"]))
        if rng.random() < 0.35:  # two thoughts in one message
            text += " " + fill(rng, bank, rng.choice(bank["user"]))
        if rng.random() < 0.15:  # casual chat style
            text = text.rstrip(".!?").rstrip()
            text = text[0].lower() + text[1:]
        if 25 <= len(text) <= 80 and text not in used:
            used.add(text)
            return text
    raise SystemExit("no user turn of 25-80 characters")


def assistant_turn(rng, bank):
    parts = rng.sample(bank["assistant"], rng.choice([1, 2]))
    return " ".join(fill(rng, bank, p) for p in parts)


def conversation(rng, data, index, split):
    lang = LANGS[index % len(LANGS)]
    kind = ["none", "switch", "switch"][index % 3]
    turns = rng.randint(3, 8)
    user_switch_at = None
    if lang != "en" and rng.random() < 0.12:
        user_switch_at = rng.randint(1, turns - 1)
    switch_at, persist = None, rng.random() < 0.6
    if kind == "switch":
        switch_at = rng.randint(0, turns - 1)
    other = "en" if lang != "en" else rng.choice(LANGS[:-1])
    messages = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rng.choice(SYSTEM)})
    truth, used = [], set()
    for t in range(turns):
        user_lang = lang
        if user_switch_at is not None and t >= user_switch_at:
            user_lang = "en"
            if t == user_switch_at:
                text = fill(rng, data["en"], rng.choice(data["en"]["switch"]), NAMES[lang])
            else:
                text = user_turn(rng, data["en"], used)
        else:
            text = user_turn(rng, data[lang], used)
        messages.append({"role": "user", "content": text})
        answer_lang = user_lang
        if switch_at is not None and (t == switch_at or (persist and t > switch_at)):
            # The assistant answers in the wrong language: English for a
            # non-English user, else the conversation's other language.
            answer_lang = other if user_lang != other else lang
        messages.append({"role": "assistant", "content": assistant_turn(rng, data[answer_lang])})
        truth.append(f"{user_lang}:{answer_lang}")
    # `truth` and `info` are objects/lists: not turned into metadata.
    return {"id": f"{split}-{index:03d}-{lang}", "messages": messages, "truth": truth,
            "info": {"user_lang": lang, "kind": kind, "persist": persist,
                     "user_switch_at": user_switch_at}}


def main():
    out = Path(__file__).resolve().parent
    for split, data, seed, count in [("tune", TUNE, 1201, 300), ("heldout", HELD, 998877, 210)]:
        rng = random.Random(seed)
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for i in range(count):
                f.write(json.dumps(conversation(rng, data, i, split), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
