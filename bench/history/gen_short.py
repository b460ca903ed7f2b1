#!/usr/bin/env python3
"""Short chat samples for the history benchmark: ~150 bytes a record.

    python3 bench/history/gen_short.py OUT.jsonl --records 1000000 [--seed 7]

Each record has an id, a short user input, a short answer (a few words to
a sentence, English, German or French), and a metadata entry `lang`. Seeded:
the same arguments give the same file, so two runs of the benchmark share
their sample texts as two nightly runs of one dataset do.
"""
import argparse
import json
import random

SUBJECTS = ["order", "invoice", "account", "card", "delivery", "refund", "password", "plan"]
QUESTIONS = {
    "en": ["Where is my {s}?", "How do I change my {s}?", "Can you check the {s} please?"],
    "de": ["Wo ist meine {s}?", "Wie ändere ich mein {s}?", "Können Sie das {s} prüfen?"],
    "fr": ["Où est ma {s} ?", "Comment changer mon {s} ?", "Pouvez-vous vérifier le {s} ?"],
}
ANSWERS = {
    "en": ["Your {s} is on its way.", "I have updated the {s} for you.", "The {s} looks fine now."],
    "de": ["Ihre {s} ist unterwegs.", "Ich habe das {s} aktualisiert.", "Das {s} ist in Ordnung."],
    "fr": ["Votre {s} est en route.", "J'ai mis à jour le {s}.", "Le {s} est en ordre."],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    langs = list(QUESTIONS)
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.records):
            lang = rng.choice(langs)
            s = rng.choice(SUBJECTS)
            question = rng.choice(QUESTIONS[lang]).format(s=s)
            answer = rng.choice(ANSWERS[lang]).format(s=s)
            if rng.random() < 0.3:
                answer += f" Reference {rng.randrange(10**6):06d}."
            record = {"id": f"r{i}", "input": question, "output": answer, "metadata": {"lang": lang}}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
