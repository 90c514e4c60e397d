"""Money: ISO 4217 currency codes and amounts written the way the business reads them (Babel's CLDR data)."""

from __future__ import annotations

from decimal import Decimal

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


def money(amount: Decimal | int | float | None, currency: str, *, whole: bool = False) -> str:
    """£1,250.00 in en-GB; `whole` drops the pence for totals (£12,500)."""
    if amount is None:
        return ""
    value = Decimal(amount)
    fmt = "¤#,##0" if whole else None
    return format_currency(value, currency, format=fmt, locale=_locale(), currency_digits=not whole)
