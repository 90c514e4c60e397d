"""Reads of templates and the outbox, scoped: a message is visible with the party it was for."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from friday.accounts.models import User
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.messaging.models import MessageStatus, MessageTemplate, OutboundMessage
from friday.parties.selectors import parties_visible


def template_get(*, template_id: int) -> MessageTemplate:
    template = MessageTemplate.objects.filter(pk=template_id).first() if valid_id(template_id) else None
    if template is None:
        raise NotFound("No such template.", code="template.not_found")
    return template


def messages_visible(user: User) -> QuerySet[OutboundMessage]:
    qs = OutboundMessage.objects.all()
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    return qs.filter(party__in=parties_visible(user))


def message_get(*, user: User, message_id: int) -> OutboundMessage:
    message = None
    if valid_id(message_id):
        message = messages_visible(user).select_related("party", "template").filter(pk=message_id).first()
    if message is None:
        raise NotFound("No such message.", code="message.not_found")
    return message


def outbox(
    *, user: User, status: str = "", party_id: int | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    """Newest first. `status` one of the message statuses, or "" for all."""
    if status and status not in MessageStatus.values:
        raise FridayError(
            f"Status must be one of {', '.join(MessageStatus.values)}.", code="invalid.status", field="status"
        )
    if not 1 <= limit <= 200:
        raise FridayError("Limit must be between 1 and 200.", code="invalid.limit", field="limit")
    qs = messages_visible(user).select_related("party")
    if status:
        qs = qs.filter(status=status)
    if party_id is not None:
        qs = qs.filter(party_id=party_id)
    return keyset_page(qs, order=["-created_at", "-id"], cursor=cursor, limit=limit)


def status_counts(user: User) -> dict[str, int]:
    from django.db.models import Count

    rows = messages_visible(user).values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


def inbound_visible(user: User) -> QuerySet:
    """Filed mail is seen with its parties; mail that matched nobody by managers and admins, and by the
    colleague it was from or to."""
    from django.db.models import Q

    from friday.messaging.models import InboundMessage

    qs = InboundMessage.objects.all()
    if not user.is_active:
        return qs.none()
    if user.sees_all:
        return qs
    email = user.email.lower()
    mine = Q(from_address=email) | Q(recipients__contains=email) if email else Q(pk__in=[])
    return qs.filter(Q(parties__in=parties_visible(user)) | (Q(parties__isnull=True) & mine)).distinct()


def inbound_get(*, user: User, message_id: int) -> Any:
    row = inbound_visible(user).filter(pk=message_id).first() if valid_id(message_id) else None
    if row is None:
        raise NotFound("No such mail.", code="mail.not_found")
    return row
