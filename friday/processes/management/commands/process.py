"""`friday process check FILE`: lint a process file (exit 1 on errors); `draw`; `schema`; `starter NAME`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from friday.processes.definition import PROCESS_SCHEMA, InvalidDefinition, ProcessDefinition, load
from friday.processes.drawing import to_dot, to_mermaid
from friday.processes.lint import ERROR, has_errors, lint
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
        start = sub.add_parser("starter", help="Print a starter process as YAML")
        start.add_argument("name", choices=STARTERS)

    def handle(self, *args, action: str, **options) -> None:
        if action == "schema":
            self.stdout.write(json.dumps(PROCESS_SCHEMA, indent=2))
        elif action == "starter":
            self.stdout.write(starter_text(options["name"]), ending="")
        elif action == "draw":
            process = self._load(options["file"])
            self.stdout.write(
                to_mermaid(process) if options["format"] == "mermaid" else to_dot(process), ending=""
            )
        else:
            self._check(options["file"])

    def _check(self, name: str) -> None:
        process = self._load(name)
        findings = lint(process)
        for finding in findings:
            (self.stderr if finding.severity == ERROR else self.stdout).write(str(finding))
        errors = sum(f.severity == ERROR for f in findings)
        summary = f"{process.name}: {len(process.stages)} stages, {errors} error(s), {len(findings) - errors} warning(s)."
        if has_errors(findings):
            raise CommandError(summary + " This is not a process yet.")
        self.stdout.write(summary)

    def _load(self, name: str) -> ProcessDefinition:
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {name}: {exc}") from exc
        try:
            return load(text)
        except InvalidDefinition as exc:
            for error in exc.errors:
                self.stderr.write(f"{name}: {error}")
            raise CommandError(f"{name}: {len(exc.errors)} error(s); nothing was checked further.") from exc
