"""Reads of deals for the pages and the API, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, QuerySet, Sum

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.core import business, clock
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page, page_order
from friday.deals.models import Deal, LostReason
from friday.processes.definition import Stage
from friday.processes.models import Process, RecordType, StageChange

MAX_LIMIT = 200
STATUSES = ("open", "won", "lost")
SORTS: dict[str, list[str]] = {
    "recent": ["-updated_at", "-id"],
    "oldest": ["updated_at", "id"],
    "created": ["-created_at", "-id"],
}


def deals_visible(user: User) -> QuerySet[Deal]:
    return Deal.objects.filter(visible_q(user))


def deal_get(*, user: User, deal_id: int) -> Deal:
    deal = None
    if valid_id(deal_id):
        deal = (
            deals_visible(user)
            .select_related("party", "owner", "team", "process", "stage_version", "lost_reason")
            .filter(pk=deal_id)
            .first()
        )
    if deal is None:
        raise NotFound("No such deal.", code="deal.not_found")
    return deal


def deal_processes() -> QuerySet[Process]:
    return Process.objects.filter(applies_to=RecordType.DEAL, current__isnull=False).select_related("current")


def process_for_deals(key: str | None) -> Process:
    """The pipeline named by `key`, or the first one; FridayError when there is none to use."""
    processes = deal_processes()
    process = processes.filter(key=key).first() if key else processes.order_by("pk").first()
    if process is None:
        raise FridayError(
            f"No published sales pipeline {key!r}."
            if key
            else "There is no sales pipeline yet: publish one first.",
            code="deal.no_pipeline",
            field="process",
        )
    return process


@dataclass
class DealFilters:
    process: str = ""
    stage: str = ""
    status: str = ""
    owner_id: int | None = None
    party_id: int | None = None
    lost_reason_id: int | None = None
    q: str = ""


def _stage_keys_of_kind(process: Process, kinds: tuple[str, ...]) -> list[str]:
    keys: set[str] = set()
    for version in process.versions.all():
        keys |= {s.key for s in version.definition.stages if s.kind in kinds}
    return sorted(keys)


def deal_queryset(*, user: User, filters: DealFilters) -> QuerySet[Deal]:
    qs = deals_visible(user)
    if filters.process:
        qs = qs.filter(process=process_for_deals(filters.process))
    if filters.stage:
        known: set[str] = set()
        for process in deal_processes() if not filters.process else [process_for_deals(filters.process)]:
            known |= {s.key for v in process.versions.all() for s in v.definition.stages}
        if filters.stage not in known:
            raise FridayError(
                f"No pipeline has a stage {filters.stage!r}.", code="invalid.stage", field="stage"
            )
        qs = qs.filter(stage=filters.stage)
    if filters.status:
        if filters.status not in STATUSES:
            raise FridayError("Status must be open, won or lost.", code="invalid.status", field="status")
        if filters.status == "open":
            qs = qs.filter(closed_at__isnull=True)
        else:
            won_or_lost: list[str] = []
            for process in deal_processes():
                won_or_lost += _stage_keys_of_kind(process, (filters.status,))
            qs = qs.filter(closed_at__isnull=False, stage__in=won_or_lost)
    for name in ("owner_id", "party_id", "lost_reason_id"):
        value = getattr(filters, name)
        if value is not None and not valid_id(value):
            raise FridayError("No such id.", code="invalid.id", field=name)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.party_id is not None:
        qs = qs.filter(party_id=filters.party_id)
    if filters.lost_reason_id is not None:
        qs = qs.filter(lost_reason_id=filters.lost_reason_id)
    q = filters.q.strip()
    if "\x00" in q or len(q) > 100:
        raise FridayError("Search for at most 100 characters.", code="invalid.q", field="q")
    if q:
        qs = qs.filter(title__icontains=q)
    return qs


def deal_list(
    *, user: User, filters: DealFilters, sort: str = "recent", cursor: str | None = None, limit: int = 50
) -> Page:
    order = page_order(SORTS, sort, limit, MAX_LIMIT)
    qs = deal_queryset(user=user, filters=filters).select_related("party", "owner", "process")
    return keyset_page(qs, order=order, cursor=cursor, limit=limit)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    # The value of its deals, one total per currency (the business's own first): never a sum across currencies.
    totals: list[tuple[str, Decimal]] = field(default_factory=list)
    closed_days: int | None = None  # a won or lost column: it holds the deals closed in this many days
    deals: list[Deal] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass
class Board:
    process: Process
    columns: list[Column]


def board_column(
    *,
    user: User,
    process: Process,
    stage: str,
    owner_id: int | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Page:
    """One page of one column: the deals in an open stage longest in it first; in a won or lost stage, those
    closed in the last FRIDAY_BOARD_CLOSED_DAYS days, latest first (the board's index, either way)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FridayError(f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit", field="limit")
    qs = deals_visible(user).filter(process=process, stage=stage)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    qs = qs.select_related("party", "owner")
    if stage in _closed_stages(process):
        qs = qs.filter(closed_at__gte=closed_since())
        return keyset_page(qs, order=["-stage_entered_at", "-id"], cursor=cursor, limit=limit)
    return keyset_page(qs, order=["stage_entered_at", "id"], cursor=cursor, limit=limit)


def closed_since() -> dt.datetime:
    """Won and lost columns show what closed since this moment; the rest is history (the deal list has it)."""
    return clock.now() - dt.timedelta(days=settings.FRIDAY_BOARD_CLOSED_DAYS)


def _closed_stages(process: Process) -> set[str]:
    assert process.current is not None
    return {s.key for s in process.current.definition.stages if s.kind in ("won", "lost")}


def deal_board(*, user: User, process: Process, owner_id: int | None = None, limit: int = 25) -> Board:
    """Every stage of the current version as a column with its count, total value and first page of deals."""
    assert process.current is not None
    definition = process.current.definition
    qs = deals_visible(user).filter(process=process)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    counts: dict[str, int] = {}
    totals: dict[str, list[tuple[str, Decimal]]] = {}
    # Open deals, and those closed lately: two ranges of one covering index (process, closed_at, stage, …).
    rows = [
        *qs.filter(closed_at__isnull=True)
        .values("stage", "currency")
        .annotate(n=Count("id"), total=Sum("value"))
        .order_by(),
        # Only won and lost deals have closed_at. The upper bound is there for SQLite's planner: a range with
        # both ends is estimated narrow enough to use the covering index (465 ms → 5 ms at 400k deals).
        *qs.filter(closed_at__gte=closed_since(), closed_at__lt=clock.now() + dt.timedelta(days=3650))
        .values("stage", "currency")
        .annotate(n=Count("id"), total=Sum("value"))
        .order_by(),
    ]
    home = business.currency()
    closed = _closed_stages(process)
    for row in sorted(rows, key=lambda r: (r["currency"] != home, r["currency"])):
        counts[row["stage"]] = counts.get(row["stage"], 0) + row["n"]
        if row["total"] is not None:
            total = Decimal(row["total"]).quantize(Decimal("0.01"))
            totals.setdefault(row["stage"], []).append((row["currency"], total))
    columns = []
    for stage in definition.stages:
        column = Column(
            stage=stage,
            count=counts.get(stage.key, 0),
            totals=totals.get(stage.key, []),
            closed_days=settings.FRIDAY_BOARD_CLOSED_DAYS if stage.key in closed else None,
        )
        if column.count:
            page = board_column(user=user, process=process, stage=stage.key, owner_id=owner_id, limit=limit)
            column.deals, column.next_cursor = page.items, page.next_cursor
        columns.append(column)
    return Board(process=process, columns=columns)


def deal_history(*, deal: Deal) -> QuerySet[StageChange]:
    """Every move of a deal the caller has already fetched (so may see), newest first."""
    return (
        StageChange.objects.filter(record_type=RecordType.DEAL, record_id=deal.pk)
        .select_related("by", "version")
        .order_by("-at", "-id")
    )


def lost_reasons(*, include_inactive: bool = False) -> QuerySet[LostReason]:
    qs = LostReason.objects.all()
    return qs if include_inactive else qs.filter(active=True)
