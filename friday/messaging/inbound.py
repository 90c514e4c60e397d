"""Filing received mail: `friday mailgate` hands each message here.

A mail is read with the standard library's modern email parser (RFC 2047 headers decoded, multipart walked);
the text is the plain part, or the HTML part turned into text when there is none. Every party whose address is
in From, To or Cc gets it on their timeline — received when it came from them, sent when it came from a
colleague (a BCC of their own mail). A mail with the same Message-ID is filed once. A mail that matches nobody
is kept as "not matched yet", to be filed by hand; one that cannot be read is kept raw with the reason. Nothing
is dropped without a row saying why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from friday.accounts.models import User
from friday.core import clock
from friday.messaging.models import InboundAttachment, InboundMessage, InboundStatus
from friday.parties.models import ActivityKind, EmailAddress, Party
from friday.parties.services import timeline_add

MAX_BODY = 200_000  # characters of text kept on the timeline


class _Text(HTMLParser):
    """HTML to readable text: paragraphs and line breaks kept, scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in ("p", "div", "h1", "h2", "h3", "table"):
            self.out.append("\n\n")
        elif tag in ("br", "tr", "li"):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    text = html.unescape("".join(parser.out))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def _clean(text: str) -> str:
    """Mail can carry NUL bytes; PostgreSQL text cannot. Nothing else is changed."""
    return text.replace("\x00", "")


def _addresses(message: EmailMessage, header: str) -> list[tuple[str, str]]:
    values = message.get_all(header, [])
    pairs = getaddresses([_clean(str(v)) for v in values])
    return [(_clean(name), addr.strip().lower()[:254]) for name, addr in pairs if "@" in addr]


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return str(part.get_content()).replace("\r\n", "\n")
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(str(part.get_content()).replace("\r\n", "\n"))
    return ""


def _message_id(message: EmailMessage, raw: bytes) -> str:
    value = _clean(str(message.get("Message-ID", "") or "")).strip()
    return value[:300] if value else f"<sha256-{hashlib.sha256(raw).hexdigest()}@friday.local>"


@transaction.atomic
def file_message(raw: bytes, *, received_at: dt.datetime | None = None) -> InboundMessage:
    """File one received mail. Returns its row (the existing one for a Message-ID seen before)."""
    now = received_at or clock.now()
    try:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = _message_id(message, raw)
    except Exception as exc:  # a mail that cannot even be parsed is kept raw, with the reason
        return _keep_unreadable(raw, f"{type(exc).__name__}: {exc}", now)
    existing = InboundMessage.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing
    try:
        sender = _addresses(message, "From")
        to, cc = _addresses(message, "To"), _addresses(message, "Cc")
        subject = " ".join(_clean(str(message.get("Subject", "") or "")).split())[:300]
        body = _clean(_body(message))[:MAX_BODY]
        try:
            sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=dt.UTC)  # RFC 5322 "-0000": no zone given
        reply_to = _clean(str(message.get("In-Reply-To", "") or "")).strip()[:300]
        references = _clean(str(message.get("References", "") or "")).split()
    except Exception as exc:
        return _keep_unreadable(raw, f"{type(exc).__name__}: {exc}", now, message_id=message_id)
    thread = None
    for ref in [reply_to, *reversed(references)]:
        if ref:
            parent = InboundMessage.objects.filter(message_id=ref).first()
            if parent is not None:
                thread = parent.thread or parent
                break
    row = InboundMessage(
        message_id=message_id,
        subject=subject,
        from_address=sender[0][1] if sender else "",
        from_name=sender[0][0][:200] if sender else "",
        to=[a for _, a in to],
        cc=[a for _, a in cc],
        recipients="\n".join(a for _, a in [*to, *cc]),
        sent_at=sent_at,
        received_at=now,
        body_text=body,
        in_reply_to=reply_to,
        thread=thread,
        status=InboundStatus.UNMATCHED,
    )
    try:
        with transaction.atomic():
            row.raw.save(
                f"{hashlib.sha256(message_id.encode()).hexdigest()[:24]}.eml", ContentFile(raw), save=False
            )
            row.save()
    except IntegrityError:  # the same mail, delivered twice at once
        return InboundMessage.objects.get(message_id=message_id)
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        name = _clean(part.get_filename() or "attachment")[:255]
        attachment = InboundAttachment(
            message=row, filename=name, content_type=part.get_content_type()[:100], size=len(payload)
        )
        attachment.content.save(name, ContentFile(payload), save=False)
        attachment.save()
    file_on_parties(row)
    return row


def _keep_unreadable(
    raw: bytes, reason: str, now: dt.datetime, message_id: str | None = None
) -> InboundMessage:
    message_id = message_id or f"<sha256-{hashlib.sha256(raw).hexdigest()}@friday.local>"
    existing = InboundMessage.objects.filter(message_id=message_id).first()
    if existing is not None:
        return existing
    row = InboundMessage(
        message_id=message_id, received_at=now, status=InboundStatus.ERROR, reason=reason[:2000]
    )
    row.raw.save(f"{hashlib.sha256(raw).hexdigest()[:24]}.eml", ContentFile(raw), save=False)
    row.save()
    return row


def file_on_parties(
    row: InboundMessage, parties: list[Party] | None = None, *, by: User | None = None
) -> int:
    """Put the mail on the timelines of its parties (found by address, or given when filed by hand)."""
    staff = {
        e.lower()
        for e in User.objects.filter(is_active=True).exclude(email="").values_list("email", flat=True)
    }
    from_staff = row.from_address in staff
    by_hand = parties is not None
    if parties is None:
        addresses = {row.from_address, *row.to, *row.cc} - staff - {""}
        ids = set(EmailAddress.objects.filter(address__in=addresses).values_list("party_id", flat=True))
        parties = list(Party.objects.filter(pk__in=ids))
    filed = 0
    for party in parties:
        if row.parties.filter(pk=party.pk).exists():
            continue
        emails = set(party.emails.values_list("address", flat=True))
        # From them — or, filed by hand, from someone outside the business writing about them.
        received = not from_staff and (by_hand or row.from_address in emails)
        timeline_add(
            party,
            event="mail.received" if received else "mail.sent",
            subject=row.subject or "(no subject)",
            body=row.body_text,
            kind=ActivityKind.EMAIL_IN if received else ActivityKind.EMAIL_OUT,
            by=by,
            data={"inbound_id": row.pk, "from": row.from_address, "thread_id": (row.thread_id or row.pk)},
        )
        row.parties.add(party)
        filed += 1
    if filed and row.status != InboundStatus.FILED:
        row.status = InboundStatus.FILED
        row.save(update_fields=["status"])
    return filed
