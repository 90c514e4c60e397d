"""`friday bench import`: the CSV import rate with validation and matching over the bench dataset, and the
import's memory on a big file.

Targets (issue 7): ≥ 10,000 rows/s with validation and matching against 100k existing parties on SQLite; memory
flat on 1M rows. Two shapes of Google Contacts export are timed:

- **plain**: a name and an email per row — the common "my contacts" file;
- **full**: every row also has a valid UK phone number (so every row pays for the phone check too), a third
  name a company (linked or created), a fifth carry a tag.

In both, a fifth of the rows use the email of an existing party, so matching finds them and updates them (their
names change: the heavier kind of update). The memory run (`--big`) uses the full shape.

Each import runs in a fresh `friday bench import --child` process, so its peak memory (the kernel's VmHWM) is
the import's alone; the child also samples its resident memory as it goes. Everything an import wrote is undone
afterwards (the undo is timed too). On SQLite each run works on a fresh copy of the database (deleted after), so
the runs do not measure each other's history and the database is left as it was.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError, words

HEADER = [
    "First Name",
    "Last Name",
    "Organization Name",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
]
# Ofcom's drama ranges: every number in them is valid for libphonenumber (see bench/generate.py).
PHONE_PREFIXES = [
    "0161 496",
    "020 7946",
    "0113 496",
    "0117 496",
    "0121 496",
    "0131 496",
    "0141 496",
    "0151 496",
]


PLAIN_HEADER = ["First Name", "Last Name", "E-mail 1 - Value"]
SHAPES = ("plain", "full")


@dataclass
class Run:
    shape: str
    rows: int
    seconds: float
    rows_per_s: float
    created: int
    updated: int
    skipped: int
    failed: int
    peak_rss_mb: float
    pool_peak_rss_mb: float = 0.0
    cpu: float = 0.0
    pool_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    rss_samples_mb: list[tuple[int, float]] = field(default_factory=list)
    undo_seconds: float = 0.0
    existing: int = 0


def write_csv(path: Path, rows: int, existing_emails: list[str], seed: int, shape: str = "full") -> None:
    rng = random.Random(seed)
    companies = [
        f"{rng.choice(words.FAMILY_NAMES)} {rng.choice(['Ltd', 'Plumbing', 'Builders', 'Estates'])}"
        for _ in range(500)
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER if shape == "full" else PLAIN_HEADER)
        for i in range(rows):
            given, family = rng.choice(words.GIVEN_NAMES), rng.choice(words.FAMILY_NAMES)
            if existing_emails and i % 5 == 0:
                email = existing_emails[(i // 5) % len(existing_emails)]
            else:
                email = f"{given}.{family}.{i}@import.example".lower().replace(" ", "").replace("'", "")
            phone = f"{rng.choice(PHONE_PREFIXES)} {i % 10000:04d}"
            if shape == "plain":
                writer.writerow([given, family, email])
                continue
            writer.writerow(
                [
                    given,
                    family,
                    rng.choice(companies) if i % 3 == 0 else "",
                    "* myContacts ::: Imported" if i % 5 == 1 else "* myContacts",
                    "Work",
                    email,
                    "Work",
                    phone,
                ]
            )


def _user():
    from friday.accounts.models import User

    user = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    if user is None:
        raise BenchError("Run `friday bench generate` first (the import runs as the bench admin).")
    return user


def child(path: str, on_match: str) -> dict[str, Any]:
    """Run one import in this process and report its figures and memory (called in a fresh process)."""
    from friday.imports import services

    user = _user()
    samples: list[tuple[int, float]] = []
    with open(path, "rb") as handle:
        job = services.import_upload(
            by=user, upload=handle, filename=Path(path).name, size=os.path.getsize(path)
        )
    if "email" not in job.mapping:
        raise BenchError(
            f"the e-mail column was not recognised ({job.headers} → {job.mapping}): nothing would match"
        )
    job = services.import_configure(
        by=user,
        job=job,
        data=services.Settings(mapping=job.mapping, match_on="email", on_match=on_match, source=job.source),
    )
    job = services.import_start(by=user, job=job, dry_run=False, enqueue=False)
    next_sample = [0]

    def tick(current) -> None:
        if current.rows_read >= next_sample[0]:
            samples.append((current.rows_read, _rss_mb("VmRSS")))
            next_sample[0] = current.rows_read + 10_000

    import resource

    load_before = os.getloadavg()[0]
    began, cpu = time.perf_counter(), time.process_time()
    done = services.import_run(job_id=job.pk, progress=tick)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    pool = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done is not None
    return {
        "job": done.pk,
        "rows": done.rows_read,
        "seconds": seconds,
        "created": done.created,
        "updated": done.updated,
        "skipped": done.skipped,
        "failed": done.failed,
        "status": done.status,
        "error": done.error,
        "peak_rss_mb": _rss_mb("VmHWM"),
        "pool_peak_rss_mb": pool.ru_maxrss / 1024,
        "cpu": cpu,
        "pool_cpu": pool.ru_utime + pool.ru_stime,
        "load": [load_before, os.getloadavg()[0]],
        "samples": samples,
    }


def undo_child(job_id: int) -> dict[str, Any]:
    from friday.imports import services
    from friday.imports.models import ImportJob

    began = time.perf_counter()
    job = services.import_undo(by=_user(), job=ImportJob.objects.get(pk=job_id))
    return {"seconds": time.perf_counter() - began, "summary": job.undo_summary}


def _rss_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _spawn(args: list[str], console: Console, database: Path | None = None) -> dict[str, Any]:
    friday = Path(sys.executable).parent / "friday"
    env = os.environ.copy()
    if database is not None:
        env["FRIDAY_DATABASE_URL"] = f"sqlite:///{database}"
    done = subprocess.run([str(friday), "bench", "import", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BenchError(f"the import process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _copy_database(into: Path) -> Path:
    """A copy of the SQLite database for one run: an undo gives back the records, but the import's history (its
    records, the timeline entries of the updates and of the undo) stays, and a bench run after run would measure
    an ever bigger database. Each run starts from the same one instead."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = into / "bench-copy.sqlite3"
    shutil.copyfile(settings.DATABASES["default"]["NAME"], copy)
    # The copy's pages are on their way to the disk: let them get there before the timed import starts, or the
    # kernel's writing them out competes with it (runs right after a copy varied by 15%).
    os.sync()
    return copy


def run(*, rows: int, big: int, on_match: str, seed: int, console: Console) -> list[Run]:
    from friday.parties.models import EmailAddress, Party

    _user()
    existing = Party.objects.count()
    if existing < 100_000:
        console.print(
            f"[yellow]Only {existing:,} parties here: the target is measured against 100,000 "
            "(`friday bench generate`, or a copy of a generated database).[/yellow]"
        )
    sample = list(EmailAddress.objects.order_by("id").values_list("address", flat=True)[: max(1, rows // 5)])
    results = []
    with tempfile.TemporaryDirectory(prefix="friday-bench-import-") as tmp:
        for shape, size in [("plain", rows), ("full", rows), *([("full", big)] if big else [])]:
            path = Path(tmp) / f"contacts-{shape}-{size}.csv"
            with console.status(f"Writing a {size:,}-row Google Contacts CSV ({shape})…"):
                write_csv(path, size, sample, seed, shape)
            console.print(f"{path.name}: {path.stat().st_size / 1e6:,.1f} MB")
            database = _copy_database(Path(tmp)) if connection.vendor == "sqlite" else None
            with console.status(f"Importing {size:,} rows (in a fresh process)…"):
                out = _spawn(["--child", str(path), "--on-match", on_match], console, database)
            if out["status"] != "done":
                raise BenchError(f"the import stopped: {out['error']}")
            with console.status(f"Undoing import #{out['job']}…"):
                undo = _spawn(["--undo-child", str(out["job"])], console, database)
            if database is not None:
                for leftover in database.parent.glob(database.name + "*"):
                    leftover.unlink()
            results.append(
                Run(
                    shape=shape,
                    rows=out["rows"],
                    seconds=out["seconds"],
                    rows_per_s=out["rows"] / out["seconds"],
                    created=out["created"],
                    updated=out["updated"],
                    skipped=out["skipped"],
                    failed=out["failed"],
                    peak_rss_mb=out["peak_rss_mb"],
                    pool_peak_rss_mb=out["pool_peak_rss_mb"],
                    cpu=out["cpu"],
                    pool_cpu=out["pool_cpu"],
                    load=tuple(out["load"]),
                    rss_samples_mb=[tuple(s) for s in out["samples"]],
                    undo_seconds=undo["seconds"],
                    existing=existing,
                )
            )
    return results


def report(results: list[Run], console: Console) -> None:
    table = Table(
        "file",
        "rows",
        "seconds",
        "rows/s",
        "created",
        "updated",
        "skipped",
        "failed",
        "CPU s (writer)",
        "CPU s (checkers)",
        "peak RSS MB (writer / a checker)",
        "load before/after",
        "undo s",
    )
    for r in results:
        table.add_row(
            r.shape,
            f"{r.rows:,}",
            f"{r.seconds:,.1f}",
            f"{r.rows_per_s:,.0f}",
            f"{r.created:,}",
            f"{r.updated:,}",
            f"{r.skipped:,}",
            f"{r.failed:,}",
            f"{r.cpu:,.1f}",
            f"{r.pool_cpu:,.1f}",
            f"{r.peak_rss_mb:,.0f} / {r.pool_peak_rss_mb:,.0f}",
            f"{r.load[0]:.1f} / {r.load[1]:.1f}",
            f"{r.undo_seconds:,.1f}",
        )
    console.print(
        f"{connection.vendor}, {results[0].existing:,} parties before; {os.cpu_count()} CPUs; data in {settings.DATA_DIR}"
    )
    console.print(table)
    for first in results[:2]:
        verdict = "yes" if first.rows_per_s >= 10_000 else "NO"
        console.print(
            f"Rate ≥ 10,000 rows/s, {first.shape} file: {verdict} ({first.rows_per_s:,.0f} rows/s on {first.rows:,} rows). "
            # What the machine's other work does not change: the writer's CPU per row bounds the rate on idle cores.
            f"Writer CPU {first.cpu / first.rows * 1e6:,.0f} µs/row, checkers {first.pool_cpu / first.rows * 1e6:,.0f} µs/row: "
            f"on an idle machine the writer bounds it at ~{first.rows / max(first.cpu, 1e-9):,.0f} rows/s."
        )
    for r in results:
        if r.rss_samples_mb:
            step = max(1, len(r.rss_samples_mb) // 10)
            shown = r.rss_samples_mb[::step]
            points = ", ".join(f"{n:,}: {mb:,.0f}" for n, mb in shown)
            console.print(f"RSS (MB) as the {r.rows:,}-row {r.shape} import went: {points}")
