"""`friday bench dedupe`: the duplicate scan over the bench book, the duplicates page, and the merge of a party with
many records.

Targets (issue 7): a full scan of 100k parties ≤ 30 s. Measured in-process on whatever database FRIDAY_DATA_DIR /
FRIDAY_DATABASE_URL point at — run it on a copy: it writes pairs, and it merges two parties for real.

- planted duplicates: the generator makes every email and phone unique, so `plant` pairs of people are made to
  share one (half an email, half a phone; bulk inserted, as the services would store them) and the full scan
  must find every one of them;
- full scan: `duplicates_scan(full=True)`, `runs` times (each replaces the stored pairs);
- incremental scan: after `touch` parties have their updated_at moved (as an edit does);
- the duplicates page, as the bench manager (sees all) and as a team member (scoped);
- the merge: the bench party with the most deals, jobs and invoices, given `extra` more timeline entries (bulk
  inserted, the benchmark's exception to "services only"), merged into another party of the same kind. What moved
  is counted, and every relation to the merged-away party is checked empty afterwards.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.test import Client
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from bench.processes import Timing
from friday.accounts.models import Role, User
from friday.core import clock
from friday.duplicates import relations
from friday.duplicates.models import DuplicatePair, DuplicateScan
from friday.duplicates.services import duplicates_scan, party_merge
from friday.parties.models import Activity, ActivityKind, EmailAddress, Party, PartyKind, Phone


@dataclass
class Result:
    vendor: str
    parties: int
    full: list[DuplicateScan] = field(default_factory=list)
    incremental: DuplicateScan | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    pages: list[Timing] = field(default_factory=list)
    merge_seconds: float = 0.0
    merge_moved: dict[str, int] = field(default_factory=dict)
    merge_left: int = 0
    merge_names: tuple[str, str] = ("", "")
    planted: int = 0
    planted_found: int = 0


def _users() -> tuple[User, User]:
    manager = User.objects.filter(username=f"{BENCH_USER_PREFIX}manager").first()
    member = (
        User.objects.filter(username__startswith=BENCH_USER_PREFIX, role=Role.MEMBER).order_by("pk").first()
    )
    if manager is None or member is None:
        raise BenchError("Run `friday bench generate` first (on a copy: this benchmark writes).")
    return manager, member


def _timed(runs: int, fn: Any) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        cache.clear()
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def _heaviest() -> Party:
    """The bench party with the most deals, jobs and invoices (one grouped query per table)."""
    from friday.billing.models import Invoice
    from friday.deals.models import Deal
    from friday.jobs.models import Job

    totals: Counter[int] = Counter()
    for model in (Deal, Job, Invoice):
        for row in model.objects.values("party_id").annotate(n=Count("id")).order_by("-n")[:200]:
            totals[row["party_id"]] += row["n"]
    if not totals:
        raise BenchError(
            "The bench book has no deals, jobs or invoices: run `friday bench processes --generate`."
        )
    return Party.objects.get(pk=totals.most_common(1)[0][0])


def _plant(count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Make `count` pairs of people share an email (half) or a phone (the other half). Returns the pairs."""
    emails = dict(
        EmailAddress.objects.filter(is_primary=True, party__kind=PartyKind.PERSON).values_list(
            "party_id", "address"
        )
    )
    phones = dict(
        Phone.objects.filter(is_primary=True, party__kind=PartyKind.PERSON).values_list("party_id", "number")
    )
    people = sorted(set(emails) & set(phones))
    chosen = rng.sample(people, min(2 * count, len(people) - len(people) % 2))
    pairs = [(chosen[i], chosen[i + 1]) for i in range(0, len(chosen), 2)]
    half = len(pairs) // 2
    EmailAddress.objects.bulk_create([EmailAddress(party_id=b, address=emails[a]) for a, b in pairs[:half]])
    Phone.objects.bulk_create([Phone(party_id=b, number=phones[a]) for a, b in pairs[half:]])
    return [(min(a, b), max(a, b)) for a, b in pairs]


def run(*, runs: int, touch: int, extra: int, plant: int, seed: int, console: Console) -> Result:
    manager, member = _users()
    result = Result(vendor=connection.vendor, parties=Party.objects.count())
    rng = random.Random(seed)
    planted = _plant(plant, rng) if plant else []
    for i in range(runs):
        with console.status(f"full scan {i + 1} of {runs}…"):
            result.full.append(duplicates_scan(full=True, by=manager))
    found = set()
    for a, b, reasons in DuplicatePair.objects.values_list("party_a_id", "party_b_id", "reasons").iterator(
        10_000
    ):
        found.add((a, b))
        for r in reasons:
            result.reasons[r["code"]] += 1
    result.planted, result.planted_found = len(planted), sum(1 for p in planted if p in found)

    ids = list(Party.objects.values_list("pk", flat=True))
    touched = rng.sample(ids, min(touch, len(ids)))
    Party.objects.filter(pk__in=touched).update(updated_at=clock.now())
    with console.status(f"incremental scan of {len(touched):,} changed parties…"):
        result.incremental = duplicates_scan(by=manager)

    for who, user in (("manager", manager), ("member", member)):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def get(url: str, client: Client = client) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise BenchError(f"{url} answered {response.status_code}")

        result.pages.append(
            Timing(f"duplicates page ({who})", _timed(10, lambda get=get: get("/parties/duplicates/")), 150)
        )
        result.pages.append(
            Timing(
                f"GET /api/v1/duplicates ({who})", _timed(10, lambda get=get: get("/api/v1/duplicates")), 150
            )
        )

    other = _heaviest()
    survivor = Party.objects.filter(kind=other.kind).exclude(pk=other.pk).order_by("pk").first()
    assert survivor is not None
    now = clock.now()
    Activity.objects.bulk_create(
        [
            Activity(
                party=other,
                kind=ActivityKind.NOTE,
                subject=f"Bench note {i}",
                occurred_at=now,
                created_at=now,
                author=manager,
            )
            for i in range(extra)
        ],
        batch_size=5000,
    )
    result.merge_names = (survivor.display_name, other.display_name)
    with console.status(f"merging {other.display_name} into {survivor.display_name}…"):
        began = time.perf_counter()
        merge = party_merge(by=manager, survivor=survivor, other=other)
        result.merge_seconds = time.perf_counter() - began
    result.merge_moved = merge.moved
    result.merge_left = sum(
        r.model._default_manager.filter(**{r.field.name: other.pk}).count()
        for r in relations.party_relations()
    )
    return result


def report(result: Result, console: Console) -> None:
    console.print(f"{result.vendor}: {result.parties:,} parties.")
    table = Table("scan", "parties", "pairs", "left out", "seconds", "target s", "ok")
    for i, scan in enumerate(result.full, 1):
        seconds = scan.seconds or 0
        table.add_row(
            f"full #{i}",
            f"{scan.parties:,}",
            f"{scan.pairs:,}",
            f"{scan.skipped_groups:,}",
            f"{seconds:.1f}",
            "30",
            "yes" if seconds <= 30 else "NO",
        )
    if result.incremental is not None:
        inc = result.incremental
        table.add_row(
            "incremental" if not inc.full else "incremental (ran full)",
            f"{inc.parties:,}",
            f"{inc.pairs:,}",
            f"{inc.skipped_groups:,}",
            f"{inc.seconds or 0:.2f}",
            "",
            "",
        )
    console.print(table)
    console.print(
        "Pairs by reason: " + ", ".join(f"{code} {n:,}" for code, n in sorted(result.reasons.items()))
    )
    if result.planted:
        console.print(f"Planted duplicates found: {result.planted_found:,} of {result.planted:,}.")
    pages = Table("page", "median ms", "p95 ms", "target ms", "ok")
    for t in result.pages:
        ok = "" if t.target_ms is None else ("yes" if t.p95_ms <= t.target_ms else "NO")
        pages.add_row(t.name, f"{t.median_ms:.1f}", f"{t.p95_ms:.1f}", f"{t.target_ms or 0:.0f}", ok)
    console.print(pages)
    survivor, other = result.merge_names
    moved = sum(result.merge_moved.values())
    console.print(
        f"Merge of {other!r} into {survivor!r}: {moved:,} rows moved in {result.merge_seconds:.2f} s "
        f"({', '.join(f'{k} {v:,}' for k, v in result.merge_moved.items())}); "
        f"rows still pointing at the merged-away party: {result.merge_left}."
    )
