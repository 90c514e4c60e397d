"""`friday automation`: list the rules, forecast what they will do, sweep now, export and import rules as YAML."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from friday.accounts.models import Role, User
from friday.accounts.selectors import acting_user
from friday.automation import selectors, services
from friday.automation.models import Rule
from friday.core import clock
from friday.core.errors import FridayError, NotFound, ValidationFailed


class Command(BaseCommand):
    help = "Automation rules: list, forecast, sweep, export, import."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="The rules, on or off, with their triggers")
        fc = sub.add_parser("forecast", help="What the enabled rules (or one) will do in the next N days")
        fc.add_argument("--days", type=int, default=30)
        fc.add_argument("--rule", type=int, help="Only this rule (on or off)")
        sub.add_parser(
            "sweep", help="Evaluate the rules now and run what is due (what the worker does each minute)"
        )
        st = sub.add_parser("starters", help="Add the starter rules and templates (switched off)")
        st.add_argument("--by", help="Username of the admin or manager (default: the first admin)")
        exp = sub.add_parser("export", help="Print a rule as YAML")
        exp.add_argument("rule", type=int)
        imp = sub.add_parser("import", help="Create a rule from a YAML file ('-' reads standard input)")
        imp.add_argument("file")
        imp.add_argument("--by", help="Username of the admin or manager (default: the first admin)")

    def handle(self, *args, action: str, **options) -> None:
        out: Any = getattr(self.stdout, "_out", sys.stdout)  # the stream call_command or the shell gave us
        console = Console(file=out, width=120)
        if action == "list":
            table = Table("id", "rule", "on", "trigger", "actions", "owner")
            for rule in Rule.objects.select_related("owner").order_by("name"):
                table.add_row(
                    str(rule.pk),
                    rule.name,
                    "yes" if rule.enabled else "no",
                    rule.trigger["type"],
                    ", ".join(a["type"] for a in rule.actions),
                    rule.owner.display,
                )
            console.print(table)
        elif action == "forecast":
            rules = (
                list(Rule.objects.filter(pk=options["rule"]))
                if options["rule"]
                else list(Rule.objects.filter(enabled=True))
            )
            if options["rule"] and not rules:
                raise CommandError(f"No rule {options['rule']}.")
            try:
                result = services.forecast(rules, days=options["days"])
            except FridayError as exc:
                raise CommandError(exc.detail) from exc
            tz = clock.business_tz()
            table = Table(
                "when",
                "rule",
                "for",
                "does",
                title=f"The next {options['days']} days: {len(result.items)} firing(s)",
            )
            for item in result.items:
                table.add_row(
                    item.match.due_at.astimezone(tz).strftime("%a %d %b %H:%M"),
                    item.rule.name,
                    item.party_name or item.match.record_type or "—",
                    "; ".join(item.what),
                )
            console.print(table)
            for rule in result.waiting_for_events:
                console.print(f"{rule.name}: fires when {rule.trigger['event']} happens.")
        elif action == "sweep":
            swept = services.sweep()
            ran = services.run_due(worker_id=f"{socket.gethostname()}:{os.getpid()}:cli")
            self.stdout.write(f"{swept}; {ran}.")
        elif action == "starters":
            from friday.automation import starters

            added_templates, added_rules = starters.install(by=self._by(options["by"]))
            self.stdout.write(f"Added {added_rules} rule(s) and {added_templates} template(s), switched off.")
        elif action == "export":
            found = Rule.objects.filter(pk=options["rule"]).first()
            if found is None:
                raise CommandError(f"No rule {options['rule']}.")
            self.stdout.write(selectors.rule_yaml(found), ending="")
        else:
            self._import(options["file"], options["by"])

    def _by(self, username: str | None) -> User:
        try:
            return acting_user(username)
        except NotFound as exc:
            raise CommandError(exc.detail) from exc

    def _import(self, name: str, username: str | None) -> None:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CommandError(f"{name}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise CommandError(f"{name}: a rule is a mapping of name, trigger, conditions, actions.")
        users = User.objects.filter(is_active=True)
        by = (
            users.filter(username=username).first()
            if username
            else users.filter(role=Role.ADMIN).order_by("pk").first()
        )
        if by is None:
            raise CommandError("Create an admin first: friday createadmin")
        unknown = set(data) - {"name", "description", "enabled", "trigger", "conditions", "actions"}
        if unknown:
            raise CommandError(f"{name}: unknown keys {', '.join(sorted(unknown))}.")
        # A rule of the same name is the one being edited: it is changed, not copied.
        existing = Rule.objects.filter(name=" ".join(str(data.get("name", "")).split())).first()
        try:
            rule = services.rule_save(
                by=by,
                rule=existing,
                data=services.RuleIn(
                    name=str(data.get("name", "")),
                    description=str(data.get("description", "") or ""),
                    trigger=data.get("trigger"),
                    conditions=data.get("conditions") or {},
                    actions=data.get("actions"),
                    enabled=bool(data.get("enabled", False)),
                ),
            )
        except ValidationFailed as exc:
            for error in exc.errors:
                self.stderr.write(f"{name}: {error.field}: {error.detail}")
            raise CommandError(f"{len(exc.errors)} error(s); nothing was saved.") from exc
        except FridayError as exc:
            raise CommandError(exc.detail) from exc
        verb = "changed" if existing else "saved"
        self.stdout.write(f"Rule {rule.pk} “{rule.name}” {verb} ({'on' if rule.enabled else 'off'}).")
