"""`friday insights recompute`: every customer's figures, in resumable batches, with a progress bar.
`friday insights adoption`: the weekly adoption figures from history (the hourly job keeps them after that)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from friday.insights import adoption, metrics


class Command(BaseCommand):
    help = (
        "Customer figures: `recompute` rebuilds them all (resuming an interrupted run), `sweep` applies new "
        "events; `adoption` computes the weekly adoption figures from history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{recompute,sweep,adoption}")
        recompute = actions.add_parser(
            "recompute", help="Recompute every customer's figures (resumes a stopped run)"
        )
        recompute.add_argument("--restart", action="store_true", help="Start afresh instead of resuming")
        recompute.add_argument(
            "--batch", type=int, default=metrics.BATCH, help="Parties per batch (transaction)"
        )
        actions.add_parser("sweep", help="Recompute the customers that new events touched")
        weekly = actions.add_parser(
            "adoption", help="Compute the weekly adoption figures of the last weeks (those not final yet)"
        )
        weekly.add_argument(
            "--weeks", type=int, default=adoption.WEEKS, help="How many weeks back (this one too)"
        )
        weekly.add_argument("--redo", action="store_true", help="Recompute final weeks too")

    def handle(self, *args, action: str, **options) -> None:
        if action == "sweep":
            self.stdout.write(f"{metrics.sweep()} customer(s) recomputed.")
            return
        if action == "adoption":
            self._adoption(weeks=max(1, options["weeks"]), redo=options["redo"])
            return
        with Progress(
            TextColumn("[bold]customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task("recompute", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = metrics.recompute(
                batch=max(1, options["batch"]), restart=options["restart"], progress=tick
            )
        run = result.run
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0
        self.stdout.write(
            f"{'Resumed and finished' if result.resumed else 'Finished'}: {run.parties_done:,} parties looked at, "
            f"{metrics.CustomerMetrics.objects.count():,} customers, in {seconds:.1f} s."
        )

    def _adoption(self, *, weeks: int, redo: bool) -> None:
        began = time.perf_counter()
        with Progress(
            TextColumn("[bold]weeks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("adoption", total=weeks)
            written = adoption.backfill(weeks=weeks, redo=redo, progress=lambda week: progress.advance(task))
        self.stdout.write(
            f"{len(written)} week(s) written ({', '.join(w.isoformat() for w in written) or 'all were final'}) "
            f"in {time.perf_counter() - began:.1f} s."
        )
