"""What a message template may read: plain data copied from the party, the record and the business — the
allowlist `rendering.SCHEMA` describes. Nothing here is a model: a template cannot reach the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from friday.core import business, clock
from friday.parties.models import Party, PartyKind


def _years(since: dt.date | None, today: dt.date) -> int | None:
    if since is None:
        return None
    years = today.year - since.year - ((today.month, today.day) < (since.month, since.day))
    return max(years, 0)


def party_context(party: Party) -> dict[str, Any]:
    today = clock.today()
    email = next(iter(party.emails.all()), None)
    phone = next(iter(party.phones.all()), None)
    address = next(iter(party.addresses.all()), None)
    owner = party.owner
    person = party.kind == PartyKind.PERSON
    return {
        "name": party.display_name,
        "first_name": (party.given_name if person else "") or party.display_name,
        "last_name": party.family_name if person else "",
        "kind": party.kind,
        "email": email.address if email else "",
        "phone": phone.number if phone else "",
        "birthday": party.birthday,
        "customer_since": party.customer_since,
        "age": _years(party.birthday, today),
        "years_as_customer": _years(party.customer_since, today),
        "city": address.city if address else "",
        "owner": {
            "name": owner.display if owner else business.name(),
            "first_name": (owner.first_name or owner.display) if owner else business.name(),
            "email": owner.email if owner else settings.FRIDAY_BUSINESS_EMAIL,
        },
        "custom": {str(k): v for k, v in (party.custom or {}).items()},
    }


def business_context() -> dict[str, Any]:
    return {
        "name": business.name(),
        "email": settings.FRIDAY_BUSINESS_EMAIL,
        "phone": settings.FRIDAY_BUSINESS_PHONE,
        "website": settings.FRIDAY_BUSINESS_WEBSITE,
    }


def message_context(
    party: Party, *, record: dict[str, Any] | None = None, links: dict[str, str] | None = None
) -> dict[str, Any]:
    """The whole context of one message. `record` and `links` are plain dicts the caller builds (a job's title
    and stage, an invoice's number; a feedback link)."""
    return {
        "party": party_context(party),
        "record": dict(record or {}),
        "business": business_context(),
        "links": dict(links or {}),  # for the customer: feedback, payment … never a staff page
        "today": clock.today(),
        "now": clock.now().astimezone(clock.business_tz()),
    }
