"""The write path of insights: sending the daily digest — once per user and business day, through the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from friday.accounts.models import User
from friday.core import clock
from friday.insights import digest
from friday.insights.models import Digest
from friday.messaging.services import message_queue_to

logger = logging.getLogger("friday.digest")


def digest_key(user: User, on: dt.date) -> str:
    return f"digest:{user.pk}:{on}"


@dataclass
class DigestSent:
    user: User
    outcome: str  # "queued", "empty", "already", "skipped"
    content: digest.DigestContent | None = None
    email: digest.Email | None = None
    reason: str = ""


def digest_send(*, user: User, dry_run: bool = False) -> DigestSent:
    """Today's digest for `user`, queued in the outbox — or, with `dry_run`, built and rendered but neither queued
    nor recorded (even for a user who would get none: the preview says why).

    Once per user and business day, however often it runs and however many workers run it: the day's `Digest`
    row is unique per (user, day) and is written in the same transaction as the outbox message, whose key is the
    same pair — a second run finds the row, a concurrent one loses the insert and writes nothing. The content
    is built before that transaction, so the database is not held while it is read. An empty digest (nothing
    due, overdue, changed or at risk) is recorded but not sent. Inactive users, users without an email address
    and users who turned the digest off get none."""
    reason = (
        "inactive"
        if not user.is_active
        else "no email address"
        if not user.email
        else "turned off"
        if not user.digest_enabled
        else ""
    )
    if reason and not dry_run:
        return DigestSent(user=user, outcome="skipped", reason=reason)
    today = clock.today()
    if not dry_run and Digest.objects.filter(user=user, on=today).exists():
        return DigestSent(user=user, outcome="already")
    content = digest.build(user=user, previous=digest.previous_digest(user, today))
    email = None if content.empty else digest.render(content)
    if dry_run:  # a preview, also of a digest that would not be sent (and says why)
        outcome = "skipped" if reason else "empty" if email is None else "queued"
        return DigestSent(user=user, outcome=outcome, content=content, email=email, reason=reason)
    try:
        with transaction.atomic():
            row = Digest.objects.create(
                user=user, on=today, created_at=clock.now(), items=content.items, state=content.state
            )
            if email is not None:
                row.message = message_queue_to(
                    key=digest_key(user, today),
                    to_email=user.email,
                    to_name=user.get_full_name(),
                    subject=email.subject,
                    body_text=email.body_text,
                    body_html=email.body_html,
                    headers=email.headers,
                )
                row.save(update_fields=["message"])
    except IntegrityError:
        return DigestSent(user=user, outcome="already")  # another worker wrote today's first
    return DigestSent(user=user, outcome="empty" if email is None else "queued", content=content, email=email)


def digest_recipients(on: dt.date) -> QuerySet[User]:
    """Who should get a digest today and has not had one: active, with an email address, not turned off."""
    return (
        User.objects.filter(is_active=True, digest_enabled=True)
        .exclude(email="")
        .exclude(Exists(Digest.objects.filter(user=OuterRef("pk"), on=on)))
        .order_by("pk")
    )


@dataclass
class DueResult:
    queued: int = 0
    empty: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.queued} digest(s) queued, {self.empty} empty (not sent)"
        return text + (f", {len(self.failed)} failed: {', '.join(self.failed)}" if self.failed else "")


def digest_send_due() -> DueResult:
    """Run by the scheduler every quarter of an hour: from FRIDAY_DIGEST_HOUR on (the business's time), each user
    who has not had today's digest gets it. A worker that was down sends today's when it is back — never the
    days it missed, which are past. One user's failure is logged and does not stop the others."""
    result = DueResult()
    now = clock.now()
    if now.astimezone(clock.business_tz()).hour < settings.FRIDAY_DIGEST_HOUR:
        return result
    for user in list(digest_recipients(clock.local_date(now))):
        try:
            sent = digest_send(user=user)
        except Exception:
            # Logged with its traceback (not swallowed); the user has no row, so the next run tries again.
            logger.exception("the digest of %s could not be written", user.username)
            result.failed.append(user.username)
            continue
        if sent.outcome == "queued":
            result.queued += 1
        elif sent.outcome == "empty":
            result.empty += 1
    return result
