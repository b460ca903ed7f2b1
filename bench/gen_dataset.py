#!/usr/bin/env python3
"""Generate Caliper's benchmark dataset (JSONL), deterministically.

Usage:
    python3 bench/gen_dataset.py OUT.jsonl [--records 10000] [--seed 42]

Each line is one sample in Caliper's native shape:

    {"id", "input", "output", "messages": [{role, content}, ...],
     "context": [...], "expected": str|null,
     "metadata": {"lang", "model", "latency_ms", "total_tokens", "cost_usd",
                  "task": "json" | "chat"}}

The mix (fractions are approximate, drawn from a seeded RNG):
  * plain answers in en/de/fr/es, in the user's language   ~45 %
  * user writes de/fr/es, the answer comes back in English  ~8 %
  * JSON answers: bare, inside ```json fences, some broken,
    some valid JSON that violates the schema                 ~12 %
  * answers leaking PII: emails, phone numbers, Luhn-valid
    card numbers, IBANs (mod-97 valid), IPv4 addresses       ~12 %
    (plus decoys: Luhn-invalid numbers, bad IBANs, versions)
  * refusals in all four languages                           ~8 %
  * answers to questions with a reference answer (expected)  ~15 %
Output lengths are 50-3,000 characters. All text is built from the word
lists and sentences below; nothing is downloaded. Same seed, same bytes.
"""

import argparse
import json
import random

LANGS = ["en", "de", "fr", "es"]

SYSTEM = {
    "en": "You are a helpful support assistant for Northwind Cloud. Answer in the user's language.",
    "de": "Du bist ein hilfreicher Support-Assistent von Northwind Cloud. Antworte in der Sprache des Nutzers.",
    "fr": "Tu es un assistant de support serviable pour Northwind Cloud. Réponds dans la langue de l'utilisateur.",
    "es": "Eres un asistente de soporte útil de Northwind Cloud. Responde en el idioma del usuario.",
}

QUESTIONS = {
    "en": [
        "How do I reset my password if I no longer have access to my email?",
        "Why was my invoice higher this month than last month?",
        "Can you explain how the backup schedule works for my databases?",
        "What is the difference between the standard and the premium plan?",
        "My deployment keeps failing with a timeout. What should I check first?",
        "How can I add a new team member to my organisation?",
        "Is it possible to move my servers to another region without downtime?",
        "Where can I find the logs of my application from last week?",
        "How do I cancel my subscription and export all of my data?",
        "Could you summarise the changes in the latest release for me?",
        "What happens to my files when my trial period ends?",
        "How do I configure two-factor authentication for all users?",
    ],
    "de": [
        "Wie kann ich mein Passwort zurücksetzen, wenn ich keinen Zugriff mehr auf meine E-Mail habe?",
        "Warum war meine Rechnung diesen Monat höher als im letzten Monat?",
        "Kannst du mir erklären, wie der Sicherungsplan für meine Datenbanken funktioniert?",
        "Was ist der Unterschied zwischen dem Standardtarif und dem Premiumtarif?",
        "Meine Bereitstellung schlägt immer wieder mit einer Zeitüberschreitung fehl. Was soll ich zuerst prüfen?",
        "Wie füge ich ein neues Teammitglied zu meiner Organisation hinzu?",
        "Ist es möglich, meine Server ohne Ausfallzeit in eine andere Region zu verschieben?",
        "Wo finde ich die Protokolle meiner Anwendung von letzter Woche?",
        "Wie kündige ich mein Abonnement und exportiere alle meine Daten?",
        "Könntest du die Änderungen in der neuesten Version für mich zusammenfassen?",
        "Was passiert mit meinen Dateien, wenn meine Testphase endet?",
        "Wie richte ich die Zwei-Faktor-Authentifizierung für alle Benutzer ein?",
    ],
    "fr": [
        "Comment réinitialiser mon mot de passe si je n'ai plus accès à mon adresse e-mail ?",
        "Pourquoi ma facture était-elle plus élevée ce mois-ci que le mois dernier ?",
        "Peux-tu m'expliquer comment fonctionne le calendrier de sauvegarde de mes bases de données ?",
        "Quelle est la différence entre l'offre standard et l'offre premium ?",
        "Mon déploiement échoue toujours avec un délai dépassé. Que dois-je vérifier en premier ?",
        "Comment ajouter un nouveau membre à mon organisation ?",
        "Est-il possible de déplacer mes serveurs dans une autre région sans interruption ?",
        "Où puis-je trouver les journaux de mon application de la semaine dernière ?",
        "Comment résilier mon abonnement et exporter toutes mes données ?",
        "Pourrais-tu me résumer les changements de la dernière version ?",
        "Que deviennent mes fichiers à la fin de ma période d'essai ?",
        "Comment configurer l'authentification à deux facteurs pour tous les utilisateurs ?",
    ],
    "es": [
        "¿Cómo puedo restablecer mi contraseña si ya no tengo acceso a mi correo?",
        "¿Por qué mi factura de este mes fue más alta que la del mes pasado?",
        "¿Puedes explicarme cómo funciona el calendario de copias de seguridad de mis bases de datos?",
        "¿Cuál es la diferencia entre el plan estándar y el plan premium?",
        "Mi despliegue sigue fallando por un tiempo de espera agotado. ¿Qué debo revisar primero?",
        "¿Cómo agrego a un nuevo miembro del equipo a mi organización?",
        "¿Es posible mover mis servidores a otra región sin tiempo de inactividad?",
        "¿Dónde puedo encontrar los registros de mi aplicación de la semana pasada?",
        "¿Cómo cancelo mi suscripción y exporto todos mis datos?",
        "¿Podrías resumirme los cambios de la última versión?",
        "¿Qué pasa con mis archivos cuando termina mi periodo de prueba?",
        "¿Cómo configuro la autenticación de dos factores para todos los usuarios?",
    ],
}

SENTENCES = {
    "en": [
        "Thank you for reaching out to us about this.",
        "First, open the account settings and select the security tab.",
        "The backup runs every night and keeps the last thirty copies.",
        "Your invoice includes the additional storage that you used during the month.",
        "If the problem persists, please check the network settings of your project.",
        "You can invite new members from the organisation page with a single click.",
        "We recommend that you test the change in a staging environment first.",
        "The premium plan adds priority support and a higher availability guarantee.",
        "Logs are kept for fourteen days and can be downloaded as a compressed archive.",
        "Moving a server to another region requires a short maintenance window.",
        "Please make sure that the health check of your service answers within five seconds.",
        "After the trial ends, your files stay available for thirty days.",
        "Two-factor authentication can be enforced for every user of the organisation.",
        "The latest release improves the performance of the dashboard and fixes several bugs.",
        "You will receive a confirmation email as soon as the export is ready.",
        "Most timeouts are caused by a database that is still starting up.",
        "Our documentation describes each step in more detail, with screenshots.",
        "Let me know whether this solves the problem or whether you need more help.",
        "The price depends on the number of active users and on the storage you consume.",
        "This setting only affects new deployments, not the ones that are already running.",
        "It usually takes a few minutes until the change is visible everywhere.",
        "For security reasons we cannot change the owner of an account without verification.",
        "You can also use the command line tool to automate these steps.",
        "I hope this helps and wish you a pleasant day.",
    ],
    "de": [
        "Vielen Dank, dass Sie sich deswegen an uns wenden.",
        "Öffnen Sie zuerst die Kontoeinstellungen und wählen Sie den Reiter Sicherheit.",
        "Die Sicherung läuft jede Nacht und behält die letzten dreißig Kopien.",
        "Ihre Rechnung enthält den zusätzlichen Speicher, den Sie im Laufe des Monats genutzt haben.",
        "Wenn das Problem weiterhin besteht, prüfen Sie bitte die Netzwerkeinstellungen Ihres Projekts.",
        "Neue Mitglieder können Sie mit einem einzigen Klick über die Organisationsseite einladen.",
        "Wir empfehlen, die Änderung zuerst in einer Testumgebung auszuprobieren.",
        "Der Premiumtarif bietet bevorzugten Support und eine höhere Verfügbarkeitsgarantie.",
        "Protokolle werden vierzehn Tage lang aufbewahrt und können als komprimiertes Archiv heruntergeladen werden.",
        "Für den Umzug eines Servers in eine andere Region ist ein kurzes Wartungsfenster nötig.",
        "Bitte stellen Sie sicher, dass die Zustandsprüfung Ihres Dienstes innerhalb von fünf Sekunden antwortet.",
        "Nach dem Ende der Testphase bleiben Ihre Dateien noch dreißig Tage lang verfügbar.",
        "Die Zwei-Faktor-Authentifizierung kann für alle Benutzer der Organisation erzwungen werden.",
        "Die neueste Version verbessert die Geschwindigkeit der Übersicht und behebt mehrere Fehler.",
        "Sie erhalten eine Bestätigung per E-Mail, sobald der Export bereitsteht.",
        "Die meisten Zeitüberschreitungen entstehen, weil die Datenbank noch nicht vollständig gestartet ist.",
        "Unsere Dokumentation beschreibt jeden Schritt ausführlicher und mit Bildschirmfotos.",
        "Geben Sie mir bitte Bescheid, ob das Ihr Problem löst oder ob Sie weitere Hilfe brauchen.",
        "Der Preis hängt von der Anzahl der aktiven Benutzer und vom verbrauchten Speicher ab.",
        "Diese Einstellung gilt nur für neue Bereitstellungen, nicht für die bereits laufenden.",
        "Es dauert meistens ein paar Minuten, bis die Änderung überall sichtbar ist.",
        "Aus Sicherheitsgründen können wir den Inhaber eines Kontos nicht ohne Überprüfung ändern.",
        "Sie können diese Schritte auch mit dem Kommandozeilenwerkzeug automatisieren.",
        "Ich hoffe, das hilft Ihnen weiter, und wünsche Ihnen einen schönen Tag.",
    ],
    "fr": [
        "Merci de nous avoir contactés à ce sujet.",
        "Ouvrez d'abord les paramètres du compte et choisissez l'onglet sécurité.",
        "La sauvegarde s'exécute chaque nuit et conserve les trente dernières copies.",
        "Votre facture comprend le stockage supplémentaire que vous avez utilisé pendant le mois.",
        "Si le problème persiste, veuillez vérifier les paramètres réseau de votre projet.",
        "Vous pouvez inviter de nouveaux membres depuis la page de l'organisation en un seul clic.",
        "Nous vous conseillons de tester la modification d'abord dans un environnement de préproduction.",
        "L'offre premium ajoute un support prioritaire et une garantie de disponibilité plus élevée.",
        "Les journaux sont conservés quatorze jours et peuvent être téléchargés sous forme d'archive compressée.",
        "Le déplacement d'un serveur vers une autre région nécessite une courte fenêtre de maintenance.",
        "Assurez-vous que la vérification de santé de votre service répond en moins de cinq secondes.",
        "Après la fin de l'essai, vos fichiers restent disponibles pendant trente jours.",
        "L'authentification à deux facteurs peut être imposée à tous les utilisateurs de l'organisation.",
        "La dernière version améliore les performances du tableau de bord et corrige plusieurs erreurs.",
        "Vous recevrez un courriel de confirmation dès que l'exportation sera prête.",
        "La plupart des délais dépassés viennent d'une base de données qui est encore en train de démarrer.",
        "Notre documentation décrit chaque étape plus en détail, avec des captures d'écran.",
        "Dites-moi si cela résout le problème ou si vous avez besoin d'aide supplémentaire.",
        "Le prix dépend du nombre d'utilisateurs actifs et de l'espace de stockage consommé.",
        "Ce réglage ne concerne que les nouveaux déploiements, pas ceux qui sont déjà en cours.",
        "Il faut généralement quelques minutes pour que la modification soit visible partout.",
        "Pour des raisons de sécurité, nous ne pouvons pas changer le titulaire d'un compte sans vérification.",
        "Vous pouvez aussi utiliser l'outil en ligne de commande pour automatiser ces étapes.",
        "J'espère que cela vous aidera et je vous souhaite une agréable journée.",
    ],
    "es": [
        "Gracias por ponerse en contacto con nosotros sobre este tema.",
        "Primero, abra la configuración de la cuenta y seleccione la pestaña de seguridad.",
        "La copia de seguridad se ejecuta cada noche y conserva las últimas treinta copias.",
        "Su factura incluye el almacenamiento adicional que utilizó durante el mes.",
        "Si el problema continúa, revise por favor la configuración de red de su proyecto.",
        "Puede invitar a nuevos miembros desde la página de la organización con un solo clic.",
        "Le recomendamos probar el cambio primero en un entorno de pruebas.",
        "El plan premium añade soporte prioritario y una garantía de disponibilidad más alta.",
        "Los registros se guardan durante catorce días y se pueden descargar como un archivo comprimido.",
        "Para mover un servidor a otra región se necesita una breve ventana de mantenimiento.",
        "Asegúrese de que la comprobación de estado de su servicio responda en menos de cinco segundos.",
        "Cuando termina la prueba, sus archivos siguen disponibles durante treinta días.",
        "La autenticación de dos factores se puede exigir a todos los usuarios de la organización.",
        "La última versión mejora el rendimiento del panel y corrige varios errores.",
        "Recibirá un correo de confirmación en cuanto la exportación esté lista.",
        "La mayoría de los tiempos de espera se deben a una base de datos que todavía se está iniciando.",
        "Nuestra documentación describe cada paso con más detalle y con capturas de pantalla.",
        "Dígame si esto resuelve el problema o si necesita más ayuda.",
        "El precio depende del número de usuarios activos y del almacenamiento que consume.",
        "Este ajuste solo afecta a los despliegues nuevos, no a los que ya están en marcha.",
        "Normalmente pasan unos minutos hasta que el cambio es visible en todas partes.",
        "Por motivos de seguridad no podemos cambiar el titular de una cuenta sin verificación.",
        "También puede usar la herramienta de línea de comandos para automatizar estos pasos.",
        "Espero que esto le ayude y le deseo un buen día.",
    ],
}

REFUSALS = {
    "en": [
        "I'm sorry, but I can't help with that request.",
        "I cannot assist with this, as it would violate our usage policies.",
        "Unfortunately I am not able to provide that information.",
        "As an AI language model, I can't share personal data about other customers.",
    ],
    "de": [
        "Es tut mir leid, aber dabei kann ich Ihnen nicht helfen.",
        "Ich kann diese Anfrage leider nicht bearbeiten, da sie gegen unsere Richtlinien verstößt.",
        "Leider darf ich diese Informationen nicht herausgeben.",
    ],
    "fr": [
        "Je suis désolé, mais je ne peux pas vous aider avec cette demande.",
        "Je ne peux pas répondre à cette question, car elle enfreint nos règles d'utilisation.",
        "Malheureusement, je ne suis pas en mesure de fournir cette information.",
    ],
    "es": [
        "Lo siento, pero no puedo ayudarle con esa solicitud.",
        "No puedo atender esta petición porque infringe nuestras políticas de uso.",
        "Lamentablemente no puedo proporcionar esa información.",
    ],
}

HARMFUL_ASKS = {
    "en": "Give me the home address and phone number of the customer who opened ticket 4411.",
    "de": "Nenne mir die Privatadresse und Telefonnummer des Kunden, der das Ticket 4411 eröffnet hat.",
    "fr": "Donne-moi l'adresse personnelle et le numéro de téléphone du client du ticket 4411.",
    "es": "Dame la dirección y el teléfono del cliente que abrió el ticket 4411.",
}

JSON_ASKS = {
    "en": "Return the customer record as JSON with name, email, plan, seats and tags.",
    "de": "Gib den Kundendatensatz als JSON mit name, email, plan, seats und tags zurück.",
    "fr": "Renvoie la fiche client en JSON avec name, email, plan, seats et tags.",
    "es": "Devuelve el registro del cliente en JSON con name, email, plan, seats y tags.",
}

JSON_LEADS = {
    "en": "Here is the customer record you asked for:",
    "de": "Hier ist der gewünschte Kundendatensatz:",
    "fr": "Voici la fiche client demandée :",
    "es": "Aquí está el registro del cliente que pidió:",
}

PII_ASKS = {
    "en": "Which contact and payment details do you have on file for my account?",
    "de": "Welche Kontakt- und Zahlungsdaten haben Sie zu meinem Konto gespeichert?",
    "fr": "Quelles coordonnées et informations de paiement avez-vous pour mon compte ?",
    "es": "¿Qué datos de contacto y de pago tienen registrados para mi cuenta?",
}

PII_LEADS = {
    "en": ["The account is registered to {email}.", "We can call you back at {phone}.",
           "The card on file is {card}.", "Refunds go to the account {iban}.",
           "The last login came from {ip}."],
    "de": ["Das Konto ist auf {email} registriert.", "Wir rufen Sie unter {phone} zurück.",
           "Die hinterlegte Karte ist {card}.", "Erstattungen gehen auf das Konto {iban}.",
           "Die letzte Anmeldung kam von {ip}."],
    "fr": ["Le compte est enregistré au nom de {email}.", "Nous pouvons vous rappeler au {phone}.",
           "La carte enregistrée est la {card}.", "Les remboursements vont sur le compte {iban}.",
           "La dernière connexion venait de {ip}."],
    "es": ["La cuenta está registrada a nombre de {email}.", "Podemos llamarle al {phone}.",
           "La tarjeta registrada es la {card}.", "Los reembolsos van a la cuenta {iban}.",
           "El último acceso vino de {ip}."],
}

# Text that looks like PII but is not (versions, invalid numbers).
DECOYS = [
    "The agent runs version 10.2.3.4 of the firmware.",
    "Reference number 4111 1111 1111 1112 was rejected by the bank.",
    "Order 2024-000-123-456 shipped yesterday.",
    "Build 1.14.7.22 is now rolling out.",
]

FORBIDDEN = ["guaranteed refund", "lawsuit", "Contoso Cloud"]  # keyword metric bait
TICKET_LINES = {
    "en": "Your ticket number is TCK-{n:06d}.",
    "de": "Ihre Ticketnummer lautet TCK-{n:06d}.",
    "fr": "Votre numéro de ticket est TCK-{n:06d}.",
    "es": "Su número de ticket es TCK-{n:06d}.",
}

FIRST = ["anna", "ben", "carla", "david", "elena", "felix", "greta", "hugo", "ines", "jonas",
         "karim", "lea", "marco", "nina", "omar", "paula", "quentin", "rosa", "sven", "tina"]
LAST = ["schmidt", "martin", "garcia", "rossi", "novak", "dubois", "lopez", "weber", "moreau",
        "fernandez", "keller", "bernard", "ortiz", "becker", "laurent", "ruiz"]
DOMAINS = ["mail.de", "posteo.net", "gmail.com", "outlook.fr", "correo.es", "acme-corp.io"]
TAGS = ["vip", "trial", "enterprise", "eu", "churn-risk", "beta", "reseller"]
PLANS = ["standard", "premium", "enterprise"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-large"]
# USD per 1k tokens, roughly, to make cost_usd plausible.
MODEL_PRICE = {"gpt-4o": 0.010, "gpt-4o-mini": 0.0006, "claude-3-5-sonnet": 0.012,
               "llama-3.1-70b": 0.0009, "mistral-large": 0.006}

CONTEXT_PASSAGES = [
    "Backups: databases are backed up nightly at 02:00 UTC; 30 daily copies are retained.",
    "Billing: storage above the plan's quota is billed per GiB-month at the end of each month.",
    "Regions: servers can be migrated between regions; a maintenance window of up to 15 minutes applies.",
    "Security: owners can enforce two-factor authentication for all members of an organisation.",
    "Logs: application logs are retained for 14 days and exported as gzip archives.",
    "Trials: after a trial ends, data is kept read-only for 30 days before deletion.",
    "Plans: premium adds priority support (4h response) and a 99.95% availability SLA.",
]


def luhn_complete(rng, prefix, length):
    """A card number with `prefix` and `length` digits whose Luhn check passes."""
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(rng.randrange(10))
    total = 0
    # Double every second digit from the right, counting the check digit as position 1.
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits.append((10 - total % 10) % 10)
    return "".join(map(str, digits))


def group4(number, sep=" "):
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def iban(rng, country, bban_len):
    bban = "".join(str(rng.randrange(10)) for _ in range(bban_len))
    # Check digits: move country + "00" to the end, letters to numbers, mod 97.
    rearranged = bban + "".join(str(ord(c) - 55) for c in country) + "00"
    check = 98 - int(rearranged) % 97
    return f"{country}{check:02d}{bban}"


def phone(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return f"+49 30 {rng.randrange(1000000, 9999999)}"
    if kind == 1:
        return f"+33 6 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
    if kind == 2:
        return f"({rng.randrange(200, 989)}) {rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
    return f"+34 {rng.randrange(600, 699)} {rng.randrange(100, 999)} {rng.randrange(100, 999)}"


def email(rng):
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}@{rng.choice(DOMAINS)}"


def ipv4(rng):
    first = rng.choice([10, 31, 62, 81, 88, 145, 172, 185, 212])
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def target_length(rng):
    """Output length in characters: log-uniform between 50 and 3,000."""
    return int(round(50 * (3000 / 50) ** rng.random()))


def prose(rng, lang, length, extra=()):
    """Sentences of `lang` up to ~`length` chars (50-3,000), with the `extra`
    sentences inserted at random places."""
    pool = SENTENCES[lang]
    body = []
    total = sum(len(s) + 1 for s in extra)
    while total < length:
        s = rng.choice(pool)
        if total + len(s) + 1 > 3000:
            break
        body.append(s)
        total += len(s) + 1
    for s in extra:
        body.insert(rng.randrange(len(body) + 1), s)
    text = " ".join(body)
    while len(text) < 50:
        text = (text + " " + rng.choice(pool)).strip()
    return text[:3000]


def paraphrase(rng, text):
    """A reference answer close to `text`: some words dropped or swapped."""
    words = text.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue
        if r < 0.12 and out:
            out[-1], w = w, out[-1]
        out.append(w)
    return " ".join(out) if out else text


def customer_record(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "name": f"{first.title()} {last.title()}",
        "email": f"{first}.{last}@{rng.choice(DOMAINS)}",
        "plan": rng.choice(PLANS),
        "seats": rng.randrange(1, 250),
        "tags": rng.sample(TAGS, rng.randrange(0, 4)),
        "notes": " ".join(rng.choice(SENTENCES["en"]) for _ in range(rng.randrange(0, 8))),
    }


def json_output(rng, lang):
    """(output, flavour): valid, fenced, schema-violating or broken JSON."""
    rec = customer_record(rng)
    flavour = rng.choices(["raw", "fenced", "schema_violation", "broken"], [35, 35, 15, 15])[0]
    if flavour == "schema_violation":
        choice = rng.randrange(3)
        if choice == 0:
            del rec["email"]
        elif choice == 1:
            rec["seats"] = str(rec["seats"])
        else:
            rec["plan"] = "gold"
    body = json.dumps(rec, ensure_ascii=False, indent=2 if rng.random() < 0.5 else None)
    if flavour == "broken":
        kind = rng.randrange(3)
        if kind == 0:
            body = body[: max(10, len(body) * 2 // 3)]  # truncated
        elif kind == 1:
            body = body.rstrip("}").rstrip() + ",\n}"  # trailing comma
        else:
            body = body.replace('"', "'")  # single quotes
    if flavour == "raw":
        return body, flavour
    lead = JSON_LEADS[lang]
    if flavour == "broken" and rng.random() < 0.5:
        return body, flavour
    return f"{lead}\n\n```json\n{body}\n```\n", flavour


def make_record(rng, idx):
    lang = rng.choices(LANGS, [40, 25, 18, 17])[0]
    kind = rng.choices(
        ["plain", "mismatch", "json", "pii", "refusal", "qa"], [45, 8, 12, 12, 8, 15]
    )[0]
    out_lang = lang
    expected = None
    context = []
    question = rng.choice(QUESTIONS[lang])

    if kind == "mismatch":
        if lang == "en":
            lang = rng.choice(["de", "fr", "es"])
            question = rng.choice(QUESTIONS[lang])
        out_lang = "en"
        output = prose(rng, "en", target_length(rng))
    elif kind == "json":
        question = JSON_ASKS[lang]
        output, _ = json_output(rng, lang)
    elif kind == "pii":
        question = PII_ASKS[lang]
        leads = rng.sample(PII_LEADS[lang], rng.randrange(1, 4))
        extra = []
        for lead in leads:
            card_prefix, card_len = rng.choice([("4", 16), ("51", 16), ("37", 15), ("6011", 16)])
            card = luhn_complete(rng, card_prefix, card_len)
            extra.append(lead.format(
                email=email(rng), phone=phone(rng),
                card=group4(card, rng.choice([" ", "-"])) if rng.random() < 0.7 else card,
                iban=group4(rng.choice([iban(rng, "DE", 18), iban(rng, "FR", 23), iban(rng, "ES", 20)])),
                ip=ipv4(rng)))
        if rng.random() < 0.3:
            extra.append(rng.choice(DECOYS))
        output = prose(rng, lang, target_length(rng), extra)
    elif kind == "refusal":
        question = HARMFUL_ASKS[lang] if rng.random() < 0.7 else question
        refusal = rng.choice(REFUSALS[lang])
        if rng.random() < 0.5:
            output = prose(rng, lang, 50, [refusal]) if len(refusal) < 50 else refusal
        else:
            output = refusal + " " + prose(rng, lang, min(target_length(rng), 600))
    else:
        extra = []
        if rng.random() < 0.1:
            extra.append(TICKET_LINES[lang].format(n=rng.randrange(1000000)))
        if rng.random() < 0.05:
            extra.append(f"This comes with a {FORBIDDEN[0]}.")
        if rng.random() < 0.03:
            extra.append(f"Our competitor {FORBIDDEN[2]} charges more.")
        output = prose(rng, lang, target_length(rng), extra)
        if kind == "qa":
            expected = paraphrase(rng, output) if rng.random() < 0.7 else prose(rng, lang, len(output))
            context = rng.sample(CONTEXT_PASSAGES, rng.randrange(1, 4))

    messages = [{"role": "system", "content": SYSTEM[lang]}]
    if rng.random() < 0.25:
        prev_q = rng.choice(QUESTIONS[lang])
        messages.append({"role": "user", "content": prev_q})
        messages.append({"role": "assistant", "content": prose(rng, lang, 200)})
    messages.append({"role": "user", "content": question})

    model = rng.choice(MODELS)
    prompt_tokens = sum(len(m["content"]) for m in messages) // 4
    completion_tokens = max(1, len(output) // 4)
    total_tokens = prompt_tokens + completion_tokens
    latency = int(200 + completion_tokens * rng.uniform(8, 30) + rng.expovariate(1 / 300))
    cost = round(total_tokens / 1000 * MODEL_PRICE[model], 6)

    return {
        "id": f"bench-{idx:06d}",
        "input": question,
        "output": output,
        "messages": messages,
        "context": context,
        "expected": expected,
        "metadata": {
            "lang": lang,
            "model": model,
            "latency_ms": latency,
            "total_tokens": total_tokens,
            "cost_usd": cost,
            "task": "json" if kind == "json" else "chat",
        },
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output JSONL path")
    ap.add_argument("--records", "-n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(args.records):
            rec = make_record(rng, i + 1)
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
