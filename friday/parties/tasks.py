"""Background work for parties: fetch, call a service or send, nothing else."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from friday.accounts.models import User
from friday.core.models import DomainEvent
from friday.parties.models import Party


@task()
def handover_notify(*, event_id: int) -> str:
    """Tell the new owner a party was handed to them. Message-ID is keyed by the event, so a retry is one mail."""
    event = DomainEvent.objects.filter(pk=event_id, name="party.owner_changed").first()
    if event is None:
        return "event gone"
    party = Party.objects.filter(pk=event.subject_id).first()
    owner = User.objects.filter(pk=event.payload.get("to_user_id"), is_active=True).first()
    if party is None or owner is None or not owner.email:
        return "nothing to send"
    by = event.actor.display if event.actor else "Someone"
    url = f"{settings.FRIDAY_BASE_URL.rstrip('/')}/parties/{party.pk}/"
    message = EmailMessage(
        subject=f"{by} handed {party.display_name} over to you",
        body=_handover_body(owner.display, by, party.display_name, event.payload.get("note", ""), url),
        to=[owner.email],
        headers={"Message-ID": f"<handover-{event.pk}@friday.local>"},
    )
    message.send(fail_silently=False)
    return "sent"


def _handover_body(owner: str, by: str, party: str, note: str, url: str) -> str:
    lines = [f"Hello {owner},", "", f"{by} handed {party} over to you."]
    if note:
        lines += ["", f"Their note: {note}"]
    lines += ["", f"Open it: {url}", ""]
    return "\n".join(lines)
