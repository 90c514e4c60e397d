"""Template filters shared by the pages."""

from __future__ import annotations

from django import template

from friday.parties.normalise import phone_display

register = template.Library()


@register.filter(name="phone")
def phone(value: str) -> str:
    """An E.164 number as people read it: national format at home, international abroad."""
    return phone_display(value) if value else ""
