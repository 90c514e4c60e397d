"""The metric catalog: what a goal can be set on — only figures Friday already computes elsewhere (the four
corners, the feedback report, the customer lifecycle, reminders), each computed for a list of periods at once (one
grouped query per source with a conditional aggregate per period, never a query per period or per day).

A goal is the business's: its figure counts every record, whoever looks at it (a member sees the figure, not
the records behind it). Each metric says in one sentence how it is computed, and links to what moves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.urls import reverse

from friday.accounts.models import Role, User
from friday.core import business
from friday.core.errors import FridayError
from friday.core.money import round_money
from friday.strategy.periods import Span, before

UNITS = ("percent", "money", "count", "score")
# How a figure behaves over its period, which decides how its status is judged (strategy.status):
TOTAL = "total"  # adds up as the period goes (revenue, new prospects, lost value, customers back): paced
RATIO = "ratio"  # a rate over the period so far (NPS, margin): compared as it stands
LEVEL = "level"  # a count at a moment (reminders overdue now): compared as it stands


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Param:
    """A setting a metric needs besides the period: `clean` turns the submitted value into the stored one, or
    raises FridayError (the service puts the field path on it)."""

    name: str
    label: str
    default: Any
    clean: Callable[[Any], Any]
    help: str = ""


@dataclass(frozen=True)
class Ask:
    """What a metric is asked for besides the periods: the goal's settings, and the moment "now" stands for."""

    params: dict[str, Any]
    now: dt.datetime
    period: str
    rolling_days: int | None = None


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    kind: str
    how: str  # one sentence for the user: how the figure is computed
    compute: Callable[[list[Span], Ask], list[Decimal | None]]
    links: Callable[[dict[str, Any]], list[Link]]
    params: tuple[Param, ...] = field(default_factory=tuple)
    suggested_direction: str = "at_least"


_catalog: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    _catalog[metric.key] = metric
    return metric


def catalog() -> list[Metric]:
    return list(_catalog.values())


def get(key: str) -> Metric | None:
    return _catalog.get(key)


def everyone() -> User:
    """Who a goal's figure is counted for: nobody in particular — an unsaved manager, whom every scope lets see
    everything (the insights selectors leave the query unfiltered then)."""
    return User(username="strategy", role=Role.MANAGER, is_active=True)


def _places(value: Decimal, places: str = "0.1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _per_span(
    spans: list[Span], field_name: str, *, dates: bool = False, extra: Q | None = None
) -> dict[str, Q]:
    """A condition per span on `field_name` (a datetime, or a date with `dates`), keyed s0, s1…"""
    out = {}
    for i, span in enumerate(spans):
        lo, hi = (span.start, span.upto) if dates else (span.since(), span.until())
        q = Q(**{f"{field_name}__gte": lo, f"{field_name}__lt": hi})
        out[f"s{i}"] = q & extra if extra is not None else q
    return out


def _money_sums(
    qs: Any, spans: list[Span], field_name: str, value: str, *, dates: bool = False
) -> list[Decimal]:
    conditions = _per_span(spans, field_name, dates=dates)
    row = qs.aggregate(**{k: Sum(value, filter=q) for k, q in conditions.items()})
    home = business.currency()
    return [round_money(Decimal(row[k] or 0), home) for k in conditions]


# --- the four corners: revenue, margin, lost deals ----------------------------------------------------------------


def _revenue(spans: list[Span]) -> list[Decimal]:
    from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
    from friday.insights.selectors import scoped_totals

    qs = scoped_totals(Invoice.objects, everyone()).filter(
        paid_at__gte=spans[0].since(),
        paid_at__lt=spans[-1].until(),
        kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.PAID,
        currency=business.currency(),
    )
    return _money_sums(qs, spans, "paid_at", "subtotal")


def revenue(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    return list(_revenue(spans))


def margin(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    from friday.insights.selectors import scoped_totals
    from friday.jobs.models import Cost

    takings = _revenue(spans)
    costs = _money_sums(
        scoped_totals(Cost.objects, everyone()).filter(
            currency=business.currency(), incurred_on__gte=spans[0].start, incurred_on__lt=spans[-1].upto
        ),
        spans,
        "incurred_on",
        "amount",
        dates=True,
    )
    return [_places(100 * (r - c) / r) if r else None for r, c in zip(takings, costs, strict=True)]


def lost_value(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    from friday.insights.corners import _lost_deals

    qs = _lost_deals(everyone(), spans[0].since(), spans[-1].until()).filter(currency=business.currency())
    return list(_money_sums(qs, spans, "closed_at", "value"))


def _corners_links(params: dict[str, Any]) -> list[Link]:
    return [Link("The four corners: revenue, costs, profit", reverse("insights:corners"))]


def _lost_links(params: dict[str, Any]) -> list[Link]:
    return [
        Link("Lost deals", reverse("deals:list") + "?status=lost"),
        Link("Lost deals by reason, stage and owner", reverse("insights:corners")),
        Link("Lost reasons", reverse("deals:lost_reasons")),
    ]


def _revenue_links(params: dict[str, Any]) -> list[Link]:
    return [
        Link("The four corners", reverse("insights:corners")),
        Link("Overdue invoices", reverse("billing:list") + "?status=overdue"),
        Link("Best customers", reverse("insights:best")),
    ]


# --- customers: retention ------------------------------------------------------------------------------------------


def retention(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    """Per period: of the customers who bought in the period before (a paid invoice issued then), the share who
    bought again in the period (to date). One query: buyers grouped by party with a flag per period, counted in
    the database."""
    from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
    from friday.insights.selectors import scoped_totals

    all_spans = [before(spans[0], ask.period, ask.rolling_days), *spans]
    flags = {
        f"b{i}": Count("id", filter=Q(issue_date__gte=s.start, issue_date__lt=s.upto))
        for i, s in enumerate(all_spans)
    }
    buyers = (
        scoped_totals(Invoice.objects, everyone())
        .filter(
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.PAID,
            issue_date__gte=all_spans[0].start,
            issue_date__lt=all_spans[-1].upto,
        )
        .values("party_id")
        .annotate(**flags)
        .order_by()
    )
    counts: dict[str, Any] = {}
    for i in range(1, len(all_spans)):
        counts[f"base{i}"] = Count("party_id", filter=Q(**{f"b{i - 1}__gt": 0}))
        counts[f"back{i}"] = Count("party_id", filter=Q(**{f"b{i - 1}__gt": 0, f"b{i}__gt": 0}))
    row = buyers.aggregate(**counts)
    out: list[Decimal | None] = []
    for i in range(1, len(all_spans)):
        base, back = row[f"base{i}"], row[f"back{i}"]
        out.append(_places(Decimal(100 * back) / Decimal(base)) if base else None)
    return out


def _retention_links(params: dict[str, Any]) -> list[Link]:
    """The customers at risk (the list, and the segment the check-in rule works on) and the check-in rule itself —
    or, before the starter rules are installed, where to install them."""
    from friday.automation.models import Rule
    from friday.insights.starters import AT_RISK_SEGMENT, RULES
    from friday.processes.models import Segment

    links = [Link("Customers at risk", reverse("insights:at_risk"))]
    segment = Segment.objects.filter(name__iexact=AT_RISK_SEGMENT["name"]).only("pk").first()
    if segment is not None:
        links.append(
            Link("The segment of customers at risk", reverse("processes:segment_edit", args=[segment.pk]))
        )
    rule = Rule.objects.filter(name=RULES[0]["name"]).only("pk", "enabled").first()
    if rule is not None:
        state = "on" if rule.enabled else "off"
        links.append(
            Link(
                f"The check-in rule for customers at risk ({state})",
                reverse("automation:rule_edit", args=[rule.pk]),
            )
        )
    else:
        links.append(Link("Install the check-in rule for customers at risk", reverse("automation:rules")))
    links.append(Link("Best customers", reverse("insights:best")))
    return links


# --- feedback: NPS -------------------------------------------------------------------------------------------------


def nps(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    """% promoters − % detractors of the NPS answers given in each period, like the feedback report."""
    from friday.feedback.models import Category, Response, SurveyKind

    conditions = _per_span(spans, "answered_at")
    aggregates: dict[str, Any] = {}
    for k, q in conditions.items():
        aggregates[f"{k}n"] = Count("id", filter=q)
        aggregates[f"{k}p"] = Count("id", filter=q & Q(category=Category.PROMOTER))
        aggregates[f"{k}d"] = Count("id", filter=q & Q(category=Category.DETRACTOR))
    row = Response.objects.filter(
        survey__kind=SurveyKind.NPS, answered_at__gte=spans[0].since(), answered_at__lt=spans[-1].until()
    ).aggregate(**aggregates)
    out: list[Decimal | None] = []
    for k in conditions:
        n = row[f"{k}n"]
        out.append(_places(Decimal(100 * (row[f"{k}p"] - row[f"{k}d"])) / Decimal(n)) if n else None)
    return out


def _nps_links(params: dict[str, Any]) -> list[Link]:
    return [
        Link("Feedback report", reverse("feedback:report")),
        Link("Detractors' answers", reverse("feedback:responses") + "?category=detractor"),
        Link("Customers at risk", reverse("insights:at_risk")),
    ]


# --- the customer lifecycle: new qualified prospects ---------------------------------------------------------------


def _lifecycle_stage(value: Any) -> str:
    from friday.processes.services import lifecycle_process

    process = lifecycle_process()
    if process is None:
        raise FridayError(
            "There is no customer lifecycle yet: publish one (Processes → starters) first.",
            code="goal.no_lifecycle",
        )
    key = str(value or "").strip()
    stages = {s.key for v in process.versions.all() for s in v.definition.stages}
    if key not in stages:
        raise FridayError(
            f"The customer lifecycle has no stage {key!r}: use one of {', '.join(sorted(stages))}.",
            code="invalid.stage",
        )
    return key


def entered_stage(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    """Parties that entered the lifecycle stage in each period (each party once per period, however often it
    came back); moves written by a version migration are not entries."""
    from friday.processes.models import RecordType, StageChange
    from friday.processes.services import lifecycle_process

    process = lifecycle_process()
    if process is None:
        return [None for _ in spans]
    conditions = _per_span(spans, "at")
    row = StageChange.objects.filter(
        process=process,
        record_type=RecordType.PARTY,
        to_stage=ask.params.get("stage", "qualified"),
        migrated=False,
        at__gte=spans[0].since(),
        at__lt=spans[-1].until(),
    ).aggregate(**{k: Count("party_id", distinct=True, filter=q) for k, q in conditions.items()})
    return [Decimal(row[k]) for k in conditions]


def _stage_links(params: dict[str, Any]) -> list[Link]:
    from friday.processes.services import lifecycle_process

    stage = params.get("stage", "qualified")
    links = [Link(f"Parties now in “{stage}”", reverse("parties:list") + f"?stage={stage}")]
    process = lifecycle_process()
    if process is not None:
        links.append(
            Link(
                f"{process.name}: funnel and time in stage",
                reverse("processes:analytics", args=[process.key]),
            )
        )
    links.append(Link("Import contacts", reverse("imports:list")))
    return links


# --- reminders: overdue more than N days ---------------------------------------------------------------------------


def _days(value: Any) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 0 <= int(text) <= 365:
        raise FridayError("Give a whole number of days from 0 to 365.", code="invalid.days")
    return int(text)


def overdue_reminders(spans: list[Span], ask: Ask) -> list[Decimal | None]:
    """Open reminders more than N days past their time: now for the period in progress, at the end of each
    period before (what was open then, by when it was done or cancelled). One query, a count per moment."""
    from friday.insights.adoption import open_reminders_q
    from friday.reminders.models import Reminder

    late = dt.timedelta(days=ask.params.get("days", 2))
    moments = [ask.now if not s.complete else min(s.until(), ask.now) for s in spans]
    row = Reminder.objects.filter(created_at__lt=max(moments), remind_at__lt=max(moments) - late).aggregate(
        **{
            f"s{i}": Count("id", filter=open_reminders_q(m) & Q(remind_at__lt=m - late))
            for i, m in enumerate(moments)
        }
    )
    return [Decimal(row[f"s{i}"]) for i in range(len(spans))]


def _reminder_links(params: dict[str, Any]) -> list[Link]:
    return [
        Link("Open reminders, oldest first", reverse("reminders:list") + "?status=active"),
        Link("Adoption: overdue reminders by person", reverse("insights:adoption")),
    ]


register(
    Metric(
        key="retention",
        label="Customer retention",
        unit="percent",
        kind=TOTAL,
        how="Of the customers who bought in the period before (a paid invoice issued then), the share who have "
        "bought again in this period so far.",
        compute=retention,
        links=_retention_links,
    )
)
register(
    Metric(
        key="nps",
        label="Net Promoter Score",
        unit="score",
        kind=RATIO,
        how="% promoters (9–10) − % detractors (0–6) of the NPS answers given in the period, from −100 to 100.",
        compute=nps,
        links=_nps_links,
    )
)
register(
    Metric(
        key="gross_margin",
        label="Gross margin",
        unit="percent",
        kind=RATIO,
        how="Revenue (paid invoices before tax, by the day paid) less costs (job and customer costs incurred), as "
        "a % of revenue — the four corners' profit over revenue.",
        compute=margin,
        links=_corners_links,
    )
)
register(
    Metric(
        key="new_in_stage",
        label="New qualified prospects",
        unit="count",
        kind=TOTAL,
        how="Parties that entered the lifecycle stage (qualified, unless the goal names another) in the period, "
        "each counted once.",
        compute=entered_stage,
        links=_stage_links,
        params=(
            Param(
                "stage",
                "Lifecycle stage",
                "qualified",
                _lifecycle_stage,
                "The key of the lifecycle stage whose entries are counted",
            ),
        ),
    )
)
register(
    Metric(
        key="overdue_reminders",
        label="Reminders overdue",
        unit="count",
        kind=LEVEL,
        how="Open reminders more than N days past their time, counted now (and at the end of each past period "
        "for the trend).",
        compute=overdue_reminders,
        links=_reminder_links,
        params=(Param("days", "More than … days overdue", 2, _days, "Whole days, 0 to 365"),),
        suggested_direction="at_most",
    )
)
register(
    Metric(
        key="lost_value",
        label="Lost-opportunity cost",
        unit="money",
        kind=TOTAL,
        how="The value of the deals lost in the period (in the business's currency), as on the four corners.",
        compute=lost_value,
        links=_lost_links,
        suggested_direction="at_most",
    )
)
register(
    Metric(
        key="revenue",
        label="Revenue",
        unit="money",
        kind=TOTAL,
        how="Paid invoices before tax, by the day they were paid in full (in the business's currency), as on "
        "the four corners.",
        compute=revenue,
        links=_revenue_links,
    )
)
