"""`friday process check|draw|schema|starter|import|export|list`: process files and the processes in Friday.

`check FILE` lints a file (exit 1 on errors, for the business's own CI); `import FILE` creates or updates a
process and publishes it; `export KEY` prints a published version as YAML that imports back unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from friday.accounts.models import User
from friday.accounts.selectors import acting_user
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.processes import records
from friday.processes.definition import PROCESS_SCHEMA, InvalidDefinition, ProcessDefinition, load
from friday.processes.drawing import to_dot, to_mermaid
from friday.processes.lint import ERROR, has_errors, lint
from friday.processes.models import Process
from friday.processes.services import process_import, process_lint
from friday.processes.templates import STARTERS, starter_text


class Command(BaseCommand):
    help = "Check process files, print the process JSON Schema, or print a starter process."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="Check a process file; exits 1 when it has errors")
        check.add_argument("file", help="A process in YAML ('-' reads standard input)")
        draw = sub.add_parser("draw", help="Print a process file as a flowchart (Mermaid or Graphviz DOT)")
        draw.add_argument("file", help="A process in YAML ('-' reads standard input)")
        draw.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
        sub.add_parser("schema", help="Print the JSON Schema process files are validated against")
        start = sub.add_parser("starter", help="Print a starter process as YAML (or --install it)")
        start.add_argument("name", choices=STARTERS)
        start.add_argument("--install", action="store_true", help="Import and publish it")
        start.add_argument(
            "--by", help="Username of the admin or manager doing it (default: the first admin)"
        )
        imp = sub.add_parser("import", help="Create or update a process from a YAML file, and publish it")
        imp.add_argument("file", help="A process in YAML ('-' reads standard input)")
        imp.add_argument("--note", default="", help="What changed, kept with the version")
        imp.add_argument("--by", help="Username of the admin or manager doing it (default: the first admin)")
        exp = sub.add_parser("export", help="Print a published process as YAML (or JSON)")
        exp.add_argument("key", help="The process key, e.g. sales_pipeline")
        exp.add_argument("--version", type=int, help="A version number (default: the current one)")
        exp.add_argument("--format", choices=["yaml", "json", "mermaid", "dot"], default="yaml")
        sub.add_parser("list", help="List the processes, their versions and drafts")
        roll = sub.add_parser(
            "rollup", help="Recount the daily figures the analytics read (after a change of TIME_ZONE)"
        )
        roll.add_argument("key", nargs="?", help="One process (default: all)")

    def handle(self, *args, action: str, **options) -> None:
        if action == "schema":
            self.stdout.write(json.dumps(PROCESS_SCHEMA, indent=2))
        elif action == "starter" and options["install"]:
            self._import(starter_text(options["name"]), options["by"], "Starter")
        elif action == "starter":
            self.stdout.write(starter_text(options["name"]), ending="")
        elif action == "import":
            self._import(self._read(options["file"]), options["by"], options["note"])
        elif action == "export":
            self._export(options["key"], options["version"], options["format"])
        elif action == "list":
            self._list()
        elif action == "rollup":
            self._rollup(options["key"])
        elif action == "draw":
            process = self._load(options["file"])
            self.stdout.write(
                to_mermaid(process) if options["format"] == "mermaid" else to_dot(process), ending=""
            )
        else:
            self._check(options["file"])

    def _check(self, name: str) -> None:
        process = self._load(name)
        try:
            findings = process_lint(process)  # with the glossary and the record type's fields
        except DatabaseError:
            findings = lint(process, fields=records.requirement_names(process.applies_to))
        for finding in findings:
            (self.stderr if finding.severity == ERROR else self.stdout).write(str(finding))
        errors = sum(f.severity == ERROR for f in findings)
        summary = f"{process.name}: {len(process.stages)} stages, {errors} error(s), {len(findings) - errors} warning(s)."
        if has_errors(findings):
            raise CommandError(summary + " This is not a process yet.")
        self.stdout.write(summary)

    def _read(self, name: str) -> str:
        try:
            return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {name}: {exc}") from exc

    def _user(self, username: str | None) -> User:
        try:
            return acting_user(username)
        except NotFound as exc:
            raise CommandError(exc.detail) from exc

    def _import(self, text: str, username: str | None, note: str) -> None:
        try:
            process, version = process_import(by=self._user(username), source=text, note=note)
        except ValidationFailed as exc:
            for error in exc.errors:
                self.stderr.write(f"{error.field}: {error.detail}")
            raise CommandError(f"{len(exc.errors)} error(s); nothing was changed.") from exc
        except FridayError as exc:
            raise CommandError(f"{exc.detail} Nothing was changed.") from exc
        if version is None:
            self.stdout.write(
                f"{process.key}: unchanged (version {process.current.number if process.current else 0})."
            )
        else:
            self.stdout.write(f"{process.key}: published version {version.number}.")
        if process.current is not None:
            # Warnings do not stop a publish, but the business should still hear about them.
            for finding in process_lint(process.current.definition):
                self.stderr.write(
                    f"{finding.severity} {finding.subject}: {finding.message} Fix: {finding.fix}"
                )

    def _rollup(self, key: str | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from friday.processes import rollup
        from friday.processes.models import StageChange

        process = None
        if key:
            process = Process.objects.filter(key=key).first()
            if process is None:
                raise CommandError(f"No process {key!r}.")
        total = StageChange.objects.filter(**({"process": process} if process else {})).count()
        with Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("moves", total=total)
            read = rollup.rebuild(process, progress=lambda n: progress.advance(task, n))
        self.stdout.write(f"Recounted {read:,} moves{f' of {key}' if key else ''}.")

    def _export(self, key: str, number: int | None, fmt: str) -> None:
        process = Process.objects.filter(key=key).first()
        if process is None:
            known = ", ".join(Process.objects.values_list("key", flat=True)) or "none yet"
            raise CommandError(f"No process {key!r}; there are: {known}.")
        version = process.versions.filter(number=number).first() if number else process.current
        if version is None:
            raise CommandError(
                f"{key} has no version {number}." if number else f"{key} is not published yet."
            )
        if fmt == "yaml":
            self.stdout.write(version.source, ending="")
        elif fmt == "json":
            self.stdout.write(json.dumps(yaml.safe_load(version.source), indent=2, ensure_ascii=False))
        else:
            draw = to_mermaid if fmt == "mermaid" else to_dot
            self.stdout.write(draw(version.definition), ending="")

    def _list(self) -> None:
        for process in Process.objects.select_related("current"):
            number = process.current.number if process.current else "-"
            draft = "  (draft pending)" if process.draft else ""
            self.stdout.write(f"{process.key:24} {process.applies_to:6} v{number}  {process.name}{draft}")

    def _load(self, name: str) -> ProcessDefinition:
        text = self._read(name)
        try:
            return load(text)
        except InvalidDefinition as exc:
            for error in exc.errors:
                self.stderr.write(f"{name}: {error}")
            raise CommandError(f"{name}: {len(exc.errors)} error(s); nothing was checked further.") from exc
