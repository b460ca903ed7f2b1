#!/usr/bin/env python3
"""Generate the long-answer benchmark dataset (JSONL), deterministically.

Usage:
    python3 bench/long/gen_long.py OUT.jsonl [--records 10000] [--seed 12]

Each line is one recorded answer in Caliper's native shape:

    {"id", "input", "output", "expected": str (absent on ~3 %),
     "metadata": {"lang", "model", "keyword" (absent on ~3 %),
                  "expects_json": bool}}

What the six checks of bench/long/caliper.toml meet (approximate shares,
drawn from a seeded RNG; the exact counts are printed at the end):
  * answers in en/de/fr/es/it/nl, 50-3,000 characters, mean ~780,
    with prose, bullet lists, numbered steps, paragraphs and code-ish
    lines; phrasing varies (openers, connectors, sign-offs)
  * metadata.keyword: a topic term (some with umlauts or accents) that
    ~85 % of answers mention, in any case (lower, Title, UPPER)
  * ~10 % expect JSON (metadata.expects_json = true): most are valid JSON,
    the rest truncated, with a trailing comma, single quotes or a lead-in
    sentence; ~2 % of the others happen to be JSON too
  * ~8 % contain an e-mail address; ~4 % contain decoys ("@handle",
    "name at domain dot com")
  * ~7 % contain a refusal phrase (en/de/fr/es/it/nl); decoys like
    "I can help" elsewhere
  * ~15 % are longer than 300 words
  * expected: a lightly edited copy (~55 %), a heavily rewritten one
    (~20 %) or an unrelated answer of similar length (~22 %), so the
    Levenshtein threshold of 0.5 passes some and fails others.

All text comes from the sentence lists below and in bench/gen_dataset.py;
nothing is downloaded. Same seed, same bytes. Only characters on which
Python and Rust agree are used (no lone surrogates, no exotic whitespace,
no NaN in JSON), so the verdicts of both implementations can be compared
record by record.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gen_dataset as base  # noqa: E402  (sentences, questions, refusals, names)

LANGS = ["en", "de", "fr", "es", "it", "nl"]
LANG_WEIGHTS = [38, 20, 14, 12, 8, 8]

SENTENCES = dict(base.SENTENCES)
SENTENCES["it"] = [
    "Grazie per averci contattato a questo proposito.",
    "Apra prima le impostazioni dell'account e scelga la scheda sicurezza.",
    "Il backup viene eseguito ogni notte e conserva le ultime trenta copie.",
    "La sua fattura comprende lo spazio aggiuntivo utilizzato durante il mese.",
    "Se il problema persiste, controlli le impostazioni di rete del progetto.",
    "Può invitare nuovi membri dalla pagina dell'organizzazione con un solo clic.",
    "Le consigliamo di provare la modifica prima in un ambiente di prova.",
    "Il piano premium aggiunge assistenza prioritaria e una garanzia di disponibilità più alta.",
    "I registri vengono conservati per quattordici giorni e si possono scaricare come archivio.",
    "Per spostare un server in un'altra regione serve una breve finestra di manutenzione.",
    "Alla fine del periodo di prova i suoi file restano disponibili per trenta giorni.",
    "L'autenticazione a due fattori può essere imposta a tutti gli utenti.",
    "L'ultima versione migliora le prestazioni del pannello e corregge diversi errori.",
    "Riceverà una conferma via posta elettronica appena l'esportazione sarà pronta.",
    "La nostra documentazione descrive ogni passaggio in modo più dettagliato.",
    "Mi faccia sapere se questo risolve il problema o se ha bisogno di altro aiuto.",
    "Il prezzo dipende dal numero di utenti attivi e dallo spazio consumato.",
    "Di solito passano alcuni minuti prima che la modifica sia visibile ovunque.",
]
SENTENCES["nl"] = [
    "Bedankt dat u hierover contact met ons opneemt.",
    "Open eerst de accountinstellingen en kies het tabblad beveiliging.",
    "De back-up draait elke nacht en bewaart de laatste dertig kopieën.",
    "Uw factuur bevat de extra opslag die u deze maand hebt gebruikt.",
    "Als het probleem blijft bestaan, controleer dan de netwerkinstellingen van uw project.",
    "U kunt nieuwe leden met één klik uitnodigen vanaf de pagina van de organisatie.",
    "We raden aan de wijziging eerst in een testomgeving uit te proberen.",
    "Het premiumabonnement biedt voorrang bij ondersteuning en een hogere beschikbaarheid.",
    "Logbestanden worden veertien dagen bewaard en kunnen als archief worden gedownload.",
    "Voor het verhuizen van een server naar een andere regio is een kort onderhoudsvenster nodig.",
    "Na afloop van de proefperiode blijven uw bestanden nog dertig dagen beschikbaar.",
    "Tweestapsverificatie kan voor alle gebruikers van de organisatie verplicht worden gesteld.",
    "De nieuwste versie maakt het dashboard sneller en lost enkele fouten op.",
    "U ontvangt een bevestiging per e-mail zodra de export klaarstaat.",
    "Onze documentatie beschrijft elke stap uitgebreider, met schermafbeeldingen.",
    "Laat u mij weten of dit het probleem oplost of dat u meer hulp nodig hebt.",
    "De prijs hangt af van het aantal actieve gebruikers en de gebruikte opslag.",
    "Het duurt meestal een paar minuten voordat de wijziging overal zichtbaar is.",
]

QUESTIONS = dict(base.QUESTIONS)
QUESTIONS["it"] = [
    "Come posso reimpostare la password se non ho più accesso alla mia e-mail?",
    "Perché la fattura di questo mese è più alta di quella del mese scorso?",
    "Come aggiungo un nuovo membro alla mia organizzazione?",
    "Dove trovo i registri della mia applicazione della settimana scorsa?",
]
QUESTIONS["nl"] = [
    "Hoe stel ik mijn wachtwoord opnieuw in als ik geen toegang meer heb tot mijn e-mail?",
    "Waarom was mijn factuur deze maand hoger dan vorige maand?",
    "Hoe voeg ik een nieuw teamlid toe aan mijn organisatie?",
    "Waar vind ik de logbestanden van mijn applicatie van vorige week?",
]

OPENERS = {
    "en": ["Sure!", "Good question.", "Thanks for reaching out.", "Here is what you can do:",
           "Happy to help with that.", "Let me walk you through it."],
    "de": ["Gern!", "Gute Frage.", "Danke für Ihre Nachricht.", "So gehen Sie vor:",
           "Ich helfe Ihnen gern dabei."],
    "fr": ["Bien sûr !", "Bonne question.", "Merci pour votre message.", "Voici la marche à suivre :"],
    "es": ["¡Claro!", "Buena pregunta.", "Gracias por escribirnos.", "Esto es lo que puede hacer:"],
    "it": ["Certo!", "Bella domanda.", "Grazie per il messaggio.", "Ecco come procedere:"],
    "nl": ["Natuurlijk!", "Goede vraag.", "Bedankt voor uw bericht.", "Zo pakt u het aan:"],
}
CONNECTORS = {
    "en": ["Also,", "In addition,", "Then", "After that,", "Note that", "Finally,"],
    "de": ["Außerdem", "Zusätzlich", "Danach", "Beachten Sie:", "Zum Schluss"],
    "fr": ["En outre,", "Ensuite,", "Par ailleurs,", "Notez que", "Enfin,"],
    "es": ["Además,", "Luego,", "Por otra parte,", "Tenga en cuenta que", "Por último,"],
    "it": ["Inoltre,", "Poi", "Tenga presente che", "Infine,"],
    "nl": ["Daarnaast", "Daarna", "Let op:", "Tot slot"],
}

# Topic terms for metadata.keyword (some non-ASCII, some multi-word).
KEYWORDS = {
    "en": ["backup", "invoice", "two-factor authentication", "region", "subscription",
           "dashboard", "export", "trial period", "deployment", "storage", "API key", "SSO"],
    "de": ["Sicherung", "Rechnung", "Zwei-Faktor-Authentifizierung", "Region", "Abonnement",
           "Übersicht", "Export", "Testphase", "Rückerstattung", "Speicher", "Größe"],
    "fr": ["sauvegarde", "facture", "région", "abonnement", "tableau de bord", "données",
           "déploiement", "stockage", "essai"],
    "es": ["copia de seguridad", "factura", "región", "suscripción", "panel", "exportación",
           "almacenamiento", "facturación", "prueba"],
    "it": ["backup", "fattura", "regione", "abbonamento", "pannello", "esportazione", "prova"],
    "nl": ["back-up", "factuur", "regio", "abonnement", "dashboard", "export", "proefperiode"],
}
KEYWORD_LINES = {
    "en": "This applies to your {k} as well.",
    "de": "Das gilt auch für {k}.",
    "fr": "Cela vaut aussi pour {k}.",
    "es": "Esto también se aplica a {k}.",
    "it": "Questo vale anche per {k}.",
    "nl": "Dit geldt ook voor {k}.",
}

REFUSALS = dict(base.REFUSALS)
REFUSALS["it"] = ["Mi dispiace, ma non posso aiutarla con questa richiesta.",
                  "Purtroppo non posso fornire queste informazioni."]
REFUSALS["nl"] = ["Het spijt me, maar daar kan ik u niet mee helpen.",
                  "Helaas kan ik die informatie niet geven."]
# Close to a refusal, but not one.
NEAR_REFUSALS = [
    "I can help with that right away.",
    "I'm sorry for the delay, the fix is already rolling out.",
    "We are unable to reproduce the error on our side, so please send the logs.",
    "Es tut mir leid für die Wartezeit, die Änderung ist jetzt aktiv.",
    "Je peux vous aider à configurer cela.",
]

EMAIL_LINES = [
    "You can also write to {e} if you prefer e-mail.",
    "Contact: {e}",
    "Schreiben Sie uns gern an {e}.",
    "Écrivez-nous à l'adresse {e}.",
    "Escríbanos a {e} y le responderemos.",
    "(sent by {e})",
]
EMAIL_DECOYS = [
    "Mention @support in the ticket and the on-call engineer is notified.",
    "Reach the team at support at northwind dot example.",
    "Use the handle @northwind_status for outage updates.",
    "The syntax is user@host for SSH logins.",
]
CODE_LINES = [
    "`northwind backup list --project web`",
    "`northwind deploy --region eu-west --wait`",
    "    timeout_seconds = 30",
    "`GET /v1/invoices?month=2026-10`",
]
EMAIL_DOMAINS = ["mail.de", "posteo.net", "example.com", "outlook.fr", "correo.es", "acme-corp.io",
                 "northwind.example", "kunden.example.org"]


def target_length(rng):
    """Output length in characters: log-normal around ~560, clipped to
    50-3,000 (mean ~780)."""
    n = int(rng.lognormvariate(6.38, 0.78))
    return max(50, min(3000, n))


def email(rng):
    first, last = rng.choice(base.FIRST), rng.choice(base.LAST)
    sep = rng.choice([".", "_", "", "-"])
    return f"{first}{sep}{last}@{rng.choice(EMAIL_DOMAINS)}"


def sentence(rng, lang):
    s = rng.choice(SENTENCES[lang])
    r = rng.random()
    if r < 0.12:
        s = f"{rng.choice(CONNECTORS[lang])} {s[0].lower()}{s[1:]}"
    elif r < 0.16:
        s = s.rstrip(".") + f" ({rng.randrange(2, 90)} %)."
    return s


def prose(rng, lang, length):
    """Sentences of `lang`, in paragraphs, lists or steps, ~`length` chars."""
    parts = []
    total = 0
    if rng.random() < 0.5:
        parts.append(rng.choice(OPENERS[lang]))
        total += len(parts[-1]) + 1
    style = rng.choices(["paragraphs", "bullets", "steps", "plain"], [35, 20, 15, 30])[0]
    step = 1
    while total < length:
        if style == "bullets" and rng.random() < 0.6:
            piece = "\n- " + sentence(rng, lang)
        elif style == "steps" and rng.random() < 0.6:
            piece = f"\n{step}. " + sentence(rng, lang)
            step += 1
        elif style == "paragraphs" and rng.random() < 0.2:
            piece = "\n\n" + sentence(rng, lang)
        elif rng.random() < 0.03:
            piece = "\n" + rng.choice(CODE_LINES) + "\n"
        else:
            piece = " " + sentence(rng, lang)
        parts.append(piece)
        total += len(piece)
    text = "".join(parts).strip()
    if len(text) > length:
        cut = text.rfind(" ", 0, length)
        text = text[: cut if cut >= 50 else length].rstrip()
    return text


def insert_sentence(rng, text, extra):
    """`extra` at a sentence boundary of `text` (or at the start or end)."""
    spots = [0, len(text)] + [i + 1 for i, c in enumerate(text) if c == "." and i + 1 < len(text)]
    at = rng.choice(spots)
    return (text[:at].rstrip() + " " + extra + " " + text[at:].lstrip()).strip()


def edit_chars(rng, text, rate):
    """Random character edits (typos) and word drops at about `rate`."""
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        if r < rate * 0.5:
            continue
        if r < rate and w:
            i = rng.randrange(len(w))
            w = w[:i] + rng.choice("aeiounrst") + w[i + 1:]
        out.append(w)
    return " ".join(out) if out else text


def json_answer(rng):
    """(output, valid): a JSON document of 100-1,500 chars, or a broken one."""
    rec = base.customer_record(rng)
    if rng.random() < 0.5:
        rec["history"] = [
            {"month": f"2026-{m:02d}", "amount": round(rng.uniform(5, 900), 2), "paid": rng.random() < 0.8}
            for m in range(1, rng.randrange(2, 12))
        ]
    body = json.dumps(rec, ensure_ascii=rng.random() < 0.3, indent=2 if rng.random() < 0.5 else None)
    kind = rng.choices(["valid", "truncated", "comma", "quotes", "lead"], [75, 7, 6, 6, 6])[0]
    if kind == "truncated":
        body = body[: max(10, len(body) * 2 // 3)]
    elif kind == "comma":
        body = body.rstrip("}").rstrip() + ",\n}"
    elif kind == "quotes":
        body = body.replace('"', "'")
    elif kind == "lead":
        body = "Here is the record:\n" + body
    if rng.random() < 0.1:
        body = "\n" + body + "\n"
    return body, kind == "valid"


def case_variant(rng, term):
    r = rng.random()
    if r < 0.6:
        return term
    if r < 0.75:
        return term.lower()
    if r < 0.9:
        return term[0].upper() + term[1:]
    return term.upper()


def make_record(rng, idx, stats):
    lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
    question = rng.choice(QUESTIONS[lang])
    keyword = rng.choice(KEYWORDS[lang])
    expects_json = rng.random() < 0.10
    if expects_json:
        output, _ = json_answer(rng)
        stats["json"] += 1
    elif rng.random() < 0.02:
        output, _ = json_answer(rng)
    else:
        output = prose(rng, lang, target_length(rng))
        if rng.random() < 0.85:
            line = KEYWORD_LINES[lang].format(k=case_variant(rng, keyword))
            if rng.random() < 0.5:
                output = insert_sentence(rng, output, line)
            else:
                # The term inside a sentence of its own.
                words = output.split(" ")
                words.insert(rng.randrange(len(words) + 1), case_variant(rng, keyword))
                output = " ".join(words)
        r = rng.random()
        if r < 0.08:
            output = insert_sentence(rng, output, rng.choice(EMAIL_LINES).format(e=email(rng)))
        elif r < 0.12:
            output = insert_sentence(rng, output, rng.choice(EMAIL_DECOYS))
        r = rng.random()
        if r < 0.07:
            refusal = rng.choice(REFUSALS.get(lang, REFUSALS["en"]))
            output = refusal + " " + output if rng.random() < 0.7 else insert_sentence(rng, output, refusal)
        elif r < 0.12:
            output = insert_sentence(rng, output, rng.choice(NEAR_REFUSALS))
        output = output[:3000]
    r = rng.random()
    if r < 0.55:
        expected = edit_chars(rng, output, rng.uniform(0.02, 0.25))
    elif r < 0.75:
        pieces = output.split(". ")
        for i in range(len(pieces)):
            if rng.random() < 0.55:
                pieces[i] = rng.choice(SENTENCES[lang]).rstrip(".")
        expected = ". ".join(pieces)
    elif r < 0.97:
        expected = prose(rng, lang, max(50, len(output) + rng.randrange(-200, 200)))
    else:
        expected = None
    rec = {"id": f"long-{idx:05d}", "input": question, "output": output}
    if expected is not None:
        rec["expected"] = expected
    meta = {"lang": lang, "model": rng.choice(base.MODELS), "expects_json": expects_json}
    if rng.random() < 0.97:
        meta["keyword"] = keyword
    rec["metadata"] = meta
    stats["chars"] += len(output)
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    stats = {"json": 0, "chars": 0}
    lengths = []
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(args.records):
            rec = make_record(rng, i, stats)
            lengths.append(len(rec["output"]))
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    lengths.sort()
    print(
        f"{args.records} records -> {args.out}: output chars min {lengths[0]}, "
        f"median {lengths[len(lengths) // 2]}, mean {stats['chars'] / args.records:.0f}, "
        f"max {lengths[-1]}; {stats['json']} expect JSON",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
