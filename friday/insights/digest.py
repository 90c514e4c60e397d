"""The daily digest's content: a list of sections — the user's day, what is overdue, what changed on their
customers since the last digest, who is at risk — each built by one function from the same scoped reads as the
user's own pages, so a digest never shows what its reader could not open. Another app adds a section by
registering a builder (`register_section`, from its AppConfig.ready()); an empty section is left out, and a digest
whose sections are all empty is not sent. Reads only: sending is `insights.services.digest_send`."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.template.loader import render_to_string
from django.urls import reverse

from friday.accounts.models import User
from friday.billing.models import open_invoices
from friday.billing.selectors import invoices_visible
from friday.core import business, clock
from friday.core.money import money
from friday.insights.models import Digest
from friday.insights.risk import threshold
from friday.insights.selectors import metrics_visible, scoped
from friday.parties.models import Activity, ActivityKind
from friday.reminders.models import Reminder
from friday.reminders.selectors import MyDay, end_of_today, mine, my_day

LINES = 10  # lines per section before "and N more"
CHANGED_PARTIES = 10  # customers in "what changed" before "and N more"
CHANGES_EACH = 3  # changes shown per customer before "and N more"
SINCE_AT_MOST = dt.timedelta(days=7)  # "since the last digest", but never further back than this
FIRST_SINCE = dt.timedelta(hours=24)  # the first digest (or one after a long gap) looks back a day
# A timeline entry may be logged a little after it happened (a call noted the next day): entries written since the
# last digest count, and this bound lets the query walk the timeline's time index instead of the whole table.
LOGGED_LATE = dt.timedelta(days=30)
AT_RISK_REMEMBERED = 1000  # at-risk customers kept in the day's state, to mark tomorrow's new ones

# Timeline entries worth a line in "what changed": what people logged (calls, notes, meetings, mail — no event
# name) and these system entries. Automation's own doings and Friday's sent messages are left out: noise.
CHANGE_EVENTS = (
    "stage.moved",
    "invoice.issued",
    "invoice.payment",
    "invoice.voided",
    "feedback.received",
    "mail.received",
    "job.created",
    "party.created",
    "party.owner_changed",
    "service_plan.serviced",
)
UNSUBSCRIBE_SALT = "friday.digest.unsubscribe"


@dataclass
class Line:
    text: str
    url: str = ""
    when: str = ""  # shown first: a time ("09:30") or how late ("3 days overdue")
    detail: str = ""  # shown after, quieter: the party, the amount, the reasons
    sub: list[str] = field(default_factory=list)  # lines under it (a customer's changes)
    sub_more: int = 0  # lines under it not shown …
    sub_url: str = ""  # … and where they are
    new: bool = False  # not there in the last digest


@dataclass
class Section:
    key: str
    title: str
    lines: list[Line]
    total: int  # how many there are, shown or not
    summary: str  # for the subject line: "2 due today"
    more_url: str = ""  # the page with all of them
    note: str = ""

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


@dataclass
class DigestContext:
    """What a section builder gets: whose digest, for which day, since when, and yesterday's remembered state.
    A builder may put what it wants to remember until tomorrow in `state` (JSON)."""

    user: User
    now: dt.datetime
    today: dt.date
    since: dt.datetime
    previous_state: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        """Times are shown in the user's time zone when they have one, else the business's."""
        try:
            return zoneinfo.ZoneInfo(self.user.time_zone) if self.user.time_zone else clock.business_tz()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return clock.business_tz()

    @cached_property
    def day(self) -> MyDay:
        """My reminders (shared by the "today" and "overdue" sections); one more than shown tells if there are
        more."""
        return my_day(self.user, limit=LINES + 1)

    def link(self, path: str) -> str:
        return base_url() + path


Builder = Callable[[DigestContext], "Section | None"]


@dataclass(frozen=True)
class SectionSpec:
    key: str
    order: int
    build: Builder


_sections: dict[str, SectionSpec] = {}


def register_section(key: str, build: Builder, *, order: int) -> None:
    """Add (or replace) a section; sections appear by `order` (the built-in ones use 10, 20, 30, 40, 50)."""
    _sections[key] = SectionSpec(key, order, build)


def sections() -> list[SectionSpec]:
    return sorted(_sections.values(), key=lambda spec: (spec.order, spec.key))


def base_url() -> str:
    return str(settings.FRIDAY_BASE_URL).rstrip("/")


def _party(reminder: Reminder) -> str:
    party = reminder.party or reminder.chase
    return party.display_name if party is not None else ""


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# --- the built-in sections ---------------------------------------------------------------------------------------


def section_today(ctx: DigestContext) -> Section | None:
    """My reminders due from now to midnight, with their times (what is due earlier today is overdue)."""
    found = ctx.day.today
    if not found:
        return None
    total = len(found)
    if total > LINES:
        total = mine(ctx.user).filter(remind_at__gte=ctx.now, remind_at__lt=end_of_today()).count()
    lines = [
        Line(
            text=r.title,
            url=ctx.link(f"/reminders/{r.pk}/"),
            when=r.remind_at.astimezone(ctx.tz).strftime("%H:%M"),
            detail=_party(r),
        )
        for r in found[:LINES]
    ]
    return Section(
        "today",
        "Your day",
        lines,
        total,
        f"{total} due today",
        more_url=ctx.link("/reminders/"),
    )


def section_overdue(ctx: DigestContext) -> Section | None:
    """My reminders past their time, oldest first."""
    found = ctx.day.overdue
    if not found:
        return None
    lines = []
    for r in found[:LINES]:
        days = (ctx.today - clock.local_date(r.remind_at)).days
        when = (
            f"{_plural(days, 'day')} overdue" if days > 0 else f"since {r.remind_at.astimezone(ctx.tz):%H:%M}"
        )
        lines.append(Line(text=r.title, url=ctx.link(f"/reminders/{r.pk}/"), when=when, detail=_party(r)))
    total = ctx.day.overdue_count
    return Section("overdue", "Overdue", lines, total, f"{total} overdue", more_url=ctx.link("/reminders/"))


def section_overdue_invoices(ctx: DigestContext) -> Section | None:
    """Open invoices past their due date, of the customers I may see; the oldest due first."""
    qs = open_invoices(invoices_visible(ctx.user)).filter(due_date__lt=ctx.today)
    found = list(qs.select_related("party").order_by("due_date", "id")[: LINES + 1])
    if not found:
        return None
    total = len(found) if len(found) <= LINES else qs.count()
    lines = [
        Line(
            text=f"Invoice {invoice.number or invoice.pk}",
            url=ctx.link(f"/billing/invoices/{invoice.pk}/"),
            when=f"{_plural((ctx.today - invoice.due_date).days, 'day')} overdue" if invoice.due_date else "",
            detail=f"{invoice.party.display_name}, {money(invoice.balance, invoice.currency)} due",
        )
        for invoice in found[:LINES]
    ]
    return Section(
        "overdue_invoices",
        "Overdue invoices",
        lines,
        total,
        f"{_plural(total, 'invoice')} overdue",
        more_url=ctx.link("/billing/invoices/?status=overdue"),
    )


def _author(row: dict[str, Any]) -> str:
    full = f"{row['author__first_name']} {row['author__last_name']}".strip()
    return full or row["author__username"] or ""


def _moment(at: dt.datetime, ctx: DigestContext) -> str:
    local = at.astimezone(ctx.tz)
    return (
        f"{local:%H:%M}" if local.date() == ctx.today else f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
    )


def section_changed(ctx: DigestContext) -> Section | None:
    """What others wrote on the timelines of the parties I may see since my last digest — stage moves, payments,
    feedback, calls, notes, mail — grouped per party, the ones I own first, then the busiest. Two queries: the
    count per party, then the latest few entries of the parties shown (a window function, not one per party)."""
    entries = scoped(
        Activity.objects.filter(
            created_at__gte=ctx.since,
            created_at__lt=ctx.now,
            occurred_at__gte=ctx.since - LOGGED_LATE,
        ).filter(Q(event__in=CHANGE_EVENTS) | Q(event="")),
        ctx.user,
    ).exclude(author_id=ctx.user.pk)
    groups = list(entries.values("party_id", "party__owner_id").annotate(n=Count("id")).order_by())
    if not groups:
        return None
    groups.sort(key=lambda g: (g["party__owner_id"] != ctx.user.pk, -g["n"], g["party_id"]))
    shown = groups[:CHANGED_PARTIES]
    rows = (
        entries.filter(party_id__in=[g["party_id"] for g in shown])
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("party_id")], order_by=[F("occurred_at").desc(), F("id").desc()]
            )
        )
        .filter(rank__lte=CHANGES_EACH)
        .values(
            "party_id",
            "party__display_name",
            "kind",
            "event",
            "subject",
            "occurred_at",
            "author__first_name",
            "author__last_name",
            "author__username",
        )
        .order_by("party_id", "rank")
    )
    names: dict[int, str] = {}
    changes: dict[int, list[str]] = {}
    kinds = dict(ActivityKind.choices)
    for row in rows:
        names[row["party_id"]] = row["party__display_name"]
        author = _author(row)
        if row["event"]:  # a system entry already says what happened in words
            text = row["subject"] or row["event"]
        else:
            text = f"{kinds.get(row['kind'], row['kind'])}: {row['subject'] or '(no subject)'}"
        stamp = _moment(row["occurred_at"], ctx)
        changes.setdefault(row["party_id"], []).append(f"{stamp} {text}" + (f" — {author}" if author else ""))
    lines = []
    for group in shown:
        pid = group["party_id"]
        sub = changes.get(pid, [])
        lines.append(
            Line(
                text=names.get(pid, f"#{pid}"),
                url=ctx.link(f"/parties/{pid}/"),
                detail="yours" if group["party__owner_id"] == ctx.user.pk else "",
                sub=sub,
                sub_more=group["n"] - len(sub),
                sub_url=ctx.link(f"/parties/{pid}/timeline/"),
            )
        )
    total = len(groups)
    return Section(
        "changed",
        "What changed",
        lines,
        total,
        f"{_plural(total, 'customer')} changed",
        more_url=ctx.link("/parties/?sort=-updated"),
        note=f"Since {_moment(ctx.since, ctx)}, by others, on the customers you may see.",
    )


def section_at_risk(ctx: DigestContext) -> Section | None:
    """My customers at risk, highest score first, with why; "new" when they were not at risk in my last digest
    (the digest remembers who was)."""
    qs = metrics_visible(ctx.user).filter(risk_score__gte=threshold())
    ids = list(
        qs.order_by("-risk_score", "party_id").values_list("party_id", flat=True)[: AT_RISK_REMEMBERED + 1]
    )
    complete = len(ids) <= AT_RISK_REMEMBERED
    ctx.state["at_risk"] = ids[:AT_RISK_REMEMBERED]
    ctx.state["at_risk_complete"] = complete
    if not ids:
        return None
    before = ctx.previous_state.get("at_risk")
    known = set(before) if isinstance(before, list) and ctx.previous_state.get("at_risk_complete") else None
    total = len(ids) if complete else qs.count()
    lines = [
        Line(
            text=m.party.display_name,
            url=ctx.link(f"/parties/{m.party_id}/"),
            when=f"risk {m.risk_score}",
            detail="; ".join(reason.get("text", "") for reason in m.risk_reasons if isinstance(reason, dict)),
            new=known is not None and m.party_id not in known,
        )
        for m in qs.select_related("party").order_by("-risk_score", "party_id")[:LINES]
    ]
    return Section(
        "at_risk",
        "Customers at risk",
        lines,
        total,
        f"{total} at risk",
        more_url=ctx.link("/insights/at-risk/"),
        note="“new”: not at risk in your last digest." if any(line.new for line in lines) else "",
    )


register_section("today", section_today, order=10)
register_section("overdue", section_overdue, order=20)
register_section("overdue_invoices", section_overdue_invoices, order=30)
register_section("changed", section_changed, order=40)
register_section("at_risk", section_at_risk, order=50)


# --- the whole digest ---------------------------------------------------------------------------------------------


@dataclass
class DigestContent:
    user: User
    today: dt.date
    since: dt.datetime
    sections: list[Section]
    state: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def items(self) -> int:
        return sum(section.total for section in self.sections)

    @property
    def subject(self) -> str:
        day = f"{self.today:%a} {self.today.day} {self.today:%b}"
        return f"Your Friday digest for {day}: " + ", ".join(s.summary for s in self.sections)


def previous_digest(user: User, today: dt.date) -> Digest | None:
    return Digest.objects.filter(user=user, on__lt=today).order_by("-on").first()


def build(*, user: User, previous: Digest | None = None) -> DigestContent:
    """The digest of `user` for today (the business's day): every registered section that has something to say.
    "What changed" starts at the previous digest (at most a week back), or a day back when there is none."""
    now = clock.now()
    today = clock.local_date(now)
    since = now - FIRST_SINCE
    if previous is not None and now - SINCE_AT_MOST <= previous.created_at < now:
        since = previous.created_at
    ctx = DigestContext(
        user=user,
        now=now,
        today=today,
        since=since,
        previous_state=dict(previous.state) if previous is not None else {},
    )
    built = [spec.build(ctx) for spec in sections()]
    return DigestContent(
        user=user, today=today, since=since, sections=[s for s in built if s is not None], state=ctx.state
    )


# --- the email ----------------------------------------------------------------------------------------------------


def unsubscribe_token(user: User) -> str:
    """A signed token standing for `user`'s digest (the same in every digest, no expiry: an old email's link still
    works): the unsubscribe link works without signing in, and a token that was not made here, or was made for
    another purpose, is refused."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(user.pk)


def unsubscribe_user(token: str) -> User | None:
    """The user a token was made for, or None for a forged, damaged or foreign one (or a user who is gone)."""
    try:
        pk = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool):
        return None
    return User.objects.filter(pk=pk).first()


def unsubscribe_url(user: User) -> str:
    return base_url() + reverse("insights:digest_unsubscribe", args=[unsubscribe_token(user)])


@dataclass
class Email:
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, str]


def render(content: DigestContent) -> Email:
    """The digest as an email, in plain text and HTML from the same sections, with the one-click unsubscribe
    headers of RFC 8058 (List-Unsubscribe with an https address when FRIDAY_BASE_URL is https, and
    List-Unsubscribe-Post)."""
    unsubscribe = unsubscribe_url(content.user)
    context = {
        "content": content,
        "user": content.user,
        "sections": content.sections,
        "base_url": base_url(),
        "preferences_url": base_url() + reverse("accounts:preferences"),
        "unsubscribe_url": unsubscribe,
        "business": business.name(),
        "hour": settings.FRIDAY_DIGEST_HOUR,
    }
    return Email(
        subject=content.subject,
        body_text=render_to_string("insights/digest_email.txt", context),
        body_html=render_to_string("insights/digest_email.html", context),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
