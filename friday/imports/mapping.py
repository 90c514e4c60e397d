"""Which column goes where: the fields a column can be imported as, and recognising the exports of common tools.

The header names below are those the tools write in their English exports (see docs/imports.md for where each
list comes from). A file is recognised as one tool's export when enough of that tool's distinctive headers are
there; its columns then map as that tool means them — Outlook's "Title" is an honorific and is left out, while
Salesforce's "Title" is the job title. Columns no list knows are matched by common names ("E-mail", "Surname",
"Post code" …) and by custom fields' labels and keys. Everything stays editable on the page before a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from friday.core.errors import Collector
from friday.imports import vcard

ADDRESS_SLOTS = ("1", "2", "3", "home", "work", "other")
ADDRESS_PARTS = {
    "street": "street (several lines: the first is line 1)",
    "line1": "line 1",
    "line2": "line 2",
    "city": "town or city",
    "region": "region or state",
    "postcode": "postcode",
    "country": "country",
    "label": "label",
}


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    group: str
    many: bool = False  # several columns may feed it (emails, phones, tags …)


def _targets() -> list[Target]:
    out = [
        Target("kind", "Kind (person or organisation)", "Record"),
        Target("full_name", "Full name (split into given and family)", "Record"),
        Target("given_name", "Given name", "Record"),
        Target("middle_name", "Middle name (added to the given name)", "Record"),
        Target("family_name", "Family name", "Record"),
        Target("organisation", "Organisation (a person's company, or an organisation's name)", "Record"),
        Target("job_title", "Job title at the organisation", "Record"),
        Target("email", "Email address", "Contact", many=True),
        Target(
            "email_label", "Email label (Work, Home …) of the email column next to it", "Contact", many=True
        ),
        Target("phone", "Phone number", "Contact", many=True),
        Target(
            "phone_label", "Phone label (Mobile, Work …) of the phone column next to it", "Contact", many=True
        ),
        Target("roles", "Roles (customer, supplier, employee, partner)", "Record", many=True),
        Target("tags", "Tags", "Record", many=True),
        Target("notes", "Notes", "Record", many=True),
        Target("birthday", "Birthday", "Dates"),
        Target("customer_since", "Customer since", "Dates"),
        Target("time_zone", "Time zone (e.g. Europe/London)", "Record"),
        Target("email_consent", "Agreed to marketing email (yes/no)", "Consent"),
        Target("do_not_contact", "Do not contact (yes/no)", "Consent"),
        Target("owner", "Owner (username, email or full name)", "Ownership"),
        Target("team", "Team (name)", "Ownership"),
        Target("external_id", "Id in the source system (for matching re-imports)", "Record"),
    ]
    for slot in ADDRESS_SLOTS:
        name = f"Address {slot}" if slot.isdigit() else f"{slot.title()} address"
        for part, label in ADDRESS_PARTS.items():
            out.append(
                Target(f"address.{slot}.{part}", f"{name}: {label}", "Addresses", many=part == "line2")
            )
    return out


TARGETS = _targets()
TARGETS_BY_KEY = {t.key: t for t in TARGETS}


def custom_targets(definitions) -> list[Target]:
    return [Target(f"custom.{d.key}", f"{d.label} (custom field)", "Custom fields") for d in definitions]


def normalise_header(header: str) -> str:
    text = header.strip().lower().replace("_", " ")
    return re.sub(r"\s+", " ", text)


# --- the exports Friday recognises -----------------------------------------------------------------------------


def _numbered(template: str, target: str, count: int) -> dict[str, str]:
    return {template.format(n=n): target for n in range(1, count + 1)}


def _google_address(n: int, slot: str, old: bool) -> dict[str, str]:
    prefix = f"address {n} - "
    out = {
        prefix + "formatted": "",  # the same address again, as one text: the parts below are imported
        prefix + "street": f"address.{slot}.street",
        prefix + "city": f"address.{slot}.city",
        prefix + "po box": f"address.{slot}.line2",
        prefix + "region": f"address.{slot}.region",
        prefix + "postal code": f"address.{slot}.postcode",
        prefix + "country": f"address.{slot}.country",
        prefix + "extended address": f"address.{slot}.line2",
    }
    out[prefix + ("type" if old else "label")] = f"address.{slot}.label"
    return out


GOOGLE = {
    # Google Contacts, "Google CSV" since 2023 (contacts.google.com → Export).
    "first name": "given_name",
    "middle name": "middle_name",
    "last name": "family_name",
    "phonetic first name": "",
    "phonetic middle name": "",
    "phonetic last name": "",
    "name prefix": "",
    "name suffix": "",
    "nickname": "",
    "file as": "",
    "organization name": "organisation",
    "organization title": "job_title",
    "organization department": "",
    "birthday": "birthday",
    "notes": "notes",
    "photo": "",
    "labels": "tags",
    **_numbered("e-mail {n} - label", "email_label", 9),
    **_numbered("e-mail {n} - value", "email", 9),
    **_numbered("phone {n} - label", "phone_label", 9),
    **_numbered("phone {n} - value", "phone", 9),
    **_google_address(1, "1", old=False),
    **_google_address(2, "2", old=False),
    **_google_address(3, "3", old=False),
    # The older "Google CSV" (before 2023).
    "name": "full_name",
    "given name": "given_name",
    "additional name": "middle_name",
    "family name": "family_name",
    "group membership": "tags",
    **_numbered("e-mail {n} - type", "email_label", 9),
    **_numbered("phone {n} - type", "phone_label", 9),
    "organization 1 - name": "organisation",
    "organization 1 - title": "job_title",
    "organization 1 - type": "",
    "organization 1 - department": "",
    **{k: v for n in (1, 2, 3) for k, v in _google_address(n, str(n), old=True).items()},
}
GOOGLE_SIGNS = {
    "e-mail 1 - value",
    "phone 1 - value",
    "organization name",
    "labels",
    "file as",
    "group membership",
    "given name",
    "additional name",
    "address 1 - formatted",
}


def _outlook_address(kind: str, slot: str) -> dict[str, str]:
    return {
        f"{kind} street": f"address.{slot}.street",
        f"{kind} street 2": f"address.{slot}.line2",
        f"{kind} street 3": f"address.{slot}.line2",
        f"{kind} city": f"address.{slot}.city",
        f"{kind} state": f"address.{slot}.region",
        f"{kind} postal code": f"address.{slot}.postcode",
        f"{kind} country": f"address.{slot}.country",
        f"{kind} country/region": f"address.{slot}.country",
        f"{kind} po box": f"address.{slot}.line2",
    }


OUTLOOK = {
    # Outlook's CSV export (also what Google writes as "Outlook CSV").
    "title": "",  # an honorific (Mr, Dr) in Outlook, not a job title
    "first name": "given_name",
    "middle name": "middle_name",
    "last name": "family_name",
    "suffix": "",
    "company": "organisation",
    "department": "",
    "job title": "job_title",
    **_outlook_address("business", "work"),
    **_outlook_address("home", "home"),
    **_outlook_address("other", "other"),
    "assistant's phone": "",
    "business fax": "",
    "business phone": "phone",
    "business phone 2": "phone",
    "callback": "",
    "car phone": "phone",
    "company main phone": "phone",
    "home fax": "",
    "home phone": "phone",
    "home phone 2": "phone",
    "isdn": "",
    "mobile phone": "phone",
    "other fax": "",
    "other phone": "phone",
    "other phones": "phone",
    "pager": "",
    "primary phone": "phone",
    "radio phone": "",
    "tty/tdd phone": "",
    "telex": "",
    "anniversary": "",
    "birthday": "birthday",
    "e-mail address": "email",
    "e-mail type": "",
    "e-mail display name": "",
    "e-mail 2 address": "email",
    "e-mail 2 type": "",
    "e-mail 2 display name": "",
    "e-mail 3 address": "email",
    "e-mail 3 type": "",
    "e-mail 3 display name": "",
    "notes": "notes",
    "categories": "tags",
    "web page": "",
    "spouse": "",
    "gender": "",
    "account": "",
    "initials": "",
    "keywords": "",
    "mileage": "",
    "sensitivity": "",
    "user 1": "",
    "user 2": "",
    "user 3": "",
    "user 4": "",
    "manager's name": "",
    "assistant's name": "",
    "office location": "",
    "priority": "",
    "private": "",
    "hobby": "",
    "children": "",
    "location": "",
    "language": "",
}
OUTLOOK_SIGNS = {
    "e-mail address",
    "e-mail 2 address",
    "business phone",
    "mobile phone",
    "business street",
    "home street",
    "business country/region",
    "home city",
    "categories",
}

HUBSPOT = {
    # HubSpot's contacts and companies exports (CRM → Contacts → Export).
    "record id": "external_id",
    "first name": "given_name",
    "last name": "family_name",
    "email": "email",
    "work email": "email",
    "phone number": "phone",
    "mobile phone number": "phone",
    "whatsapp phone number": "phone",
    "company name": "organisation",
    "associated company": "",  # the same company again, as its HubSpot record
    "job title": "job_title",
    "contact owner": "owner",
    "company owner": "owner",
    "street address": "address.1.street",
    "city": "address.1.city",
    "state/region": "address.1.region",
    "postal code": "address.1.postcode",
    "country/region": "address.1.country",
    "date of birth": "birthday",
    "became a customer date": "customer_since",
    "create date": "",
    "lifecycle stage": "",
    "lead status": "",
    # "Unsubscribed from all email" means the opposite of consent: it is never read as consent.
    "unsubscribed from all email": "",
}
HUBSPOT_SIGNS = {
    "record id",
    "contact owner",
    "lifecycle stage",
    "phone number",
    "company name",
    "state/region",
    "country/region",
    "associated company",
    "create date",
}

CAPSULE = {
    # Capsule CRM's "People & Organisations" export.
    "type": "kind",
    "id": "external_id",
    "title": "",
    "first name": "given_name",
    "last name": "family_name",
    "job title": "job_title",
    "organisation": "organisation",
    "organization": "organisation",
    "email address": "email",
    "email": "email",
    "phone number": "phone",
    "phone": "phone",
    "address street": "address.1.street",
    "city": "address.1.city",
    "state": "address.1.region",
    "postcode": "address.1.postcode",
    "country": "address.1.country",
    "tags": "tags",
    "owner": "owner",
    "team": "team",
    "about": "notes",
    "background": "notes",
}
CAPSULE_SIGNS = {"organisation", "organization", "address street", "about", "email address", "phone number"}

PIPEDRIVE = {
    # Pipedrive's people and organisations exports ("Person - …", "Organization - …").
    "person - id": "external_id",
    "person - name": "full_name",
    "person - first name": "given_name",
    "person - last name": "family_name",
    "person - organization": "organisation",
    "person - email": "email",
    "person - email - work": "email",
    "person - email - home": "email",
    "person - email - other": "email",
    "person - phone": "phone",
    "person - phone - work": "phone",
    "person - phone - home": "phone",
    "person - phone - mobile": "phone",
    "person - phone - other": "phone",
    "person - labels": "tags",
    "person - label": "tags",
    "person - owner": "owner",
    "person - job title": "job_title",
    "person - birthday": "birthday",
    "person - postal address": "",  # the parts below hold the same address
    "person - street/house number of postal address": "address.1.street",
    "person - city/town/village/locality of postal address": "address.1.city",
    "person - state/county of postal address": "address.1.region",
    "person - zip/postal code of postal address": "address.1.postcode",
    "person - country of postal address": "address.1.country",
    "organization - id": "external_id",
    "organization - name": "organisation",
    "organization - labels": "tags",
    "organization - label": "tags",
    "organization - owner": "owner",
    "organization - address": "",
    "organization - street/house number of address": "address.1.street",
    "organization - city/town/village/locality of address": "address.1.city",
    "organization - zip/postal code of address": "address.1.postcode",
    "organization - country of address": "address.1.country",
}
PIPEDRIVE_SIGNS = {k for k in PIPEDRIVE if k.startswith(("person - ", "organization - "))}

SALESFORCE = {
    # Salesforce contacts and accounts exports and reports, by field label …
    "contact id": "external_id",
    "account id": "external_id",
    "salutation": "",
    "first name": "given_name",
    "last name": "family_name",
    "title": "job_title",  # Salesforce's Title is the job title
    "account name": "organisation",
    "email": "email",
    "phone": "phone",
    "mobile": "phone",
    "home phone": "phone",
    "other phone": "phone",
    "other phones": "phone",
    "fax": "",
    "mailing street": "address.1.street",
    "mailing city": "address.1.city",
    "mailing state/province": "address.1.region",
    "mailing zip/postal code": "address.1.postcode",
    "mailing country": "address.1.country",
    "other street": "address.other.street",
    "other city": "address.other.city",
    "other state/province": "address.other.region",
    "other zip/postal code": "address.other.postcode",
    "other country": "address.other.country",
    "billing street": "address.1.street",
    "billing city": "address.1.city",
    "billing state/province": "address.1.region",
    "billing zip/postal code": "address.1.postcode",
    "billing country": "address.1.country",
    "birthdate": "birthday",
    "description": "notes",
    "contact owner": "owner",
    "account owner": "owner",
    "lead source": "",
    "email opt out": "",  # the opposite of consent: never read as consent
    # … and by API name (Data Loader, Data Export).
    "id": "external_id",
    "firstname": "given_name",
    "lastname": "family_name",
    "accountid": "",
    "mobilephone": "phone",
    "homephone": "phone",
    "otherphone": "phone",
    "mailingstreet": "address.1.street",
    "mailingcity": "address.1.city",
    "mailingstate": "address.1.region",
    "mailingpostalcode": "address.1.postcode",
    "mailingcountry": "address.1.country",
    "ownerid": "",
    "hasoptedoutofemail": "",
}
SALESFORCE_SIGNS = {
    "contact id",
    "account name",
    "mailing street",
    "mailing city",
    "mailing zip/postal code",
    "mailing state/province",
    "contact owner",
    "mailingstreet",
    "mailingpostalcode",
    "accountid",
    "birthdate",
    "lead source",
}

PRODUCTS: dict[str, tuple[str, dict[str, str], set[str]]] = {
    "google": ("Google Contacts", GOOGLE, GOOGLE_SIGNS),
    "outlook": ("Outlook", OUTLOOK, OUTLOOK_SIGNS),
    "hubspot": ("HubSpot", HUBSPOT, HUBSPOT_SIGNS),
    "capsule": ("Capsule", CAPSULE, CAPSULE_SIGNS),
    "pipedrive": ("Pipedrive", PIPEDRIVE, PIPEDRIVE_SIGNS),
    "salesforce": ("Salesforce", SALESFORCE, SALESFORCE_SIGNS),
}

GENERIC = {
    "name": "full_name",
    "full name": "full_name",
    "display name": "full_name",
    "contact name": "full_name",
    "contact": "full_name",
    "first name": "given_name",
    "firstname": "given_name",
    "first": "given_name",
    "given name": "given_name",
    "forename": "given_name",
    "christian name": "given_name",
    "middle name": "middle_name",
    "last name": "family_name",
    "lastname": "family_name",
    "last": "family_name",
    "surname": "family_name",
    "family name": "family_name",
    "kind": "kind",
    "type": "kind",
    "contact type": "kind",
    "record type": "kind",
    "company": "organisation",
    "company name": "organisation",
    "organisation": "organisation",
    "organization": "organisation",
    "organisation name": "organisation",
    "organization name": "organisation",
    "business": "organisation",
    "business name": "organisation",
    "employer": "organisation",
    "account name": "organisation",
    "job title": "job_title",
    "jobtitle": "job_title",
    "position": "job_title",
    "occupation": "job_title",
    "email": "email",
    "e-mail": "email",
    "emails": "email",
    "email address": "email",
    "e-mail address": "email",
    "email 1": "email",
    "email 2": "email",
    "email 3": "email",
    "work email": "email",
    "home email": "email",
    "other email": "email",
    "other emails": "email",
    "mail": "email",
    "email type": "email_label",
    "email label": "email_label",
    "phone": "phone",
    "phones": "phone",
    "phone type": "phone_label",
    "phone label": "phone_label",
    "phone number": "phone",
    "telephone": "phone",
    "telephone number": "phone",
    "tel": "phone",
    "mobile": "phone",
    "mobile phone": "phone",
    "mobile number": "phone",
    "cell": "phone",
    "cell phone": "phone",
    "work phone": "phone",
    "home phone": "phone",
    "other phone": "phone",
    "other phones": "phone",
    "phone 1": "phone",
    "phone 2": "phone",
    "phone 3": "phone",
    "address": "address.1.street",
    "street": "address.1.street",
    "street address": "address.1.street",
    "address line 1": "address.1.line1",
    "address 1": "address.1.line1",
    "address line 2": "address.1.line2",
    "address 2": "address.1.line2",
    "city": "address.1.city",
    "town": "address.1.city",
    "town/city": "address.1.city",
    "state": "address.1.region",
    "county": "address.1.region",
    "region": "address.1.region",
    "province": "address.1.region",
    "state/province": "address.1.region",
    "postcode": "address.1.postcode",
    "post code": "address.1.postcode",
    "postal code": "address.1.postcode",
    "zip": "address.1.postcode",
    "zip code": "address.1.postcode",
    "zipcode": "address.1.postcode",
    "country": "address.1.country",
    "country code": "address.1.country",
    "roles": "roles",
    "role": "roles",
    "relationship": "roles",
    "tags": "tags",
    "tag": "tags",
    "labels": "tags",
    "categories": "tags",
    "groups": "tags",
    "notes": "notes",
    "note": "notes",
    "comments": "notes",
    "description": "notes",
    "birthday": "birthday",
    "date of birth": "birthday",
    "birth date": "birthday",
    "birthdate": "birthday",
    "dob": "birthday",
    "customer since": "customer_since",
    "time zone": "time_zone",
    "timezone": "time_zone",
    "email consent": "email_consent",
    "marketing consent": "email_consent",
    "agreed to marketing email": "email_consent",
    "do not contact": "do_not_contact",
    "owner": "owner",
    "account owner": "owner",
    "contact owner": "owner",
    "assigned to": "owner",
    "team": "team",
    "external id": "external_id",
    "id": "external_id",
    "record id": "external_id",
}

# The same columns as other-language spreadsheets and address books name them (German, French, Spanish, Dutch):
# used where an English name does not already say otherwise.
OTHER_LANGUAGES = {
    # German
    "vorname": "given_name",
    "nachname": "family_name",
    "familienname": "family_name",
    "e-mail-adresse": "email",
    "e-mail adresse": "email",
    "telefon": "phone",
    "telefonnummer": "phone",
    "mobiltelefon": "phone",
    "handy": "phone",
    "firma": "organisation",
    "unternehmen": "organisation",
    "straße": "address.1.street",
    "strasse": "address.1.street",
    "plz": "address.1.postcode",
    "postleitzahl": "address.1.postcode",
    "ort": "address.1.city",
    "stadt": "address.1.city",
    "bundesland": "address.1.region",
    "land": "address.1.country",
    "geburtstag": "birthday",
    "geburtsdatum": "birthday",
    "notizen": "notes",
    "bemerkungen": "notes",
    # French
    "prénom": "given_name",
    "prenom": "given_name",
    "nom": "family_name",
    "nom de famille": "family_name",
    "courriel": "email",
    "adresse e-mail": "email",
    "adresse électronique": "email",
    "téléphone": "phone",
    "portable": "phone",
    "société": "organisation",
    "societe": "organisation",
    "entreprise": "organisation",
    "fonction": "job_title",
    "poste": "job_title",
    "adresse": "address.1.street",
    "code postal": "address.1.postcode",
    "ville": "address.1.city",
    "pays": "address.1.country",
    "date de naissance": "birthday",
    "anniversaire": "birthday",
    # Spanish
    "nombre": "given_name",
    "apellido": "family_name",
    "apellidos": "family_name",
    "correo": "email",
    "correo electrónico": "email",
    "teléfono": "phone",
    "móvil": "phone",
    "empresa": "organisation",
    "cargo": "job_title",
    "dirección": "address.1.street",
    "ciudad": "address.1.city",
    "provincia": "address.1.region",
    "código postal": "address.1.postcode",
    "país": "address.1.country",
    "fecha de nacimiento": "birthday",
    "cumpleaños": "birthday",
    "notas": "notes",
    # Dutch
    "voornaam": "given_name",
    "achternaam": "family_name",
    "telefoonnummer": "phone",
    "bedrijf": "organisation",
    "adres": "address.1.street",
    "plaats": "address.1.city",
    "woonplaats": "address.1.city",
}
GENERIC = {**OTHER_LANGUAGES, **GENERIC}


@dataclass
class Detected:
    product: str  # "" when no export was recognised
    label: str
    mapping: list[str]  # one target per column

    @property
    def source(self) -> str:
        return self.product or "file"


def detect(headers: list[str], custom=(), *, file_format: str = "csv") -> Detected:
    """The likeliest mapping for these headers: a recognised export's own, then common names, then custom
    fields by label or key. Columns nothing recognises map to "" (not imported)."""
    names = [normalise_header(h) for h in headers]
    if file_format == "vcard":
        return Detected("vcard", "vCard", [vcard.MAPPING.get(h, "") for h in headers])
    present = set(names)
    best, best_score = "", 0
    for key, (_, _, signs) in PRODUCTS.items():
        score = len(present & signs)
        if score > best_score:
            best, best_score = key, score
    product = best if best_score >= 2 else ""
    own = PRODUCTS[product][1] if product else {}
    by_label = {}
    for d in custom:
        by_label[normalise_header(d.label)] = f"custom.{d.key}"
        by_label[normalise_header(d.key)] = f"custom.{d.key}"
    mapping, used = [], set()
    for name in names:
        if name in own:
            target = own[name]
        elif name in by_label:
            target = by_label[name]
        else:
            target = GENERIC.get(name) or ELSEWHERE.get(name, "")
        # A single-valued field fed by two columns would silently lose one: only the first column gets it.
        if target and target in used and not _many(target):
            target = ""
        if target:
            used.add(target)
        mapping.append(target)
    label = PRODUCTS[product][0] if product else ""
    return Detected(product, label, mapping)


def _elsewhere() -> dict[str, str]:
    """A recognised export's column names whose meaning every export that uses them agrees on, for a file that
    keeps only a few of an export's columns (too few to tell which export it came from): a Google Contacts file
    cut down to "First Name, Last Name, E-mail 1 - Value" still has its e-mail recognised."""
    seen: dict[str, set[str]] = {}
    for _, own, _ in PRODUCTS.values():
        for name, target in own.items():
            seen.setdefault(name, set()).add(target)
    return {name: targets.pop() for name, targets in seen.items() if len(targets) == 1 and "" not in targets}


ELSEWHERE = _elsewhere()


# --- labels of emails and phones ----------------------------------------------------------------------------

LABEL_TARGETS = {"email_label": "email", "phone_label": "phone"}

# Columns whose name says what kind of email or phone they hold (Outlook's "Mobile Phone", HubSpot's "Work Email",
# Pipedrive's "Person - Phone - Home" …): their values get that label, unless a label column next to them says
# otherwise.
HEADER_LABELS = {
    "business phone": "Work",
    "business phone 2": "Work",
    "home phone": "Home",
    "home phone 2": "Home",
    "homephone": "Home",
    "mobile phone": "Mobile",
    "mobilephone": "Mobile",
    "mobile": "Mobile",
    "mobile number": "Mobile",
    "mobile phone number": "Mobile",
    "cell": "Mobile",
    "cell phone": "Mobile",
    "car phone": "Car",
    "company main phone": "Main",
    "other phone": "Other",
    "other phones": "Other",
    "otherphone": "Other",
    "work phone": "Work",
    "whatsapp phone number": "WhatsApp",
    "work email": "Work",
    "home email": "Home",
    "other email": "Other",
    "other emails": "Other",
    "person - email - work": "Work",
    "person - email - home": "Home",
    "person - email - other": "Other",
    "person - phone - work": "Work",
    "person - phone - home": "Home",
    "person - phone - mobile": "Mobile",
    "person - phone - other": "Other",
    "mobiltelefon": "Mobile",
    "handy": "Mobile",
    "portable": "Mobile",
    "móvil": "Mobile",
}

# The words exports use for a kind of email or phone, as Friday writes them ("CELL" in a vCard is a mobile).
LABEL_WORDS = {
    "cell": "Mobile",
    "mobile": "Mobile",
    "work": "Work",
    "home": "Home",
    "other": "Other",
    "main": "Main",
    "fax": "Fax",
    "pager": "Pager",
    "iphone": "iPhone",
    "car": "Car",
}


def value_labels(headers: list[str], mapping: list[str]) -> dict[int, tuple[int, str]]:
    """For each email and phone column: the label column next to it (-1: none) and the label its own name
    gives. A label column labels the email or phone column right after it (Google's "E-mail 1 - Label",
    "E-mail 1 - Value"), else the one right before it."""
    labelled: dict[int, int] = {}
    for i, target in enumerate(mapping):
        kind = LABEL_TARGETS.get(target)
        if kind is None:
            continue
        for j in (i + 1, i - 1):
            if 0 <= j < len(mapping) and mapping[j] == kind and j not in labelled:
                labelled[j] = i
                break
    return {
        i: (
            labelled.get(i, -1),
            HEADER_LABELS.get(normalise_header(headers[i]), "") if i < len(headers) else "",
        )
        for i, target in enumerate(mapping)
        if target in ("email", "phone")
    }


def _many(target: str) -> bool:
    known = TARGETS_BY_KEY.get(target)
    return bool(known and known.many)


def from_saved(headers: list[str], columns: dict[str, str]) -> list[str]:
    """Apply a saved mapping (normalised header → target) to this file's headers."""
    return [columns.get(normalise_header(h), "") for h in headers]


def with_saved(headers: list[str], columns: dict[str, str], detected: list[str]) -> list[str]:
    """A saved mapping applied to this file; a column it does not name keeps what recognising its header gave
    (unless that field is already fed by another column and takes one value)."""
    out = from_saved(headers, columns)
    used = {t for t in out if t}
    for i, target in enumerate(detected):
        if not out[i] and target and (target not in used or _many(target)):
            out[i] = target
            used.add(target)
    return out


def to_saved(headers: list[str], mapping: list[str]) -> dict[str, str]:
    return {normalise_header(h): t for h, t in zip(headers, mapping, strict=False) if t}


def check(headers: list[str], mapping: list[str], custom_keys: set[str]) -> Collector:
    """A mapping every row can be read with: known targets, single-valued ones fed by one column, a name."""
    errors = Collector()
    if len(mapping) != len(headers):
        errors.add("mapping", "The mapping does not have one entry per column.", code="import.mapping_size")
        return errors
    seen: dict[str, str] = {}
    for header, target in zip(headers, mapping, strict=True):
        if not target:
            continue
        if target.startswith("custom."):
            if target[7:] not in custom_keys:
                errors.add(header, f"There is no custom field {target[7:]!r}.", code="import.unknown_target")
                continue
        elif target not in TARGETS_BY_KEY:
            errors.add(header, f"{target!r} is not a field Friday imports.", code="import.unknown_target")
            continue
        if target in seen and not _many(target):
            label = TARGETS_BY_KEY[target].label if target in TARGETS_BY_KEY else target
            errors.add(
                header,
                f"{label} is already imported from column {seen[target]!r}: choose one of the two.",
                code="import.mapped_twice",
            )
        seen.setdefault(target, header)
    labelled = {label for label, _ in value_labels(headers, mapping).values() if label >= 0}
    for i, (header, target) in enumerate(zip(headers, mapping, strict=True)):
        if target in LABEL_TARGETS and i not in labelled:
            kind = LABEL_TARGETS[target]
            errors.add(
                header,
                f"A {kind} label column labels the {kind} column right after it (or right before it): map the "
                f"column next to {header!r} as {TARGETS_BY_KEY[kind].label.lower()}, or do not import the label.",
                code="import.label_alone",
            )
    names = {"full_name", "given_name", "family_name", "organisation"}
    if not names & set(seen):
        errors.add(
            "mapping",
            "No column is imported as a name: map at least one of full name, given name, family name or "
            "organisation.",
            code="import.no_name",
        )
    return errors
