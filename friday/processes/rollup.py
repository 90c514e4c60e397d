"""Daily roll-ups of the stage history, so process analytics read thousands of rows, not millions.

Every move updates three small tables in the move's own transaction (an upsert that adds to a counter, safe with
concurrent moves on both databases): `FunnelDay` (entries by where they went next), `MoveDay` (moves by edge,
person and kind) and `StayDay` (ended stays by length bucket). Days are business dates (`TIME_ZONE`).
`rebuild` recomputes them from `StageChange` — after a change of time zone, or a bulk load that wrote history
directly (the benchmark) — and `friday process rollup` runs it with a progress bar.

Stay lengths are kept in buckets — whole hours under two days, whole days under 60 days, whole weeks under a
year, then 30-day months — so time-in-stage percentiles are exact to that resolution, the same on both
databases, and cheap over any range.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from friday.core import clock
from friday.processes.models import FunnelDay, MoveDay, Process, StageChange, StayDay

HOUR, DAY, WEEK, MONTH = 3600, 86400, 7 * 86400, 30 * 86400


def bucket(seconds: int) -> int:
    """The lower bound, in seconds, of the bucket a stay of `seconds` falls in."""
    seconds = max(0, int(seconds))
    if seconds < 2 * DAY:
        return seconds // HOUR * HOUR
    if seconds < 60 * DAY:
        return seconds // DAY * DAY
    if seconds < 365 * DAY:
        return seconds // WEEK * WEEK
    return seconds // MONTH * MONTH


def day_of(at: dt.datetime) -> dt.date:
    return at.astimezone(clock.business_tz()).date()


def _upsert(model: type[Model], rows: Iterable[tuple[dict[str, Any], int]]) -> None:
    """Add n to each keyed row's counter, creating the row at n if it is missing."""
    rows = list(rows)
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    keys = list(rows[0][0])
    columns = ", ".join(quote(c) for c in [*keys, "n"])
    marks = ", ".join(["%s"] * (len(keys) + 1))
    # Only identifiers from the model's own metadata are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(quote(c) for c in keys)}) DO UPDATE SET n = {table}.n + excluded.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*key.values(), n] for key, n in rows])


def _funnel_key(change: StageChange, next_stage: str) -> dict[str, Any]:
    return {
        "process_id": change.process_id,
        "day": day_of(change.at),
        "to_stage": change.to_stage,
        "next_stage": next_stage,
    }


def _move_key(change: StageChange) -> dict[str, Any]:
    return {
        "process_id": change.process_id,
        "day": day_of(change.at),
        "actor": change.by_id or 0,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "declared": change.declared,
        "backward": change.backward,
        "overridden": change.overridden,
    }


def _stay_key(change: StageChange) -> dict[str, Any]:
    assert change.seconds_in_stage is not None
    return {
        "process_id": change.process_id,
        "day": day_of(change.at),
        "to_stage": change.to_stage,
        "bucket": bucket(change.seconds_in_stage),
    }


def on_move(change: StageChange, closed: StageChange | None) -> None:
    """A move was written: `change` is the new row, `closed` the stay it ended (now with next stage and length)."""
    if closed is not None and not closed.migrated:
        _upsert(FunnelDay, [(_funnel_key(closed, ""), -1), (_funnel_key(closed, closed.next_stage), 1)])
        _upsert(StayDay, [(_stay_key(closed), 1)])
    if not change.migrated:
        _upsert(FunnelDay, [(_funnel_key(change, change.next_stage), 1)])
        _upsert(MoveDay, [(_move_key(change), 1)])


def on_delete(change: StageChange) -> None:
    """A move's row was deleted (its deal was): take it out of the counts."""
    if change.migrated:
        return
    _upsert(FunnelDay, [(_funnel_key(change, change.next_stage), -1)])
    _upsert(MoveDay, [(_move_key(change), -1)])
    if change.seconds_in_stage is not None:
        _upsert(StayDay, [(_stay_key(change), -1)])


FIELDS = (
    "process_id",
    "at",
    "by_id",
    "from_stage",
    "to_stage",
    "next_stage",
    "declared",
    "backward",
    "overridden",
    "seconds_in_stage",
)


@transaction.atomic
def rebuild(process: Process | None = None, *, progress: Callable[[int], None] | None = None) -> int:
    """Recompute the roll-ups (of one process, or all) from StageChange, streaming. Returns the moves read."""
    changes = StageChange.objects.filter(migrated=False)
    targets: list[Any] = [FunnelDay, MoveDay, StayDay]
    for model in targets:
        (model.objects.filter(process=process) if process else model.objects.all()).delete()
    if process is not None:
        changes = changes.filter(process=process)
    funnel: Counter[tuple] = Counter()
    moves: Counter[tuple] = Counter()
    stays: Counter[tuple] = Counter()
    tz = clock.business_tz()
    read = 0
    for row in changes.order_by().values_list(*FIELDS).iterator(chunk_size=20_000):
        pid, at, by, src, dst, nxt, declared, backward, overridden, seconds = row
        day = at.astimezone(tz).date()
        funnel[(pid, day, dst, nxt)] += 1
        moves[(pid, day, by or 0, src, dst, declared, backward, overridden)] += 1
        if seconds is not None:
            stays[(pid, day, dst, bucket(seconds))] += 1
        read += 1
        if progress and read % 20_000 == 0:
            progress(20_000)
    if progress:
        progress(read % 20_000)
    FunnelDay.objects.bulk_create(
        [
            FunnelDay(process_id=k[0], day=k[1], to_stage=k[2], next_stage=k[3], n=n)
            for k, n in funnel.items()
        ],
        batch_size=5000,
    )
    MoveDay.objects.bulk_create(
        [
            MoveDay(
                process_id=k[0],
                day=k[1],
                actor=k[2],
                from_stage=k[3],
                to_stage=k[4],
                declared=k[5],
                backward=k[6],
                overridden=k[7],
                n=n,
            )
            for k, n in moves.items()
        ],
        batch_size=5000,
    )
    StayDay.objects.bulk_create(
        [StayDay(process_id=k[0], day=k[1], to_stage=k[2], bucket=k[3], n=n) for k, n in stays.items()],
        batch_size=5000,
    )
    return read
