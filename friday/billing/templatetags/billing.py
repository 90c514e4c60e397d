"""Template filters for invoices: a quantity or rate without trailing zeros (1.500 → 1.5, 20.00 → 20)."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter(name="plain")
def plain(value: object) -> str:
    if not isinstance(value, Decimal):
        return "" if value is None else str(value)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter(name="unit_money")
def unit_money_filter(value: object, currency: str) -> str:
    """A unit price in its currency, with the decimals it has: £0.335, £18.50, £480.00."""
    from friday.core.money import unit_money

    return unit_money(value if isinstance(value, Decimal) else None, currency)
