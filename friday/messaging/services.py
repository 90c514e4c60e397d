"""The only write path for messages: templates (checked when saved), and the outbox — queue a message once per
key, then a sender claims, sends and records it, retrying what failed for a while and keeping what it cannot
send. Nothing is sent inside a web request or before the transaction that caused it commits."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import smtplib
import socket
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from friday.accounts.models import User
from friday.core import clock
from friday.core.errors import Collector, Conflict, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.messaging import rendering
from friday.messaging.context import message_context
from friday.messaging.models import MessageStatus, MessageTemplate, OutboundAttachment, OutboundMessage
from friday.parties.models import ActivityKind, Party
from friday.parties.services import timeline_add

logger = logging.getLogger("friday.outbox")

# A claim older than this belongs to a sender that died: the row is sent again (FRIDAY_OUTBOX_LEASE_SECONDS).
LEASE = dt.timedelta(seconds=getattr(settings, "FRIDAY_OUTBOX_LEASE_SECONDS", 300))
MAX_ATTEMPTS = 8
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600)  # seconds before attempt 2, 3, …


def require_template_editor(user: User) -> None:
    if not user.can_edit_processes:
        raise PermissionDenied(
            "Only an admin or a manager can change message templates.", code="permission.template_editor"
        )


# --- templates ---------------------------------------------------------------------------------------------------


@dataclass
class TemplateIn:
    key: str
    name: str
    subject: str
    body_text: str
    body_html: str = ""
    description: str = ""
    marketing: bool = False


def template_problems(data: TemplateIn) -> list[rendering.Problem]:
    parts = {"subject": data.subject, "body_text": data.body_text}
    if data.body_html.strip():
        parts["body_html"] = data.body_html
    return rendering.check(parts)


@transaction.atomic
def template_save(*, by: User, data: TemplateIn, template: MessageTemplate | None = None) -> MessageTemplate:
    """Create or change a template. Refused, with each problem by part and line, when it would not render:
    a syntax error, a name the message context does not have, loops nested too deep."""
    require_template_editor(by)
    errors = Collector()
    key = data.key.strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,59}", key):
        errors.add("key", "A key is lower-case letters, digits, - and _, e.g. birthday.", code="invalid.key")
    elif MessageTemplate.objects.filter(key=key).exclude(pk=template.pk if template else 0).exists():
        errors.add("key", f"There is already a template {key!r}.", code="template.duplicate")
    name = " ".join(data.name.split())
    if not name or len(name) > 100:
        errors.add("name", "Give a name of at most 100 characters.", code="invalid.required")
    subject = data.subject.strip()
    if not subject:
        errors.add("subject", "Give a subject.", code="invalid.required")
    elif len(subject) > 300 or "\n" in subject:
        errors.add("subject", "A subject is one line of at most 300 characters.", code="invalid.subject")
    if not data.body_text.strip():
        errors.add("body_text", "Write the message.", code="invalid.required")
    for text, field in (
        (data.body_text, "body_text"),
        (data.body_html, "body_html"),
        (data.description, "description"),
    ):
        if "\x00" in text:
            errors.add(field, "Null characters are not allowed.", code="invalid.null_character")
    errors.raise_if_any()
    for problem in template_problems(data):
        where = f"line {problem.line}: " if problem.line else ""
        errors.add(problem.part, where + problem.message, code="template.problem")
    errors.raise_if_any()
    now = clock.now()
    created = template is None
    template = template or MessageTemplate(created_at=now)
    template.key, template.name, template.description = key, name, data.description.strip()
    template.subject, template.body_text, template.body_html = subject, data.body_text, data.body_html
    template.marketing, template.updated_at, template.updated_by = data.marketing, now, by
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # saved at the same moment by someone else
        raise Conflict(
            f"There is already a template {key!r}.", code="template.duplicate", field="key"
        ) from exc
    event_emit(
        name="message_template.created" if created else "message_template.updated",
        subject=template,
        actor=by,
        payload={"key": key},
    )
    return template


@transaction.atomic
def template_delete(*, by: User, template: MessageTemplate) -> None:
    require_template_editor(by)
    event_emit(name="message_template.deleted", subject=template, actor=by, payload={"key": template.key})
    template.delete()


@dataclass
class Rendered:
    subject: str
    body_text: str
    body_html: str


def render_message(
    *,
    subject: str,
    body_text: str,
    body_html: str,
    party: Party,
    record: dict | None = None,
    links: dict | None = None,
) -> Rendered:
    """Render the three parts for `party`; RenderRefused names the part that failed."""
    context = message_context(party, record=record, links=links)
    out = Rendered(
        subject=" ".join(rendering.render(subject, context, part="subject").split())[:300],
        body_text=rendering.render(body_text, context, part="body_text"),
        body_html=rendering.render(body_html, context, html=True, part="body_html")
        if body_html.strip()
        else "",
    )
    return out


def template_preview(
    *,
    template: MessageTemplate | TemplateIn,
    party: Party,
    record: dict | None = None,
    links: dict | None = None,
) -> Rendered:
    return render_message(
        subject=template.subject,
        body_text=template.body_text,
        body_html=template.body_html,
        party=party,
        record=record,
        links=links,
    )


# --- the outbox --------------------------------------------------------------------------------------------------


def message_id_for(key: str) -> str:
    """The same key always gives the same Message-ID (so a resend is recognisably the same message)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "friday.local"
    return f"<{digest}@{domain}>"


def _skip_reason(party: Party | None, template: MessageTemplate | None, to_email: str) -> str:
    if party is not None and party.do_not_contact:
        return "The party is marked do-not-contact."
    if template is not None and template.marketing and party is not None and not party.email_consent:
        return "No email consent, and this is a marketing message."
    if not to_email:
        return "The party has no email address."
    return ""


def _outbox_kick() -> None:
    from friday.messaging.tasks import outbox_drain

    outbox_drain.enqueue()


def _drain_after_commit() -> None:
    """Ask a worker to drain the outbox once this transaction commits — once per transaction, however many
    messages it queued. If it rolls back, nothing was queued and nothing is asked. (Should the enqueue itself
    be lost, the scheduler's minute sweep drains the outbox anyway.)"""
    connection = transaction.get_connection()
    if any(func is _outbox_kick for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(_outbox_kick, robust=True)


@transaction.atomic
def message_queue(
    *,
    key: str,
    party: Party,
    template: MessageTemplate | None = None,
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    record: dict | None = None,
    links: dict | None = None,
    by: User | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> OutboundMessage:
    """Write one message to the outbox, rendered now, in the caller's transaction; once per `key`.

    A do-not-contact party, a marketing message without consent or a party without an email address gives a
    `skipped` row with the reason; a template that fails to render gives a `failed` row with the error.
    Nothing is dropped without a row saying why. `attachments` are (filename, bytes, content type), stored
    with the message and sent with it."""
    if not key or len(key) > 200:
        raise FridayError("A message needs a key of at most 200 characters.", code="invalid.key", field="key")
    existing = OutboundMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    now = clock.now()
    email = next(iter(party.emails.all()), None)
    to_email = email.address if email else ""
    source = template or TemplateIn(
        key="", name="", subject=subject, body_text=body_text, body_html=body_html
    )
    reason = _skip_reason(party, template, to_email)
    status = MessageStatus.SKIPPED if reason else MessageStatus.QUEUED
    try:
        rendered = (
            template_preview(template=source, party=party, record=record, links=links) if not reason else None
        )
    except rendering.RenderRefused as exc:
        rendered, status, reason = None, MessageStatus.FAILED, f"{exc.field}: {exc.detail}"
    message = OutboundMessage(
        key=key,
        message_id=message_id_for(key),
        template=template,
        party=party,
        to_email=to_email,
        to_name=party.display_name,
        subject=rendered.subject if rendered else (source.subject[:300] or "(no subject)"),
        body_text=rendered.body_text if rendered else "",
        body_html=rendered.body_html if rendered else "",
        status=status,
        reason=reason,
        render_context=(
            {"record": record or {}, "links": links or {}} if status == MessageStatus.FAILED else {}
        ),
        next_attempt_at=now,
        created_at=now,
        created_by=by,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = OutboundMessage.objects.filter(key=key).first()
        if existing is not None:  # a concurrent firing wrote it first
            return existing
        raise
    for filename, content, content_type in attachments or []:
        attachment = OutboundAttachment(
            message=message, filename=filename[:255], content_type=content_type[:100], size=len(content)
        )
        attachment.content.save(filename[:100], ContentFile(content), save=True)
    if status == MessageStatus.QUEUED:
        _drain_after_commit()
    else:
        timeline_add(
            party,
            event=f"message.{status}",
            subject=f"Not sent: {message.subject} — {reason}",
            by=by,
            data={"message_id": message.pk},
        )
    return message


# Headers a message may carry besides the ones the sender sets; anything else is refused when queued.
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Auto-Submitted"})


@transaction.atomic
def message_queue_to(
    *,
    key: str,
    to_email: str,
    to_name: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    headers: dict[str, str] | None = None,
    by: User | None = None,
) -> OutboundMessage:
    """Write one message to a colleague (not a party) to the outbox, once per `key`, in the caller's transaction:
    mail Friday writes itself from its own templates (the daily digest), so it comes already rendered and skips
    the user-template sandbox and the party's consent. It is then sent, retried and recorded like any other."""
    if not key or len(key) > 200:
        raise FridayError("A message needs a key of at most 200 characters.", code="invalid.key", field="key")
    extra = dict(headers or {})
    for name, value in extra.items():
        if name not in EXTRA_HEADERS or "\n" in value or "\r" in value:
            raise FridayError(f"Header {name!r} cannot be set here.", code="invalid.header", field="headers")
    existing = OutboundMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    now = clock.now()
    to_email = to_email.strip()
    message = OutboundMessage(
        key=key,
        message_id=message_id_for(key),
        to_email=to_email,
        to_name=to_name[:220],
        subject=" ".join(subject.split())[:300] or "(no subject)",
        body_text=body_text,
        body_html=body_html,
        headers=extra,
        status=MessageStatus.QUEUED if to_email else MessageStatus.SKIPPED,
        reason="" if to_email else "No email address.",
        next_attempt_at=now,
        created_at=now,
        created_by=by,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = OutboundMessage.objects.filter(key=key).first()
        if existing is not None:  # queued at the same moment by another worker
            return existing
        raise
    if message.status == MessageStatus.QUEUED:
        _drain_after_commit()
    return message


def mail_configured() -> bool:
    """A real mail server is set (FRIDAY_EMAIL_URL=smtp://…); the console default only prints."""
    return settings.EMAIL_BACKEND.endswith("smtp.EmailBackend")


def _due() -> Q:
    now = clock.now()
    return Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_until__lt=now
    )


@dataclass
class DrainResult:
    sent: int = 0
    held: int = 0
    retried: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, kept {self.held}, to retry {self.retried}, failed {self.failed}"


def outbox_drain(*, worker_id: str, batch: int = 100, limit: int | None = None) -> DrainResult:
    """Send what is due, in batches, over one SMTP connection per batch. Each row is claimed with a conditional
    update (status and lease), so two senders never send one row; a sender that dies leaves a claim that
    expires after LEASE and the row is sent again — with the same Message-ID."""
    result = DrainResult()
    done = 0
    while limit is None or done < limit:
        ids = list(OutboundMessage.objects.filter(_due()).order_by("id").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        connection = get_connection(fail_silently=False) if mail_configured() else None
        try:
            if connection is not None:
                connection.open()
            for pk in ids:
                if not _claim(pk, worker_id):
                    continue  # another sender has it
                _send_one(pk, worker_id, connection, result)
                done += 1
        finally:
            if connection is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    connection.close()
    return result


def _claim(pk: int, worker_id: str) -> bool:
    now = clock.now()
    return bool(
        OutboundMessage.objects.filter(_due(), pk=pk).update(
            status=MessageStatus.SENDING,
            claimed_by=worker_id[:64],
            claimed_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
    )


TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    socket.timeout,
    ConnectionError,
    OSError,
)


def _send_one(pk: int, worker_id: str, connection: Any, result: DrainResult) -> None:
    message = OutboundMessage.objects.select_related("party").get(pk=pk)
    mine = OutboundMessage.objects.filter(pk=pk, claimed_by=worker_id[:64], status=MessageStatus.SENDING)
    if connection is None:
        mine.update(
            status=MessageStatus.HELD,
            reason="No mail server is configured (FRIDAY_EMAIL_URL): kept in the outbox.",
            claimed_until=None,
        )
        result.held += 1
        return
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[f"{message.to_name} <{message.to_email}>" if message.to_name else message.to_email],
        headers={**message.headers, "Message-ID": message.message_id},
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for attachment in message.attachments.all():
        with attachment.content.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        _failed(
            message,
            mine,
            f"{exc.smtp_code} {exc.smtp_error!r}",
            permanent=exc.smtp_code >= 500,
            result=result,
        )
        return
    except smtplib.SMTPRecipientsRefused as exc:
        _failed(message, mine, f"recipient refused: {exc.recipients}", permanent=True, result=result)
        return
    except TRANSIENT as exc:
        _failed(message, mine, f"{type(exc).__name__}: {exc}", permanent=False, result=result)
        return
    # The window no system closes: a crash here, after the server accepted it, resends it (same Message-ID).
    with transaction.atomic():
        recorded = mine.update(status=MessageStatus.SENT, sent_at=clock.now(), claimed_until=None, reason="")
        if recorded and message.party is not None:
            timeline_add(
                message.party,
                event="message.sent",
                subject=message.subject,
                body=message.body_text,
                kind=ActivityKind.EMAIL_OUT,
                by=None,
                data={"message_id": message.pk, "to": message.to_email},
            )
    result.sent += 1


def _failed(message: OutboundMessage, mine: Any, error: str, *, permanent: bool, result: DrainResult) -> None:
    attempts = message.attempts
    if permanent or attempts >= MAX_ATTEMPTS:
        mine.update(status=MessageStatus.FAILED, reason=error[:2000], claimed_until=None)
        result.failed += 1
        logger.warning("message %s failed for good after %s attempt(s): %s", message.pk, attempts, error)
        return
    delay = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
    mine.update(
        status=MessageStatus.QUEUED,
        reason=error[:2000],
        claimed_until=None,
        next_attempt_at=clock.now() + dt.timedelta(seconds=delay),
    )
    result.retried += 1


@transaction.atomic
def outbox_release_held(*, by: User) -> int:
    """Queue again the messages kept while no mail server was configured."""
    require_template_editor(by)
    count = OutboundMessage.objects.filter(status=MessageStatus.HELD).update(
        status=MessageStatus.QUEUED, next_attempt_at=clock.now(), reason=""
    )
    if count:
        _drain_after_commit()
    return count


@transaction.atomic
def message_retry(*, by: User, message: OutboundMessage) -> OutboundMessage:
    """Send a failed message again (from the outbox page), with its own Message-ID."""
    require_template_editor(by)
    if message.status not in (MessageStatus.FAILED, MessageStatus.HELD):
        raise FridayError("Only a failed or kept message can be sent again.", code="message.not_failed")
    fields: dict[str, Any] = {}
    if not message.body_text:
        # It failed before it was written (its template would not render): write it again now, or say why not.
        if message.template is None or message.party is None:
            raise FridayError(
                "This message was never written; there is nothing to send.", code="message.empty"
            )
        try:
            context = message.render_context or {}
            rendered = template_preview(
                template=message.template,
                party=message.party,
                record=context.get("record") or None,
                links=context.get("links") or None,
            )
        except rendering.RenderRefused as exc:
            raise FridayError(
                f"Its template still does not render ({exc.field}: {exc.detail}); fix the template first.",
                code="message.render",
            ) from exc
        fields = {
            "subject": rendered.subject,
            "body_text": rendered.body_text,
            "body_html": rendered.body_html,
        }
        fields["render_context"] = {}
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.QUEUED, next_attempt_at=clock.now(), attempts=0, reason="", **fields
    )
    _drain_after_commit()
    message.refresh_from_db()
    return message
