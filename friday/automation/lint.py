"""The rule lint: what a business should hear about a rule before it is switched on. Errors stop a save;
warnings are shown beside the form, in the API and the CLI.

- can never fire or never do anything: contradictory conditions, a date no party has filled in, a stage that
  does not exist, a message for no one (a schedule has no party);
- a campaign that reaches everyone (no conditions) or, as things stand, no one;
- could loop: an action that causes the rule's own trigger (tagging on "party changed", moving on "enters a
  stage");
- reaches do-not-contact parties (they are skipped: say how many);
- a message template that would not render, or that uses record details this trigger does not have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from friday.automation import conditions as conditions_mod
from friday.automation.models import Rule
from friday.parties.models import Party

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def _leaves(tree: dict[str, Any], negated: bool = False) -> list[tuple[bool, str]]:
    """(negated, leaf as text) for the leaves under `all` chains (where a contradiction makes the rule dead)."""
    if not tree:
        return []
    ((key, value),) = tree.items()
    if key == "all":
        return [leaf for child in value for leaf in _leaves(child, negated)]
    if key == "not":
        return _leaves(value, not negated) if not isinstance(value, dict) or "all" not in value else []
    if key in ("segment", "filter"):
        return [(negated, json.dumps({key: value}, sort_keys=True))]
    return []


def lint_rule(rule: Rule) -> list[Finding]:
    out: list[Finding] = []
    trigger, actions = rule.trigger, rule.actions
    kind = trigger["type"]
    # Contradictions: the same condition required and excluded.
    leaves = _leaves(rule.conditions or {})
    positive = {text for neg, text in leaves if not neg}
    for neg, text in leaves:
        if neg and text in positive:
            out.append(
                Finding(
                    ERROR,
                    "conditions.contradiction",
                    "conditions",
                    f"The conditions ask for {text} and for its opposite: the rule can never fire.",
                )
            )
            break
    # A date nobody has.
    if kind == "yearly":
        field = trigger["field"]
        candidates = Party.objects.filter(conditions_mod.party_q(rule.conditions or {}))
        if not candidates.filter(**{f"{field}__isnull": False}).exists():
            label = "birthday" if field == "birthday" else "customer-since date"
            out.append(
                Finding(
                    WARNING,
                    "trigger.never_filled",
                    "trigger.field",
                    f"No party it applies to has a {label} yet: it will not fire until one does.",
                )
            )
    # A campaign with no conditions writes to every party.
    if kind == "campaign":
        reached = Party.objects.filter(conditions_mod.party_q(rule.conditions or {})).count()
        if not rule.conditions:
            out.append(
                Finding(
                    WARNING,
                    "trigger.campaign_everyone",
                    "conditions",
                    f"A campaign with no conditions reaches every party ({reached} now): choose a segment.",
                )
            )
        elif not reached:
            out.append(
                Finding(
                    WARNING,
                    "trigger.campaign_nobody",
                    "conditions",
                    "No party meets the conditions yet: the campaign will not reach anyone until one does.",
                )
            )
    # Stages that do not exist.
    lifecycle_keys = _lifecycle_keys()
    all_keys = _all_stage_keys()
    if kind == "event" and "stage" in trigger and trigger["stage"] not in all_keys:
        applies_to = trigger["event"].split(".", 1)[0]
        if _has_process(applies_to):
            out.append(
                Finding(
                    ERROR,
                    "trigger.unknown_stage",
                    "trigger.stage",
                    f"No process has a stage {trigger['stage']!r}: the rule can never fire.",
                )
            )
        else:  # e.g. a starter for jobs, added before the job process is: it fires once one is published
            out.append(
                Finding(
                    WARNING,
                    "trigger.no_process_yet",
                    "trigger.stage",
                    f"No {applies_to} process is published yet: the rule fires once one has a stage "
                    f"{trigger['stage']!r}.",
                )
            )
    for i, action in enumerate(actions):
        path = f"actions.{i}"
        if action["type"] == "move_stage":
            target_keys = (
                all_keys if kind == "event" and not trigger["event"].startswith("party.") else lifecycle_keys
            )
            if action["to"] not in target_keys:
                out.append(
                    Finding(
                        ERROR,
                        "action.unknown_stage",
                        f"{path}.to",
                        f"There is no stage {action['to']!r} to move to.",
                    )
                )
            if kind == "event" and trigger["event"].endswith(".stage_entered"):
                out.append(
                    Finding(
                        WARNING,
                        "action.loop",
                        f"{path}.to",
                        "It moves records when they enter a stage: moving again can trigger it again.",
                    )
                )
        if (
            action["type"] in ("add_tag", "remove_tag")
            and kind == "event"
            and trigger["event"] == "party.updated"
        ):
            fields = trigger.get("fields")
            if not fields or "tags" in fields:
                out.append(
                    Finding(
                        WARNING,
                        "action.loop",
                        f"{path}.tag",
                        "It changes tags when a party is changed: that change triggers it again "
                        "(limit it to other fields).",
                    )
                )
        if action["type"] == "webhook":
            from friday.automation.webhooks import WebhookRefused, check_url, resolve

            try:
                _, host, port, _ = check_url(action["url"])
                resolve(host, port)
            except WebhookRefused as exc:
                out.append(
                    Finding(
                        WARNING,
                        "action.webhook_refused",
                        f"{path}.url",
                        f"As things stand this call would be refused: {exc.detail}",
                    )
                )
        if action["type"] == "send_message":
            if kind == "chase" and action.get("to") != "chased":
                out.append(
                    Finding(
                        WARNING,
                        "action.chase_to_party",
                        f"{path}.to",
                        "It chases a supplier but writes to the reminder's party (the customer): "
                        "choose “to the chased supplier”.",
                    )
                )
            if kind == "cron":
                out.append(
                    Finding(
                        ERROR,
                        "action.no_party",
                        f"{path}.template",
                        "A schedule fires for no party: a message would have no one to go to.",
                    )
                )
            out.extend(_template_findings(action, path, kind, trigger))
    # Do-not-contact parties among those it reaches.
    if any(a["type"] == "send_message" for a in actions) and kind in ("yearly", "no_contact", "event"):
        blocked = Party.objects.filter(
            conditions_mod.party_q(rule.conditions or {}), do_not_contact=True
        ).count()
        if blocked:
            out.append(
                Finding(
                    WARNING,
                    "conditions.do_not_contact",
                    "conditions",
                    f"{blocked} part{'y is' if blocked == 1 else 'ies are'} do-not-contact: their "
                    "messages will be skipped (and say so in the outbox).",
                )
            )
    return out


RECORD_FIELDS = {
    "yearly": {"date", "years", "birthday", "customer_since"},
    "no_contact": {"last_contact"},
    "reminder_overdue": {"title", "due_at", "assignee_id"},
    "chase": {"title", "round", "chase_id", "due_at"},
    "date": {"title", "expected_close"},
    "cron": set(),
    "service_due": {"plan", "due_on", "due", "asset", "serial_number", "days_before"},
    "campaign": {"period"},
}


def _template_findings(
    action: dict[str, Any], path: str, kind: str, trigger: dict[str, Any]
) -> list[Finding]:
    from jinja2 import nodes

    from friday.messaging.models import MessageTemplate
    from friday.messaging.services import TemplateIn, template_problems

    template = MessageTemplate.objects.filter(key=action.get("template")).first()
    if template is None:
        return []
    data = TemplateIn(
        key=template.key,
        name=template.name,
        subject=template.subject,
        body_text=template.body_text,
        body_html=template.body_html,
    )
    out = [
        Finding(ERROR, "template.problem", f"{path}.template", f"Template {template.key}: {p}")
        for p in template_problems(data)
    ]
    if out or kind == "event":
        return out  # an event's details depend on the event: not checked here
    from friday.automation.triggers import REGISTERED
    from friday.messaging.rendering import TEXT_ENV

    known = RECORD_FIELDS.get(kind) or (set(REGISTERED[kind].record_fields) if kind in REGISTERED else set())
    for source in (template.subject, template.body_text, template.body_html):
        tree = TEXT_ENV.parse(source)
        # record.x|default(…) and record.x or … cope with a missing detail: those are fine.
        guarded = {
            id(f.node) for f in tree.find_all(nodes.Filter) if f.name == "default" and f.node is not None
        } | {id(o.left) for o in tree.find_all(nodes.Or)}
        for node in tree.find_all(nodes.Getattr):
            if id(node) in guarded:
                continue
            if isinstance(node.node, nodes.Name) and node.node.name == "record" and node.attr not in known:
                has = ", ".join(f"record.{k}" for k in sorted(known)) or "no record details"
                out.append(
                    Finding(
                        WARNING,
                        "template.record_field",
                        f"{path}.template",
                        f"Template {template.key} uses record.{node.attr}, which this trigger does not "
                        f"give (it gives {has}): the message will fail to render.",
                    )
                )
                return out
    return out


def _lifecycle_keys() -> set[str]:
    from friday.processes.services import lifecycle_process

    process = lifecycle_process()
    return {s.key for s in process.current.definition.stages} if process and process.current else set()


def _has_process(applies_to: str) -> bool:
    from friday.processes.models import Process

    return Process.objects.filter(applies_to=applies_to, current__isnull=False).exists()


def _all_stage_keys() -> set[str]:
    from friday.processes.models import Process

    keys: set[str] = set()
    for process in Process.objects.filter(current__isnull=False).select_related("current"):
        keys |= {s.key for s in process.current.definition.stages}  # type: ignore[union-attr]
    return keys
