"""`friday bench billing`: invoices at scale — the overdue sweep, the invoice list filtered by status, the PDF.

Generation writes with `bulk_create` (the benchmark's documented exception to "services are the only write
path"): `--invoices` invoices (default 200k) over the parties of `friday bench generate`, one to four lines each,
totals worked out by `billing.totals` exactly as the services do, issued over the past 400 days with 30-day
terms, mostly paid, some partially paid, some still open (and so overdue), a few drafts and voids. Every
invoice that was already overdue before yesterday is marked as notified, as a running sweep would have left it.

Measured in-process (no HTTP), targets from issue 5: the day's overdue sweep (`invoice.overdue` events for the
invoices that fell overdue since yesterday) ≤ 2 s; the list filtered by each status, first and a deep page, as
an admin and as a team member, p95 ≤ 50 ms; rendering one invoice's PDF with WeasyPrint ≤ 200 ms.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from friday.accounts.models import User
from friday.billing import documents, selectors, services
from friday.billing.models import Invoice, InvoiceLine, InvoiceStatus
from friday.billing.totals import line_net, totals_of
from friday.core import clock
from friday.core.models import DomainEvent
from friday.parties.models import Party

KEY = "bench:"
RATES = (Decimal(20), Decimal(20), Decimal(20), Decimal(5), Decimal(0))
WORDS = ("Boiler service", "Call-out", "Labour", "Parts", "Annual inspection", "Repair", "Filter", "Valve")


@dataclass
class Timing:
    name: str
    seconds: list[float]
    target_ms: float | None
    detail: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def generate(*, invoices: int, seed: int, batch: int, force: bool, console: Console) -> dict[str, Any]:
    if Invoice.objects.filter(key__startswith=KEY).exists():
        if not force:
            raise BenchError("Bench invoices exist already: use --force to make them again.")
        Invoice.objects.filter(key__startswith=KEY).delete()
        DomainEvent.objects.filter(name="invoice.overdue").delete()
    party_ids = list(Party.objects.order_by("pk").values_list("pk", flat=True)[:200_000])
    if not party_ids:
        raise BenchError("Run `friday bench generate` first (the invoices need its parties).")
    rng = random.Random(seed)
    began = time.perf_counter()
    now = clock.now()
    today = clock.local_date(now)
    counters: dict[int, int] = {}
    made = 0
    while made < invoices:
        size = min(batch, invoices - made)
        rows: list[Invoice] = []
        lines: list[list[InvoiceLine]] = []
        for i in range(made, made + size):
            issued = today - dt.timedelta(days=rng.randint(0, 400))
            due = issued + dt.timedelta(days=30)
            invoice_lines = []
            for position in range(rng.randint(1, 4)):
                quantity = Decimal(rng.choice(("1", "1", "2", "0.5", "3", "1.5")))
                price = Decimal(rng.randint(500, 90_000)) / 100
                rate = rng.choice(RATES)
                invoice_lines.append(
                    InvoiceLine(
                        position=position,
                        description=rng.choice(WORDS),
                        quantity=quantity,
                        unit_price=price,
                        tax_rate=rate,
                        net=line_net(quantity, price, "GBP"),
                    )
                )
            totals = totals_of(((x.net, x.tax_rate) for x in invoice_lines), "GBP")
            roll = rng.random()
            if roll < 0.02:
                status, paid = InvoiceStatus.DRAFT, Decimal(0)
            elif roll < 0.04:
                status, paid = InvoiceStatus.VOID, Decimal(0)
            elif due >= today or roll < 0.12:
                status, paid = InvoiceStatus.ISSUED, Decimal(0)
            elif roll < 0.17:
                status, paid = InvoiceStatus.PARTIALLY_PAID, (totals.total / 2).quantize(Decimal("0.01"))
            else:
                status, paid = InvoiceStatus.PAID, totals.total
            number = None
            if status != InvoiceStatus.DRAFT:
                counters[issued.year] = counters.get(issued.year, 0) + 1
                number = f"B{issued.year}-{counters[issued.year]:06d}"
            moment = dt.datetime.combine(issued, dt.time(10), tzinfo=clock.business_tz())
            open_ = status in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
            rows.append(
                Invoice(
                    party_id=rng.choice(party_ids),
                    number=number,
                    status=status,
                    currency="GBP",
                    issue_date=issued if number else None,
                    terms_days=30,
                    due_date=due if number else None,
                    subtotal=totals.subtotal,
                    tax=totals.tax,
                    total=totals.total,
                    paid=paid,
                    balance=totals.total - paid if open_ else Decimal(0),
                    void_reason="Raised in error" if status == InvoiceStatus.VOID else "",
                    key=f"{KEY}{i}",
                    # Overdue before yesterday: a running sweep has told automation already.
                    overdue_notified_at=now if open_ and due < today - dt.timedelta(days=1) else None,
                    created_at=moment,
                    updated_at=moment,
                    issued_at=moment if number else None,
                )
            )
            lines.append(invoice_lines)
        with transaction.atomic():
            Invoice.objects.bulk_create(rows)
            if connection.vendor == "sqlite":  # no RETURNING ids from bulk_create on older SQLite
                keys = {r.key: r for r in rows}
                for pk, key in Invoice.objects.filter(key__in=list(keys)).values_list("pk", "key"):
                    keys[key].pk = pk
            for row, invoice_lines in zip(rows, lines, strict=True):
                for x in invoice_lines:
                    x.invoice_id = row.pk
            InvoiceLine.objects.bulk_create([x for group in lines for x in group])
        made += size
        console.print(f"  {made:,} invoices", end="\r")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"invoices": made, "seconds": time.perf_counter() - began}


def _timed(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def run(*, runs: int, console: Console) -> list[Timing]:
    if not Invoice.objects.filter(key__startswith=KEY).exists():
        raise BenchError("Generate the invoices first: `friday bench billing --generate`.")
    admin = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    member = (
        User.objects.filter(username__startswith=BENCH_USER_PREFIX, role="member", is_active=True)
        .order_by("pk")
        .first()
    )
    if admin is None:
        raise BenchError("Run `friday bench generate` first (its users are needed).")
    timings: list[Timing] = []
    today = clock.today()

    # The day's overdue sweep: the invoices that fell due yesterday (or earlier, not yet told) become overdue.
    sweeps, emitted = [], 0
    for _ in range(runs):
        Invoice.objects.filter(due_date=today - dt.timedelta(days=1)).update(overdue_notified_at=None)
        DomainEvent.objects.filter(name="invoice.overdue").delete()
        began = time.perf_counter()
        emitted = services.overdue_sweep()
        sweeps.append(time.perf_counter() - began)
    timings.append(Timing("overdue sweep (a day)", sweeps, 2000, f"{emitted:,} invoice.overdue events"))

    # The list filtered by status: the first page and the page after, for an admin and a member.
    for user, who in ((admin, "admin"), (member, "member")):
        if user is None:
            continue
        for status in ("issued", "partially_paid", "paid", "overdue", "draft"):
            filters = selectors.InvoiceFilters(status=status)

            def page(user: User = user, filters: selectors.InvoiceFilters = filters) -> None:
                first = selectors.invoice_list(user=user, filters=filters, limit=50)
                if first.next_cursor:
                    selectors.invoice_list(user=user, filters=filters, cursor=first.next_cursor, limit=50)

            page()  # warm
            timings.append(Timing(f"list {status}, 2 pages ({who})", _timed(page, runs * 10), 50))

    # One invoice's PDF (after WeasyPrint's one-off import).
    sample = list(Invoice.objects.filter(key__startswith=KEY).exclude(number=None).order_by("?")[: runs * 5])
    documents.render_pdf(sample[0])
    pdfs = []
    for invoice in sample:
        began = time.perf_counter()
        documents.render_pdf(invoice)
        pdfs.append(time.perf_counter() - began)
    timings.append(Timing("PDF render, one invoice", pdfs, 200))
    return timings


def report(generated: dict[str, Any] | None, timings: list[Timing], console: Console) -> None:
    if generated:
        console.print(f"Generated {generated['invoices']:,} invoices in {generated['seconds']:.0f} s.")
    console.print(
        f"{connection.vendor}: {Invoice.objects.count():,} invoices, {InvoiceLine.objects.count():,} lines."
    )
    table = Table("measure", "median ms", "p95 ms", "target ms", "ok", "detail")
    for t in timings:
        ok = "" if t.target_ms is None else ("yes" if t.p95_ms <= t.target_ms else "NO")
        table.add_row(
            t.name,
            f"{t.median_ms:.1f}",
            f"{t.p95_ms:.1f}",
            f"{t.target_ms:.0f}" if t.target_ms else "",
            ok,
            t.detail,
        )
    console.print(table)
