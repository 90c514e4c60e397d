"""The customer-metrics table: one function computes the rows of a batch of parties from the source tables, and
both the events sweep (the parties an event touched) and the full recompute (every customer, in batches that a
restart resumes) call it — so incremental updates equal a full recompute by construction.

Customers are parties with the customer role, or with an invoice or a job (whoever is billed is a customer).
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum

from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
from friday.core import business, clock, fastinsert
from friday.core.ids import valid_id
from friday.core.models import DomainEvent
from friday.core.money import round_money
from friday.feedback.models import Response
from friday.insights import risk, value
from friday.insights.models import CustomerMetrics, MetricsCursor, MetricsRun
from friday.jobs.models import Cost, Job
from friday.parties.models import Activity, ActivityKind, Affiliation, Party, PartyKind, PartyRole, RoleName
from friday.reminders.models import ACTIVE, Reminder

BATCH = 2000
CONTACT = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL_IN, ActivityKind.EMAIL_OUT)
ESCALATED_AFTER = dt.timedelta(days=1)
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


def customers() -> Any:
    """Parties that are customers: the role, or an invoice or a job of their own."""
    return Party.objects.filter(
        Exists(PartyRole.objects.filter(party=OuterRef("pk"), role=RoleName.CUSTOMER))
        | Exists(Invoice.objects.filter(party=OuterRef("pk")))
        | Exists(Job.objects.filter(party=OuterRef("pk")))
    )


def _money(amount: Any, currency: str) -> Decimal:
    return round_money(Decimal(amount or 0), currency)


def _sums(qs: Any, keep: set[int], **aggregates: Any) -> Any:
    """(party id, *aggregates) per party of `qs` in `keep`, in one grouped query."""
    found = qs.values("party_id").annotate(**aggregates).order_by().values_list("party_id", *aggregates)
    return (row for row in found if row[0] in keep)


def compute(party_ids: Iterable[int], *, now: dt.datetime | None = None) -> int:
    """Write the rows of these parties (a batch: one query per source table, not per party); parties that are
    not customers (any more) lose their row. Returns the rows written."""
    ids = sorted(set(party_ids))
    if not ids:
        return 0
    now = now or clock.now()
    home = business.currency()
    today = clock.local_date(now)
    wanted = set(ids)
    # A dense batch (the recompute's: every party in an id range) is read by range — no list of 2,000 parameters
    # for each source query to compile and send; rows of parties outside the batch are dropped as they come.
    dense = ids[-1] - ids[0] < 2 * len(ids)

    def of_batch(field: str, among: set[int]) -> Q:
        return (
            Q(**{f"{field}__gte": ids[0], f"{field}__lte": ids[-1]})
            if dense
            else Q(**{f"{field}__in": among})
        )

    # Who the customer's party belongs to, copied so lists and totals are scoped by the figures' own indexes.
    scope = {
        pk: (owner, team)
        for pk, owner, team in customers()
        .filter(of_batch("pk", wanted))
        .values_list("pk", "owner_id", "team_id")
        if pk in wanted
    }
    keep = set(scope)
    gone = [pk for pk in ids if pk not in keep]
    rows: dict[int, dict[str, Any]] = {pk: {} for pk in keep}
    if keep:
        paid = Invoice.objects.filter(
            of_batch("party_id", keep), kind=InvoiceKind.INVOICE, status=InvoiceStatus.PAID
        )
        for pk, total in _sums(paid.filter(currency=home), keep, total=Sum("subtotal")):
            rows[pk]["revenue"] = _money(total, home)
        # Per party and day: what was paid for in the business's currency (a purchase is a day, whatever the
        # currency; the value model's spend per repeat purchase counts the days after the first).
        days: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
        for pk, issued, subtotal, currency in paid.exclude(issue_date=None).values_list(
            "party_id", "issue_date", "subtotal", "currency"
        ):
            if issued is not None and pk in keep:
                amount = subtotal if currency == home else Decimal(0)
                days[pk][issued] = days[pk].get(issued, Decimal(0)) + amount
        for pk, found in days.items():
            ordered = sorted(found)
            gaps = [(b - a).days for a, b in itertools.pairwise(ordered)]
            rows[pk].update(
                purchases=len(ordered),
                first_purchase_on=ordered[0],
                last_purchase_on=ordered[-1],
                usual_interval_days=round(statistics.median(gaps)) if gaps else None,
                repeat_revenue=_money(sum(found[d] for d in ordered[1:]), home),
            )
        costs = Cost.objects.filter(of_batch("party_id", keep), currency=home)
        for pk, on_jobs, own in _sums(
            costs,
            keep,
            on_jobs=Sum("amount", filter=Q(job__isnull=False)),
            own=Sum("amount", filter=Q(job__isnull=True)),
        ):
            rows[pk]["job_costs"] = _money(on_jobs, home)
            rows[pk]["party_costs"] = _money(own, home)
        other: dict[int, int] = defaultdict(int)
        for qs in (
            Invoice.objects.filter(of_batch("party_id", keep)),
            Cost.objects.filter(of_batch("party_id", keep)),
        ):
            for pk, n in _sums(qs.exclude(currency=home), keep, n=Count("id")):
                other[pk] += n
        for pk, n in other.items():
            rows[pk]["other_currency_items"] = n
        overdue = Invoice.objects.filter(
            of_batch("party_id", keep),
            kind=InvoiceKind.INVOICE,
            status__in=OPEN,
            currency=home,
            due_date__lt=today,
        )
        for pk, total, oldest in _sums(overdue, keep, total=Sum("balance"), oldest=Min("due_date")):
            rows[pk]["amount_overdue"] = _money(total, home)
            rows[pk]["oldest_overdue_on"] = oldest
        year_ago, two_years_ago = today - dt.timedelta(days=365), today - dt.timedelta(days=730)
        for pk, last_year, year_before in _sums(
            paid.filter(currency=home),
            keep,
            last_year=Sum("subtotal", filter=Q(issue_date__gt=year_ago)),
            year_before=Sum("subtotal", filter=Q(issue_date__gt=two_years_ago, issue_date__lte=year_ago)),
        ):
            rows[pk]["revenue_12m"] = _money(last_year, home)
            rows[pk]["revenue_prev_12m"] = _money(year_before, home)
        organisations = (
            set(
                Party.objects.filter(of_batch("pk", keep), kind=PartyKind.ORGANISATION).values_list(
                    "pk", flat=True
                )
            )
            & keep
        )
        staffed = set(
            Affiliation.objects.filter(organisation_id__in=organisations).values_list(
                "organisation_id", flat=True
            )
        )
        for pk in organisations - staffed:
            rows[pk]["has_people"] = False
        contact = Activity.objects.filter(
            of_batch("party_id", keep), kind__in=CONTACT, occurred_at__lte=now
        ).exclude(event="message.sent")
        for pk, last in _sums(contact, keep, last=Max("occurred_at")):
            rows[pk]["last_contact_at"] = last
        reminders = Reminder.objects.filter(of_batch("party_id", keep), status__in=ACTIVE)
        for pk, n, late in _sums(
            reminders, keep, n=Count("id"), late=Count("id", filter=Q(remind_at__lt=now - ESCALATED_AFTER))
        ):
            if pk is not None:
                rows[pk].update(open_reminders=n, escalated_reminders=late)
        latest: dict[int, tuple[dt.datetime, int]] = {}
        for pk, at, score in (
            Response.objects.filter(of_batch("party_id", keep), survey__kind="nps")
            .order_by("party_id", "answered_at", "id")
            .values_list("party_id", "answered_at", "score")
        ):
            if pk in keep:
                latest[pk] = (at, score)  # the last one per party wins
        for pk, (at, score) in latest.items():
            rows[pk].update(latest_nps=score, latest_nps_at=at)
    objects = []
    fit = value.current_fit()
    for pk, values in rows.items():
        revenue = values.get("revenue", Decimal("0.00"))
        job_costs = values.get("job_costs", Decimal("0.00"))
        party_costs = values.get("party_costs", Decimal("0.00"))
        costs = job_costs + party_costs
        profit = revenue - costs
        row = CustomerMetrics(
            party_id=pk,
            owner_id=scope[pk][0],
            team_id=scope[pk][1],
            currency=home,
            revenue=revenue,
            job_costs=job_costs,
            party_costs=party_costs,
            costs=costs,
            gross_profit=profit,
            margin_percent=(100 * profit / revenue).quantize(Decimal("0.1")) if revenue else None,
            first_purchase_on=values.get("first_purchase_on"),
            last_purchase_on=values.get("last_purchase_on"),
            purchases=values.get("purchases", 0),
            usual_interval_days=values.get("usual_interval_days"),
            last_contact_at=values.get("last_contact_at"),
            open_reminders=values.get("open_reminders", 0),
            escalated_reminders=values.get("escalated_reminders", 0),
            latest_nps=values.get("latest_nps"),
            latest_nps_at=values.get("latest_nps_at"),
            amount_overdue=values.get("amount_overdue", Decimal("0.00")),
            other_currency_items=values.get("other_currency_items", 0),
            revenue_12m=values.get("revenue_12m", Decimal("0.00")),
            revenue_prev_12m=values.get("revenue_prev_12m", Decimal("0.00")),
            oldest_overdue_on=values.get("oldest_overdue_on"),
            has_people=values.get("has_people", True),
            repeat_revenue=values.get("repeat_revenue", Decimal("0.00")),
            as_of=now,
        )
        row.yearly_value = round_money((row.revenue_12m + row.revenue_prev_12m) / 2, home)
        objects.append(row)
    value.score_rows(
        objects, fit
    )  # the stored fit, as the fit job scores them: the model's risk reason needs it
    for row in objects:
        risk.apply(row, today=today, now=now)
    # One prepared statement for the batch (INSERT … ON CONFLICT DO UPDATE): `bulk_create` spent a third of a
    # batch preparing each field of each row in Python.
    fields = [f.attname for f in CustomerMetrics._meta.concrete_fields]  # the party is the primary key
    with transaction.atomic():
        if gone:
            CustomerMetrics.objects.filter(party_id__in=gone).delete()
        fastinsert.upsert_rows(
            CustomerMetrics,
            fields,
            [[getattr(row, name) for name in fields] for row in objects],
            unique="party_id",
        )
    return len(objects)


# --- the full recompute ------------------------------------------------------------------------------------------


@dataclass
class RecomputeResult:
    run: MetricsRun
    resumed: bool
    batches: int


def recompute(
    *,
    batch: int = BATCH,
    restart: bool = False,
    progress: Callable[[int, int], None] | None = None,
    stop_after: int | None = None,
) -> RecomputeResult:
    """Every customer's row, in batches of party ids. Each batch commits with the run's checkpoint, so a run that
    is interrupted resumes after its last finished batch (`restart` starts afresh). `stop_after` (batches) is for
    tests and benchmarks that interrupt on purpose."""
    run = None if restart else MetricsRun.objects.filter(finished_at__isnull=True).order_by("-pk").first()
    resumed = run is not None
    if run is None:
        run = MetricsRun.objects.create(started_at=clock.now(), total=Party.objects.count())
    batches = 0
    while stop_after is None or batches < stop_after:
        ids = list(
            Party.objects.filter(pk__gt=run.last_party_id).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            run.finished_at = clock.now()
            run.save(update_fields=["finished_at"])
            # Rows of parties deleted since, and of runs that never saw them, do not linger.
            CustomerMetrics.objects.filter(as_of__lt=run.started_at).exclude(party__in=customers()).delete()
            break
        with transaction.atomic():
            compute(ids)
            run.last_party_id, run.parties_done = ids[-1], run.parties_done + len(ids)
            run.save(update_fields=["last_party_id", "parties_done"])
        batches += 1
        if progress:
            progress(run.parties_done, run.total)
    return RecomputeResult(run=run, resumed=resumed, batches=batches)


# --- kept current from events ------------------------------------------------------------------------------------


def sweep(*, limit: int = 20_000) -> int:
    """Recompute the rows of the parties that new events touched (every event after the cursor, oldest first:
    its payload's party_id, or its subject's party). Returns how many parties were recomputed. Overdue amounts
    and escalations also change with the clock alone, and mail filed by the gateway writes no event: the nightly
    recompute keeps those current."""
    with transaction.atomic():
        cursor, _ = MetricsCursor.objects.select_for_update().get_or_create(
            name="events", defaults={"updated_at": clock.now()}
        )
        events = list(
            DomainEvent.objects.filter(pk__gt=cursor.last_event_id)
            .order_by("pk")
            .values_list("pk", "subject_type", "subject_id", "payload")[:limit]
        )
        if not events:
            return 0
        # The parties the events name, found in one query per subject type (never one per event).
        parties: set[int] = set()
        by_subject: dict[str, set[int]] = defaultdict(set)
        for _pk, subject_type, subject_id, payload in events:
            party_id = (payload or {}).get("party_id")
            if isinstance(party_id, int) and not isinstance(party_id, bool):
                parties.add(party_id)
            elif subject_type == "party":
                parties.add(subject_id)
            elif subject_type in ("reminder", "invoice"):
                by_subject[subject_type].add(subject_id)
        if by_subject["reminder"]:
            parties |= set(
                Reminder.objects.filter(pk__in=by_subject["reminder"], party__isnull=False).values_list(
                    "party_id", flat=True
                )
            )
        if by_subject["invoice"]:
            parties |= set(
                Invoice.objects.filter(pk__in=by_subject["invoice"]).values_list("party_id", flat=True)
            )
        wanted = sorted(p for p in parties if valid_id(p))
        existing: set[int] = set()
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            existing |= set(Party.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        ids = sorted(existing)
        for start in range(0, len(ids), BATCH):
            compute(ids[start : start + BATCH])
        cursor.last_event_id = events[-1][0]
        cursor.updated_at = clock.now()
        cursor.save(update_fields=["last_event_id", "updated_at"])
    return len(ids)
