"""Normalising what people type: emails (validated, lower-cased domain) and phones (E.164)."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from friday.core import business
from friday.core.errors import FridayError


def no_nul(value: str, field: str) -> str:
    if "\x00" in value:
        raise FridayError("Null characters are not allowed.", code="invalid.null_character", field=field)
    return value


# The common shape of an address — dot-atom ASCII local part, letters-digits-hyphens domain labels, a letters-only
# top-level domain — for which email_validator's answer is known in advance: valid, and the address itself.
# Anything else (quotes, Unicode, IP literals, odd hyphens, special-use domains) takes the validator's full path.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})",
    re.ASCII,
)


def _plain_email(value: str) -> str | None:
    """The normalised address when it is plainly valid (see _PLAIN_EMAIL), else None: ask the validator.

    An import checks every address of a file: the validator's full path costs ~85 µs, this ~2 µs, and a test
    compares the two on generated addresses."""
    lowered = value.lower()
    match = _PLAIN_EMAIL.fullmatch(lowered)
    if match is None or len(lowered) > 254 or len(match["local"]) > 64:
        return None
    domain = match["domain"]
    if len(domain) > 253 or "--" in domain:  # IDNA forbids "--" in places; leave that to the validator
        return None
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    if any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES):
        return None
    return lowered


def normalise_email(value: str, field: str = "email") -> str:
    """A syntactically valid address, lower-cased. No DNS lookups (they fail offline).

    Local parts are case-sensitive in theory and never in practice; folding them is what makes
    duplicate detection find "Ada@Example.com" and "ada@example.com".
    """
    value = no_nul(value, field).strip()
    plain = _plain_email(value)
    if plain is not None:
        return plain
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise FridayError(
            f"{value!r} is not a valid email address: {exc}", code="invalid.email", field=field
        ) from exc
    return result.normalized.lower()


def normalise_phone(value: str, field: str = "phone", region: str | None = None) -> str:
    """E.164 (+441234567890). Numbers without a country code are read in FRIDAY_DEFAULT_REGION."""
    value = no_nul(value, field).strip()
    region = (region or business.region()).upper()
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise FridayError(f"{value!r} is not a phone number.", code="invalid.phone", field=field) from exc
    if not _valid(number, region):
        if number.country_code == 44 and str(number.national_number).startswith("7700900"):
            hint = (
                "07700 900000–900999 is Ofcom's range kept for TV and film: no real phone has such a number"
            )
        elif value.startswith(("+", "00")):
            hint = "check the digits after the country code"
        else:
            example = phonenumbers.country_code_for_region(region)
            hint = f"read as a number in {region}; for another country start with its code, e.g. +{example}"
        raise FridayError(
            f"{value!r} is not a valid phone number ({hint}).", code="invalid.phone", field=field
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The search text asks for this number's display next (every save, every imported row): keep the parsed
    # number so that it is not parsed a second time — parsing is most of libphonenumber's cost.
    if len(_parsed) >= 1024:
        _parsed.clear()
    _parsed[e164] = number
    return e164


def _valid(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """`phonenumbers.is_valid_number`, asking first whether it is valid in the business's own region: most
    numbers are, and that is half the work (the full check first looks for the number's region among every
    region sharing its calling code, then checks it there). A test compares the two on generated numbers."""
    return phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)


_parsed: dict[str, phonenumbers.PhoneNumber] = {}  # E.164 → the number just read (bounded)


def phone_display(e164: str) -> str:
    return _phone_display(e164, business.region())  # keyed by the region too: the business may change it


@functools.lru_cache(maxsize=4096)  # libphonenumber takes ~110 µs a call; list and detail pages call it often
def _phone_display(e164: str, region: str) -> str:
    number = _parsed.pop(e164, None)
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
    # Compare calling codes, not regions: +44 7911… is Guernsey to the library, but a UK mobile to people.
    home = phonenumbers.country_code_for_region(region)
    if number.country_code == home:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_forms(e164: str) -> str:
    """Digit strings a user may type for this number: international and national, without spaces."""
    digits = e164.lstrip("+")
    national = re.sub(r"\D", "", phone_display(e164)) if e164 else ""
    return " ".join(dict.fromkeys(d for d in (digits, national) if d))


def sort_key(value: str) -> str:
    """Case- and accent-insensitive key for ordering names."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()[:200]


def normalise_lenient(emails: list[str], phones: list[str]) -> tuple[list[str], list[str]]:
    """The valid, normalised entries of both lists, skipping invalid ones (for look-ups such as duplicates)."""
    good_emails, good_phones = [], []
    for value in emails:
        try:
            good_emails.append(normalise_email(value))
        except FridayError:
            continue
    for value in phones:
        try:
            good_phones.append(normalise_phone(value))
        except FridayError:
            continue
    return good_emails, good_phones
