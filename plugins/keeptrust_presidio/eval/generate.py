"""Generate the labelled evaluation set ``pii_eval.jsonl`` (reproducible: fixed seed).

Values come from Faker (names from many locales, card numbers from its providers) and from
phonenumbers' example numbers re-formatted the ways people write them; the templates and the hard
negatives (order numbers, Luhn-invalid card-like numbers, versions, hashes ...) are written here.
Every record: ``{"id", "text", "format", "spans": [{"start", "end", "entity"}]}``; a text with no
span is a negative. Run: ``python eval/generate.py`` (needs the ``test`` extra: Faker).
"""

from __future__ import annotations

import argparse
import json
import random
import string
from pathlib import Path

import phonenumbers
from faker import Faker

SEED = 20261126
OUT = Path(__file__).with_name("pii_eval.jsonl")

# Latin-script (or romanised) names from many cultures: spaCy's English NER reads Latin script.
NAME_LOCALES = [
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "pt_BR",
    "nl_NL",
    "pl_PL",
    "tr_TR",
    "vi_VN",
    "en_IN",
    "yo_NG",
    "ig_NG",
    "zu_ZA",
    "id_ID",
    "fil_PH",
    "sv_SE",
    "fi_FI",
    "cs_CZ",
    "ro_RO",
    "hu_HU",
    "ga_IE",
    "sw",
    "en_KE",
    "ja_JP",
    "zh_CN",
]
PHONE_REGIONS = [
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "AU",
    "ES",
    "IT",
    "NL",
    "JP",
    "MX",
    "CA",
    "IE",
    "CH",
    "SE",
    "PL",
    "ZA",
    "NG",
    "KE",
    "SG",
    "AE",
    "PH",
    "TR",
]
CARD_TYPES = ["visa16", "visa13", "mastercard", "amex", "discover", "jcb16", "diners", "maestro"]


def person(rng: random.Random, fakers: dict[str, Faker]) -> str:
    loc = rng.choice(NAME_LOCALES)
    f = fakers[loc]
    if loc in ("ja_JP", "zh_CN"):
        return f.romanized_name()
    first, last = f.first_name(), f.last_name()
    return f"{first} {last}" if rng.random() < 0.85 else f"{first} {f.first_name()} {last}"


def email(rng: random.Random, fakers: dict[str, Faker]) -> str:
    f = fakers[rng.choice(["en_US", "en_GB", "de_DE", "fr_FR", "pt_BR", "nl_NL"])]
    kind = rng.random()
    if kind < 0.4:
        return f.email()
    if kind < 0.6:
        return f.company_email()
    user = f.user_name()
    if kind < 0.8:
        return f"{user}+{rng.choice(['news', 'work', 'x1', 'billing'])}@{f.free_email_domain()}"
    return f"{user}.{rng.randint(1, 99)}@{rng.choice(['mail', 'eu', 'corp'])}.{f.domain_name()}"


def phone(rng: random.Random) -> str:
    region = rng.choice(PHONE_REGIONS)
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    # Vary the subscriber digits while keeping the number valid for its region.
    national = str(example.national_number)
    for _ in range(20):
        digits = national[:-4] + "".join(rng.choice(string.digits) for _ in range(4))
        candidate = phonenumbers.parse("+" + str(example.country_code) + digits)
        if phonenumbers.is_valid_number(candidate):
            example = candidate
            break
    style = rng.random()
    if style < 0.35:
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if style < 0.5:
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    if style < 0.65:
        intl = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return intl.replace(" ", rng.choice(["-", ".", " "]))
    if style < 0.75:
        return "00" + phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def card(rng: random.Random, f: Faker) -> str:
    number = f.credit_card_number(rng.choice(CARD_TYPES))
    style = rng.random()
    if style < 0.35 or len(number) not in (15, 16):
        return number
    sep = " " if style < 0.7 else "-"
    if len(number) == 15:  # Amex groups 4-6-5
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def not_a_card(rng: random.Random) -> str:
    """A 16-digit number shaped like a card whose Luhn check fails."""
    while True:
        digits = rng.choice("3456") + "".join(rng.choice(string.digits) for _ in range(15))
        if not luhn_ok(digits):
            break
    style = rng.random()
    if style < 0.4:
        return digits
    return (" " if style < 0.7 else "-").join(digits[i : i + 4] for i in range(0, 16, 4))


# Templates: {P} person, {E} e-mail, {T} phone, {C} card. Each is (format, template).
TEMPLATES = [
    ("chat", "Hi, I am {P} ({E}, {T}). Can you help me draft a reply to my landlord?"),
    ("chat", "Please send the contract to {P} at {E} before Friday."),
    ("chat", "My name is {P} and my phone number is {T}."),
    ("chat", "Call me on {T} if the delivery is late."),
    ("chat", "You can reach {P} on {T} or by email: {E}"),
    ("chat", "I paid with my card {C} but the order never arrived."),
    ("chat", "Charge it to {C}, expiry 09/28, name on card {P}."),
    ("chat", "Can you summarise this email from {P}? They wrote that the invoice is overdue."),
    ("chat", "Yesterday {P} told me the meeting moved to Thursday."),
    ("chat", "Write a short birthday message for my colleague {P}."),
    ("chat", "{P} and {P} will both join the call; invite them at {E} and {E}."),
    ("email", "Dear {P},\n\nThank you for your order. We will call you at {T}.\n\nBest regards,\n{P}"),
    ("signature", "--\n{P}\nSenior Account Manager\nMobile: {T}\nEmail: {E}"),
    ("json", '{{"customer": {{"name": "{P}", "email": "{E}", "phone": "{T}"}}, "items": 3}}'),
    ("json", '{{"user_id": 48213, "contact": "{E}", "card": "{C}"}}'),
    ("json", '[{{"full_name": "{P}", "tel": "{T}"}}]'),
    ("code", 'send_invoice(to="{E}", cc=["{E}"], amount=129.90)'),
    ("code", "ADMIN_EMAIL = '{E}'\nSUPPORT_PHONE = '{T}'"),
    ("code", "# TODO({E}): remove this workaround\nresult = retry(fetch, attempts=3)"),
    ("code", 'const payment = {{ number: "{C}", holder: "{P}" }};'),
    ("csv", "name,email,phone\n{P},{E},{T}"),
    ("log", "2024-05-02T10:14:03Z INFO login ok user={E} ip=10.0.3.7"),
    ("log", "WARN payment declined card={C} reason=insufficient_funds"),
    ("markdown", "| Name | Phone |\n|---|---|\n| {P} | {T} |"),
    ("yaml", 'owner:\n  name: {P}\n  email: {E}\n  phone: "{T}"'),
    ("chat", "Translate to French: 'Please ask {P} to call me back at {T}.'"),
    ("chat", "The patient, {P}, was referred by Dr. {P}."),
    ("chat", "Ticket from {E}: the app crashes when I upload a photo."),
    ("chat", "Is {C} a valid Visa number? It keeps getting rejected."),
    ("chat", "Add {P} ({T}) to the emergency contact list."),
]

NEGATIVES = [
    ("chat", "Order #{ORDER} was shipped on 2024-03-15 and should arrive within 5 business days."),
    ("chat", "My order number is {ORDER}; the tracking number is 1Z{TRACK}."),
    ("chat", "The reference {BADCARD} does not match any invoice in our system."),
    ("log", "txn_id={BADCARD} status=settled amount=1299.00 currency=EUR"),
    ("chat", "Please upgrade from version 2.14.1 to 3.0.0-rc.2 before the 2025-01-31 deadline."),
    ("chat", "The ISBN is 978-3-16-148410-0 and it costs $1,234.56."),
    ("code", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8\nMerge: 1a2b3c4 5d6e7f8"),
    ("code", "user_email = form.get('email')\nif not validate(user_email): raise ValueError('bad email')"),
    ("code", "def get_phone_number(user):\n    return user.profile.phone"),
    ("chat", "Explain the attention mechanism in transformers in two sentences."),
    ("chat", "What is the capital of Australia, and why isn't it Sydney?"),
    ("chat", "Summarise the plot of Pride and Prejudice in three bullet points."),
    ("chat", "Invoice INV-{ORDER} totals 4,518.20 EUR, due in 30 days."),
    ("json", '{{"sku": "SKU-{SKU}", "qty": 12, "price_cents": 129900, "warehouse": "DE-03"}}'),
    ("chat", "Run `kubectl get pods -n prod` and paste the output."),
    ("chat", "Our SLA is 99.95% uptime, measured over 30-day windows."),
    ("log", "2024-06-11 08:30:12,771 ERROR worker-7 job={UUID} failed after 3 retries"),
    ("chat", "The serial number on the router is {SERIAL}."),
    ("chat", "Meeting room B-204 is booked from 14:00 to 15:30 on 12/03/2024."),
    ("chat", "Set the timeout to 30000 ms and the batch size to 4096."),
    ("chat", "Use the Adam optimizer with a learning rate of 3e-4 and weight decay 0.01."),
    ("chat", "Call the function with the argument 1234567890123 and check the checksum."),
    ("markdown", "| Metric | Value |\n|---|---|\n| p95 latency | 182 ms |\n| throughput | 1250 rps |"),
    ("chat", "How do I write a regular expression that matches an email address?"),
    ("chat", "Our support line is open Monday to Friday; use the contact form on the website."),
]


def fill(template: str, rng: random.Random, fakers: dict[str, Faker]) -> tuple[str, list[dict[str, object]]]:
    """Expand a template, recording where each generated value landed."""
    text, spans = "", []
    i = 0
    values = {
        "P": ("PERSON", lambda: person(rng, fakers)),
        "E": ("EMAIL_ADDRESS", lambda: email(rng, fakers)),
        "T": ("PHONE_NUMBER", lambda: phone(rng)),
        "C": ("CREDIT_CARD", lambda: card(rng, fakers["en_US"])),
    }
    negatives = {
        "ORDER": lambda: str(rng.randint(10_000_000, 99_999_999)),
        "TRACK": lambda: "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        "BADCARD": lambda: not_a_card(rng),
        "SKU": lambda: f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "UUID": lambda: fakers["en_US"].uuid4(),
        "SERIAL": lambda: "SN" + "".join(rng.choice(string.digits) for _ in range(12)),
    }
    template = template.replace("{{", "\0").replace("}}", "\1")
    while i < len(template):
        if template[i] == "{":
            j = template.index("}", i)
            key = template[i + 1 : j]
            if key in values:
                entity, make = values[key]
                value = make()
                spans.append({"start": len(text), "end": len(text) + len(value), "entity": entity})
            else:
                value = negatives[key]()
            text += value
            i = j + 1
        else:
            text += template[i]
            i += 1
    return text.replace("\0", "{").replace("\1", "}"), spans


def main(seed: int = SEED, out: Path = OUT) -> None:
    rng = random.Random(seed)
    Faker.seed(seed)
    fakers = {loc: Faker(loc) for loc in NAME_LOCALES}
    for loc, f in fakers.items():
        f.seed_instance(seed + sum(map(ord, loc)))
    records = []
    for n in range(420):
        fmt, template = TEMPLATES[n % len(TEMPLATES)]
        text, spans = fill(template, rng, fakers)
        records.append({"id": f"pos-{n:04d}", "format": fmt, "text": text, "spans": spans})
    for n in range(150):
        fmt, template = NEGATIVES[n % len(NEGATIVES)]
        text, spans = fill(template, rng, fakers)
        records.append({"id": f"neg-{n:04d}", "format": fmt, "text": text, "spans": spans})
    with out.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="write the evaluation set")
    parser.add_argument("--seed", type=int, default=SEED, help="another seed gives a held-out set")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    main(args.seed, args.out)
