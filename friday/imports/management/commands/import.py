"""`friday import FILE`: import parties from a CSV, XLSX or vCard file, with a progress bar; `--undo ID` takes an
import back. The same services as the import page: the same mapping, checks, matching and report."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from friday.accounts.models import Role, User
from friday.core.errors import FridayError
from friday.imports import mapping as mapping_module
from friday.imports import services
from friday.imports.models import ImportJob, ImportMapping, ImportStatus, MatchOn, OnMatch
from friday.parties.models import RoleName


class Command(BaseCommand):
    help = "Import parties from a CSV, XLSX or vCard file (or undo an import with --undo ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="The file to import (.csv, .xlsx, .vcf)")
        parser.add_argument("--user", help="Who imports (owner of the new records). Default: the only admin")
        parser.add_argument("--mapping", help="A saved mapping's name (default: recognise the headers)")
        parser.add_argument(
            "--match",
            choices=["email", "phone", "external_id", "none"],
            help="Find existing records by this (default: the id if a column holds one, else email, else phone)",
        )
        parser.add_argument(
            "--on-match",
            choices=["create", "update", "skip"],
            default="skip",
            help="What a match does (default: skip — an import changes nothing you have unless told to)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; write nothing")
        parser.add_argument("--source", help="Where the file's ids come from (hubspot, google …)")
        parser.add_argument("--encoding", help="The file's encoding, if the guess is wrong (e.g. cp1252)")
        parser.add_argument("--delimiter", help="The CSV separator, if the guess is wrong (, ; tab |)")
        parser.add_argument(
            "--date-order", choices=["dmy", "mdy"], help="Day or month first in dates like 01/02/2026"
        )
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=[r.value for r in RoleName],
            help="Give every row's record this role too (repeat for several)",
        )
        parser.add_argument(
            "--tag", action="append", default=[], help="Give every row's record this tag too (repeatable)"
        )
        parser.add_argument(
            "--background", action="store_true", help="Queue it for `friday worker` and return"
        )
        parser.add_argument("--undo", type=int, metavar="ID", help="Undo the import with this number")

    def handle(self, *args, file: str | None, **options) -> None:
        console = Console(stderr=False)
        user = self._user(options["user"])
        try:
            if options["undo"]:
                self._undo(user, options["undo"], console)
                return
            if not file:
                raise CommandError("Give the file to import (or --undo ID).")
            self._import(user, Path(file), options, console)
        except FridayError as exc:
            raise CommandError(exc.detail) from exc

    def _user(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        admins = list(User.objects.filter(is_active=True).filter(role=Role.ADMIN)) or list(
            User.objects.filter(is_active=True, is_superuser=True)
        )
        if len(admins) != 1:
            raise CommandError("Say who imports with --user USERNAME.")
        return admins[0]

    def _import(self, user: User, path: Path, options: dict, console: Console) -> None:
        if not path.is_file():
            raise CommandError(f"No file {str(path)!r}.")
        saved = None
        if options["mapping"]:
            saved = ImportMapping.objects.filter(name=options["mapping"]).first()
            if saved is None:
                names = ", ".join(ImportMapping.objects.values_list("name", flat=True)) or "none saved yet"
                raise CommandError(f"No saved mapping {options['mapping']!r} ({names}).")
        with path.open("rb") as handle:
            job = services.import_upload(
                by=user,
                upload=handle,
                filename=path.name,
                size=os.path.getsize(path),
                origin="cli",
                saved_mapping=saved,
            )
        match = options["match"]
        settings = services.Settings(
            mapping=job.mapping,
            match_on=job.match_on if match is None else ("" if match == "none" else match),
            on_match=options["on_match"] or OnMatch.SKIP,
            date_order=options["date_order"] or job.date_order,
            source=options["source"] or job.source,
            encoding=options["encoding"] or "",
            delimiter="\t" if options["delimiter"] == "tab" else (options["delimiter"] or ""),
            roles=options["role"],
            tags=options["tag"],
        )
        job = services.import_configure(by=user, job=job, data=settings)
        self._show_mapping(job, console)
        job = services.import_start(
            by=user, job=job, dry_run=options["dry_run"], enqueue=options["background"]
        )
        if options["background"]:
            console.print(f"Import #{job.pk} queued: `friday worker` runs it. Follow it on the imports page.")
            return
        with Progress(
            TextColumn(f"[bold]{'dry run' if job.dry_run else 'import'} #{job.pk}"),
            BarColumn(),
            DownloadColumn(),  # of the file read (bytes, as MB): its rows are not counted before the end
            TextColumn("{task.fields[rows]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("import", total=job.size or None, rows="")

            def tick(current: ImportJob) -> None:
                progress.update(
                    bar,
                    completed=current.progress_done,
                    total=current.progress_total or None,
                    rows=_rows(current.rows_read),
                )

            done = services.import_run(job_id=job.pk, progress=tick)
        if done is None:
            raise CommandError(f"Import #{job.pk} is being run by a worker already.")
        self._summary(done, console)
        if done.status != ImportStatus.DONE:
            raise CommandError(done.error or "The import stopped.")

    def _show_mapping(self, job: ImportJob, console: Console) -> None:
        table = Table(title=f"{job.filename}: {job.detected or 'columns'} → Friday", show_edge=False)
        table.add_column("column")
        table.add_column("imported as")
        labels = {t.key: t.label for t in mapping_module.TARGETS}
        for header, target in zip(job.headers, job.mapping, strict=False):
            table.add_row(header, labels.get(target, target) if target else "[dim]not imported[/dim]")
        console.print(table)
        match = MatchOn(job.match_on).label if job.match_on else "nothing (every row creates a record)"
        console.print(f"Matching on: {match}; on a match: {OnMatch(job.on_match).label.lower()}.")

    def _summary(self, job: ImportJob, console: Console) -> None:
        verb = "would be " if job.dry_run else ""
        console.print(
            f"[bold]{_rows(job.rows_read)} read[/bold]: {job.created:,} {verb}created, {job.updated:,} {verb}updated"
            + (f" ({job.updated_unchanged:,} already up to date)" if job.updated_unchanged else "")
            + f", {job.skipped:,} skipped ({job.skipped_empty:,} empty), {job.failed:,} failed."
        )
        if job.organisations_created:
            console.print(f"{job.organisations_created:,} organisations {verb}created for company names.")
        if job.failed:
            console.print("Failed rows (row, column, reason):")
            for n, row in enumerate(services.failures_rows(job)):
                if n >= 20:
                    console.print(f"… and more: download them all from the import's page (import #{job.pk}).")
                    break
                reason = str(row[2]).replace("\n", "; ")
                console.print(f"  row {row[0]}: {row[1] or '—'}: {reason}")
        if not job.dry_run and job.status == ImportStatus.DONE:
            console.print(f"Undo it with: friday import --undo {job.pk}")

    def _undo(self, user: User, job_id: int, console: Console) -> None:
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"No import #{job_id}.")
        job = services.import_undo(by=user, job=job)
        summary = job.undo_summary
        console.print(
            f"Import #{job.pk} undone: {summary['deleted']:,} records deleted, {summary['restored']:,} restored."
        )
        if summary.get("kept_count"):
            console.print(
                f"{summary['kept_count']:,} created records were kept: they have been worked on since "
                f"(e.g. #{', #'.join(map(str, summary['kept'][:10]))})."
            )
        if summary.get("kept_fields"):
            console.print(
                f"{summary['kept_fields']:,} fields changed again since the import were left as they are."
            )


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"
