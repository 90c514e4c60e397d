"""`friday insights recompute`: every customer's figures, in resumable batches, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from friday.insights import metrics


class Command(BaseCommand):
    help = "Customer figures: `recompute` rebuilds them all (resuming an interrupted run), `sweep` applies new events."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{recompute,sweep}")
        recompute = actions.add_parser(
            "recompute", help="Recompute every customer's figures (resumes a stopped run)"
        )
        recompute.add_argument("--restart", action="store_true", help="Start afresh instead of resuming")
        recompute.add_argument(
            "--batch", type=int, default=metrics.BATCH, help="Parties per batch (transaction)"
        )
        actions.add_parser("sweep", help="Recompute the customers that new events touched")

    def handle(self, *args, action: str, **options) -> None:
        if action == "sweep":
            self.stdout.write(f"{metrics.sweep()} customer(s) recomputed.")
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
