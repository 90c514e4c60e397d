"""Money: ISO 4217 currency codes and amounts written the way the business reads them (Babel's CLDR data)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_name, get_currency_precision, is_currency
from django.conf import settings

from friday.core.errors import FridayError


def _locale() -> str:
    try:
        return str(Locale.parse(settings.LANGUAGE_CODE, sep="-"))
    except (ValueError, UnknownLocaleError):
        return "en_GB"


def currency_clean(code: object, *, field: str = "currency") -> str:
    """A currency code upper-cased and checked against ISO 4217; FridayError naming `field` if it is not one."""
    text = str(code or "").strip().upper()
    if len(text) != 3 or not is_currency(text):
        raise FridayError(
            f"{text or 'An empty code'} is not an ISO 4217 currency code: use one such as GBP, EUR or USD.",
            code="invalid.currency",
            field=field,
        )
    return text


def currency_digits(code: str) -> int:
    """How many decimals the currency's amounts have (GBP 2, JPY 0, BHD 3)."""
    return get_currency_precision(code)


def currency_name(code: str) -> str:
    return get_currency_name(code, locale=_locale())


def unit_money(amount: Decimal | int | float | None, currency: str) -> str:
    """A unit price: the currency's decimals at least, up to four more if it has them (£0.335, £18.50, ¥1,200)."""
    if amount is None:
        return ""
    digits = currency_digits(currency)
    pattern = "¤#,##0" + ("." + "0" * digits + "#" * max(0, 4 - digits) if digits else ".####")
    return format_currency(Decimal(amount), currency, format=pattern, locale=_locale(), currency_digits=False)


def money(amount: Decimal | int | float | None, currency: str, *, whole: bool = False) -> str:
    """£1,250.00 in en-GB; `whole` drops the pence for totals (£12,500)."""
    if amount is None:
        return ""
    value = Decimal(amount)
    fmt = "¤#,##0" if whole else None
    return format_currency(value, currency, format=fmt, locale=_locale(), currency_digits=not whole)


MAX_AMOUNT = Decimal("999999999999.99")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency we keep: 0.01 for GBP, 1 for JPY (never finer than 0.01)."""
    return Decimal(1).scaleb(-min(currency_digits(currency), 2))


def round_money(value: Decimal, currency: str) -> Decimal:
    """`value` rounded half up (away from zero at .5) to the currency's minor unit: 2.345 → 2.35, -2.345 → -2.35."""
    return value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def amount_parse(
    value: object,
    *,
    field: str,
    currency: str = "",
    places: int | None = None,
    allow_zero: bool = True,
    maximum: Decimal = MAX_AMOUNT,
    what: str = "The amount",
) -> Decimal:
    """A money amount (or quantity) from a form, the API or a file, checked: a finite number, not negative, not
    too large, with no more decimals than `places` (default: the currency's minor unit). FridayError naming
    `field` otherwise, saying what to write instead."""
    text = str(value).replace(",", "").strip() if value is not None else ""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FridayError(f"{what} is a number, e.g. 42.50.", code="invalid.decimal", field=field) from None
    if not number.is_finite() or "e" in text.lower():  # 1e3 is a number, but not how anyone writes money
        raise FridayError(f"{what} is a number, e.g. 42.50.", code="invalid.decimal", field=field)
    if number < 0:
        raise FridayError(f"{what} cannot be negative.", code="invalid.negative", field=field)
    if number == 0 and not allow_zero:
        raise FridayError(f"{what} must be more than zero.", code="invalid.zero", field=field)
    if number > maximum:
        raise FridayError(f"{what} is at most {maximum:,}.", code="invalid.too_large", field=field)
    if places is None:
        places = min(currency_digits(currency), 2) if currency else 2
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise FridayError(
            f"{currency} amounts have no minor unit: give a whole amount."
            if places == 0 and currency
            else f"{what} has at most {places} decimal places.",
            code="invalid.decimal",
            field=field,
        )
    return number.quantize(Decimal(1).scaleb(-places))
