"""`friday parties dedupe-scan`: find likely duplicate parties now, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from friday.duplicates import services


class Command(BaseCommand):
    help = (
        "Parties: `dedupe-scan` finds likely duplicates (the parties changed since the last scan, or --full)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{dedupe-scan}")
        scan = actions.add_parser("dedupe-scan", help="Find likely duplicate parties and list them")
        scan.add_argument(
            "--full",
            action="store_true",
            help="Look at every party, not only those changed since the last scan",
        )

    def handle(self, *args, action: str, **options) -> None:
        with Progress(
            TextColumn("[bold]{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=None,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=max(total, 1))
                progress.update(tasks[stage], completed=done, total=max(total, 1))

            record = services.duplicates_scan(full=options["full"], progress=tick)
        kind = "Full scan" if record.full else "Incremental scan"
        pairs = f"{record.pairs:,} likely duplicate pair{'' if record.pairs == 1 else 's'}"
        line = f"{kind}: {record.parties:,} parties, {pairs} in {record.seconds or 0:.1f} s."
        if record.skipped_groups:
            line += (
                f" {record.skipped_groups:,} group(s) too large to be one party were left out "
                "(an address or number shared by many records)."
            )
        self.stdout.write(line)
