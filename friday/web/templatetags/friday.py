"""Template filters shared by the pages."""

from __future__ import annotations

from django import template

from friday.core.money import money as money_text
from friday.parties.normalise import phone_display

register = template.Library()


@register.filter(name="phone")
def phone(value: str) -> str:
    """An E.164 number as people read it: national format at home, international abroad."""
    return phone_display(value) if value else ""


@register.filter(name="money")
def money(value: object, currency: str) -> str:
    """{{ deal.value|money:deal.currency }} → £1,250.00."""
    return money_text(value, currency) if value is not None and value != "" else ""  # type: ignore[arg-type]


@register.filter(name="money_whole")
def money_whole(value: object, currency: str) -> str:
    """Totals without the pence: £12,500."""
    return money_text(value, currency, whole=True) if value is not None and value != "" else ""  # type: ignore[arg-type]
