"""The rule form builder: a trigger, up to four conditions and four actions, chosen from lists — never JSON.

The form only parses and maps; `services.clean_rule` validates, and its errors come back on the field they are
about (`actions.1.template` → the second action's template). Rules written through the API or YAML with
nested conditions keep them: the form says so and leaves them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms

from friday.accounts.models import Role, User
from friday.automation import actions as action_types
from friday.automation.models import Rule
from friday.automation.services import RuleIn
from friday.parties.forms import UserChoiceField
from friday.parties.models import RoleName

ROWS = 4
EVENTS = [
    ("party.created", "A party is created"),
    ("party.updated", "A party is changed"),
    ("party.owner_changed", "A party is handed over"),
    ("party.stage_entered", "A party enters a lifecycle stage"),
    ("deal.created", "A deal is created"),
    ("deal.updated", "A deal is changed"),
    ("deal.stage_entered", "A deal enters a stage"),
    ("job.created", "A job is created"),
    ("job.stage_entered", "A job enters a stage"),
    ("job.completed", "A job is complete"),
    ("reminder.created", "A reminder is made"),
    ("reminder.done", "A reminder is done"),
    ("invoice.issued", "An invoice is issued"),
    ("invoice.paid", "An invoice is paid in full"),
    ("invoice.overdue", "An invoice becomes overdue"),
    ("feedback.received", "Feedback arrives"),
]
TRIGGERS = [
    ("yearly", "Every year on a date (birthday, customer anniversary)"),
    ("no_contact", "No contact for a number of days"),
    ("reminder_overdue", "A reminder is overdue"),
    ("chase", "Chase the supplier of a reminder, until it is done"),
    ("event", "Something happens"),
    ("date", "Before or after a deal's expected close"),
    ("service_due", "A service plan comes due"),
    ("campaign", "A campaign: on a schedule, to each party once per period"),
    ("cron", "On a schedule"),
    ("invoice_overdue", "An invoice is overdue"),
]
PERIODS = [
    ("year", "once a year"),
    ("quarter", "once a quarter"),
    ("month", "once a month"),
    ("week", "once a week"),
]
CONDITIONS = [
    ("", "—"),
    ("segment", "is in the segment"),
    ("stage", "is in the lifecycle stage"),
    ("role", "has the role"),
    ("tag", "has the tag"),
    ("no_tag", "does not have the tag"),
    ("record", "the record's detail"),
]
RECORD_OPS = [
    ("eq", "is"),
    ("ne", "is not"),
    ("in", "is one of"),
    ("gte", "is at least"),
    ("lte", "is at most"),
    ("gt", "is more than"),
    ("lt", "is less than"),
    ("set", "is filled in"),
    ("unset", "is empty"),
]
FOR = [
    ("owner", "the party's owner"),
    ("rule_owner", "the rule's owner"),
    ("assignee", "the overdue reminder's assignee"),
    *[(f"role:{value}", f"every {label.lower()}") for value, label in Role.choices],
]


def _choices(options: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "—"), *options]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    owner = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Me",
        label="Owner",
        help_text="Answers for the rule: gets a reminder if an action keeps failing",
    )
    enabled = forms.BooleanField(required=False, label="On")
    trigger_type = forms.ChoiceField(label="When", choices=TRIGGERS)
    event = forms.ChoiceField(label="What happens", required=False, choices=_choices(EVENTS))
    event_fields = forms.CharField(
        label="Only when these fields change",
        required=False,
        max_length=200,
        help_text="Comma-separated, e.g. owner, email (for “is changed”)",
    )
    event_stage = forms.CharField(
        label="Stage key", required=False, max_length=50, help_text="For “enters a stage”"
    )
    yearly_field = forms.ChoiceField(
        label="Date",
        required=False,
        choices=[("birthday", "Birthday"), ("customer_since", "Customer since (anniversary)")],
    )
    days_before = forms.IntegerField(
        label="Days before", required=False, min_value=0, max_value=60, initial=0
    )
    at = forms.CharField(
        label="At",
        required=False,
        max_length=5,
        initial="09:00",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    date_field = forms.ChoiceField(
        label="Date", required=False, choices=[("deal.expected_close", "Deal's expected close")]
    )
    offset_minutes = forms.IntegerField(
        label="Minutes after (negative: before)", required=False, initial=-1440
    )
    days = forms.IntegerField(
        label="Days without contact", required=False, min_value=1, max_value=3650, initial=60
    )
    overdue_days = forms.IntegerField(
        label="Days after the due date", required=False, min_value=0, max_value=3650, initial=7
    )
    hours = forms.IntegerField(label="Hours overdue", required=False, min_value=0, max_value=8760, initial=24)
    every_days = forms.IntegerField(
        label="Chase again every (days)", required=False, min_value=1, max_value=90, initial=3
    )
    cron = forms.CharField(
        label="Schedule (cron)",
        required=False,
        max_length=100,
        initial="0 9 * * 1",
        help_text="minute hour day month weekday — 0 9 * * 1 is Mondays at 9:00",
    )
    due_days_before = forms.IntegerField(
        label="Days' notice",
        required=False,
        min_value=0,
        max_value=365,
        initial=14,
        help_text="How many days before the plan is due",
    )
    period = forms.ChoiceField(label="Each party at most", required=False, choices=PERIODS, initial="year")
    match = forms.ChoiceField(
        label="For parties that match",
        choices=[("all", "all of these"), ("any", "any of these")],
        initial="all",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        segments: Sequence[tuple[str, str]] = (),
        stages: Sequence[tuple[str, str]] = (),
        templates: Sequence[tuple[str, str]] = (),
        surveys: Sequence[tuple[str, str]] = (),
        advanced: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.advanced = advanced
        # Any DomainEvent can trigger a rule: one saved through the API or YAML keeps its event in the list.
        event = self.data.get("event") if self.is_bound else self.initial.get("event")
        event_field = self.fields["event"]
        assert isinstance(event_field, forms.ChoiceField)
        if event and event not in dict(EVENTS):
            event_field.choices = [*_choices(EVENTS), (str(event), str(event))]
        self.condition_rows = []
        for i in range(ROWS):
            self.fields[f"cond_{i}"] = forms.ChoiceField(
                label="Condition", required=False, choices=CONDITIONS
            )
            self.fields[f"cond_{i}_segment"] = forms.ChoiceField(
                label="Segment", required=False, choices=_choices(list(segments))
            )
            self.fields[f"cond_{i}_stage"] = forms.ChoiceField(
                label="Stage", required=False, choices=_choices(list(stages))
            )
            self.fields[f"cond_{i}_role"] = forms.ChoiceField(
                label="Role", required=False, choices=_choices(list(RoleName.choices))
            )
            self.fields[f"cond_{i}_tag"] = forms.CharField(label="Tag", required=False, max_length=50)
            self.fields[f"cond_{i}_field"] = forms.CharField(
                label="Detail",
                required=False,
                max_length=60,
                help_text="e.g. stage, nps_category, score, title",
            )
            self.fields[f"cond_{i}_op"] = forms.ChoiceField(label="How", required=False, choices=RECORD_OPS)
            self.fields[f"cond_{i}_value"] = forms.CharField(
                label="Value", required=False, max_length=500, help_text="For “is one of”: comma-separated"
            )
            self.condition_rows.append(
                [
                    self[f"cond_{i}{s}"]
                    for s in ("", "_segment", "_stage", "_role", "_tag", "_field", "_op", "_value")
                ]
            )
        self.action_rows = []
        kinds = [(a.type, a.label) for a in action_types.ACTIONS.values()]
        for i in range(ROWS):
            self.fields[f"act_{i}"] = forms.ChoiceField(label="Do", required=False, choices=_choices(kinds))
            self.fields[f"act_{i}_template"] = forms.ChoiceField(
                label="Template", required=False, choices=_choices(list(templates))
            )
            self.fields[f"act_{i}_to_whom"] = forms.ChoiceField(
                label="To",
                required=False,
                choices=[("party", "the party"), ("chased", "the chased supplier")],
            )
            self.fields[f"act_{i}_title"] = forms.CharField(
                label="Reminder",
                required=False,
                max_length=200,
                help_text="{party} is replaced by the party's name; {score}, {comment} … by the event's details",
            )
            self.fields[f"act_{i}_for"] = forms.ChoiceField(label="For", required=False, choices=FOR)
            self.fields[f"act_{i}_due"] = forms.IntegerField(
                label="Due in (hours)", required=False, min_value=0, max_value=8784, initial=0
            )
            self.fields[f"act_{i}_to"] = forms.ChoiceField(
                label="Stage", required=False, choices=_choices(list(stages))
            )
            self.fields[f"act_{i}_tag"] = forms.CharField(label="Tag", required=False, max_length=50)
            self.fields[f"act_{i}_url"] = forms.URLField(
                label="Address", required=False, max_length=2000, assume_scheme="https"
            )
            self.fields[f"act_{i}_survey"] = forms.ChoiceField(
                label="Survey", required=False, choices=_choices(list(surveys))
            )
            self.fields[f"act_{i}_delay"] = forms.IntegerField(
                label="After (minutes)", required=False, min_value=0, max_value=527040, initial=0
            )
            self.action_rows.append(
                [
                    self[f"act_{i}{s}"]
                    for s in (
                        "",
                        "_template",
                        "_title",
                        "_for",
                        "_due",
                        "_to",
                        "_tag",
                        "_url",
                        "_delay",
                        "_to_whom",
                        "_survey",
                    )
                ]
            )

    # --- form → rule ---------------------------------------------------------------------------------------------

    def trigger(self) -> dict[str, Any]:
        c = self.cleaned_data
        kind = c["trigger_type"]
        if kind == "event":
            out: dict[str, Any] = {"type": "event", "event": c.get("event") or ""}
            fields = [f.strip() for f in (c.get("event_fields") or "").split(",") if f.strip()]
            if fields:
                out["fields"] = fields
            if c.get("event_stage"):
                out["stage"] = c["event_stage"].strip()
            return out
        if kind == "yearly":
            return {
                "type": "yearly",
                "field": c.get("yearly_field"),
                "days_before": c.get("days_before") or 0,
                "at": c.get("at") or "09:00",
            }
        if kind == "date":
            offset = c.get("offset_minutes")
            return {
                "type": "date",
                "field": c.get("date_field"),
                "offset_minutes": 0 if offset is None else offset,
                "at": c.get("at") or "09:00",
            }
        if kind == "no_contact":
            return {"type": "no_contact", "days": c.get("days")}
        if kind == "reminder_overdue":
            return {"type": "reminder_overdue", "hours": c.get("hours") if c.get("hours") is not None else 24}
        if kind == "chase":
            return {"type": "chase", "every_days": c.get("every_days") or 3}
        if kind == "service_due":
            before = c.get("due_days_before")
            return {
                "type": "service_due",
                "days_before": 14 if before is None else before,
                "at": c.get("at") or "09:00",
            }
        if kind == "campaign":
            return {"type": "campaign", "cron": c.get("cron") or "", "period": c.get("period") or "year"}
        if kind == "invoice_overdue":
            days = c.get("overdue_days")
            return {"type": kind, "days": 7 if days is None else days, "at": c.get("at") or "09:00"}
        return {"type": "cron", "cron": c.get("cron") or ""}

    def conditions(self, keep: dict[str, Any]) -> dict[str, Any]:
        if self.advanced:
            return keep
        c = self.cleaned_data
        leaves: list[dict[str, Any]] = []
        self.condition_index: dict[int, int] = {}
        for i in range(ROWS):
            kind = c.get(f"cond_{i}")
            if not kind:
                continue
            self.condition_index[len(leaves)] = i
            if kind == "segment":
                value = c.get(f"cond_{i}_segment")
                leaves.append({"segment": int(value) if value and value.isdigit() else 0})
            elif kind == "stage":
                leaves.append({"filter": {"stages": [c.get(f"cond_{i}_stage") or ""]}})
            elif kind == "role":
                leaves.append({"filter": {"roles": [c.get(f"cond_{i}_role") or ""]}})
            elif kind == "tag":
                leaves.append({"filter": {"tags": [c.get(f"cond_{i}_tag") or ""]}})
            elif kind == "record":
                op = c.get(f"cond_{i}_op") or "eq"
                leaf: dict[str, Any] = {"field": (c.get(f"cond_{i}_field") or "").strip(), "op": op}
                value = (c.get(f"cond_{i}_value") or "").strip()
                if op == "in":
                    leaf["value"] = [v.strip() for v in value.split(",") if v.strip()]
                elif op not in ("set", "unset"):
                    leaf["value"] = value
                leaves.append({"record": leaf})
            else:
                leaves.append({"not": {"filter": {"tags": [c.get(f"cond_{i}_tag") or ""]}}})
        return {c.get("match") or "all": leaves} if leaves else {}

    def actions(self) -> list[dict[str, Any]]:
        c = self.cleaned_data
        out: list[dict[str, Any]] = []
        self.action_index: dict[int, int] = {}
        for i in range(ROWS):
            kind = c.get(f"act_{i}")
            if not kind:
                continue
            self.action_index[len(out)] = i
            item: dict[str, Any] = {"type": kind}
            if c.get(f"act_{i}_delay"):
                item["delay_minutes"] = c[f"act_{i}_delay"]
            if kind == "send_message":
                item["template"] = c.get(f"act_{i}_template") or ""
                if c.get(f"act_{i}_to_whom") == "chased":
                    item["to"] = "chased"
            elif kind == "create_reminder":
                item.update(
                    title=c.get(f"act_{i}_title") or "",
                    **{"for": c.get(f"act_{i}_for") or "owner"},
                    due_in_minutes=(c.get(f"act_{i}_due") or 0) * 60,
                )
            elif kind == "move_stage":
                item["to"] = c.get(f"act_{i}_to") or ""
            elif kind in ("add_tag", "remove_tag"):
                item["tag"] = c.get(f"act_{i}_tag") or ""
            elif kind == "webhook":
                item["url"] = c.get(f"act_{i}_url") or ""
            elif kind == "request_feedback":
                item["survey"] = c.get(f"act_{i}_survey") or ""
            out.append(item)
        return out

    def to_rule_in(self, keep_conditions: dict[str, Any]) -> RuleIn:
        c = self.cleaned_data
        return RuleIn(
            name=c["name"],
            description=c.get("description") or "",
            trigger=self.trigger(),
            conditions=self.conditions(keep_conditions),
            actions=self.actions(),
            enabled=bool(c.get("enabled")),
            owner=c.get("owner"),
        )

    def add_rule_errors(self, errors: list[Any]) -> None:
        """Put each service error on the field it is about."""
        trigger_fields = {
            "event": "event",
            "fields": "event_fields",
            "stage": "event_stage",
            "field": None,
            "days_before": "days_before",
            "at": "at",
            "offset_minutes": "offset_minutes",
            "days": "overdue_days" if self.cleaned_data.get("trigger_type") == "invoice_overdue" else "days",
            "hours": "hours",
            "cron": "cron",
            "period": "period",
            "type": "trigger_type",
        }
        action_fields = {
            "template": "template",
            "title": "title",
            "for": "for",
            "due_in_minutes": "due",
            "to": "to",
            "tag": "tag",
            "url": "url",
            "survey": "survey",
            "delay_minutes": "delay",
            "type": "",
        }
        for e in errors:
            path = e.field or ""
            target: str | None = None
            m = re.match(r"^trigger\.(\w+)", path)
            if m:
                name = trigger_fields.get(m.group(1))
                kind = self.cleaned_data.get("trigger_type")
                target = name or (
                    "yearly_field" if kind == "yearly" else "date_field" if kind == "date" else None
                )
                if kind == "service_due" and m.group(1) == "days_before":
                    target = "due_days_before"
            m = re.match(r"^actions\.(\d+)(?:\.(\w+))?", path)
            if m:
                row = getattr(self, "action_index", {}).get(int(m.group(1)))
                suffix = action_fields.get(m.group(2) or "type", "")
                target = None if row is None else f"act_{row}" + (f"_{suffix}" if suffix else "")
            m = re.match(r"^conditions\.(?:all|any)\.(\d+)", path)
            if m:
                row = getattr(self, "condition_index", {}).get(int(m.group(1)))
                target = None if row is None else f"cond_{row}"
            if path in ("name", "description", "owner"):
                target = path
            self.add_error(target if target in self.fields else None, e.detail)


def initial_from(rule: Rule) -> tuple[dict[str, Any], bool]:
    """The form's values for a saved rule, and whether its conditions are too complex for the rows."""
    t = rule.trigger
    data: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "owner": rule.owner_id,
        "enabled": rule.enabled,
        "trigger_type": t["type"],
    }
    if t["type"] == "event":
        data.update(
            event=t.get("event"), event_fields=", ".join(t.get("fields", [])), event_stage=t.get("stage", "")
        )
    elif t["type"] == "yearly":
        data.update(yearly_field=t["field"], days_before=t["days_before"], at=t["at"])
    elif t["type"] == "date":
        data.update(date_field=t["field"], offset_minutes=t["offset_minutes"], at=t["at"])
    elif t["type"] == "service_due":
        data.update(due_days_before=t["days_before"], at=t["at"])
    elif t["type"] == "campaign":
        data.update(cron=t["cron"], period=t["period"])
    elif t["type"] == "invoice_overdue":
        data.update(overdue_days=t["days"], at=t["at"])
    elif t["type"] in ("no_contact", "reminder_overdue", "chase", "cron"):
        key = {"no_contact": "days", "reminder_overdue": "hours", "chase": "every_days", "cron": "cron"}[
            t["type"]
        ]
        data[key] = t[key]
    advanced = False
    cond = rule.conditions or {}
    if cond:
        ((combinator, leaves),) = cond.items()
        if combinator not in ("all", "any"):
            combinator, leaves = "all", [cond]  # one condition on its own is a row too
        if len(leaves) > ROWS:
            advanced = True
        else:
            data["match"] = combinator
            for i, leaf in enumerate(leaves):
                row = _row_of(leaf)
                if row is None:
                    advanced = True
                    break
                data.update({f"cond_{i}{k}": v for k, v in row.items()})
    for i, a in enumerate(rule.actions[:ROWS]):
        data[f"act_{i}"] = a["type"]
        data[f"act_{i}_delay"] = a.get("delay_minutes", 0)
        for key, suffix in (
            ("template", "_template"),
            ("title", "_title"),
            ("for", "_for"),
            ("to", "_to"),
            ("tag", "_tag"),
            ("url", "_url"),
            ("survey", "_survey"),
        ):
            if key in a:
                data[f"act_{i}{suffix}"] = a[key]
        if a.get("to") in ("party", "chased") and a["type"] == "send_message":
            data[f"act_{i}_to_whom"] = a["to"]
        if "due_in_minutes" in a:
            data[f"act_{i}_due"] = a["due_in_minutes"] // 60
    return data, advanced


def _row_of(leaf: dict[str, Any]) -> dict[str, Any] | None:
    if "segment" in leaf:
        return {"": "segment", "_segment": str(leaf["segment"])}
    f = leaf.get("filter")
    if isinstance(f, dict) and len(f) == 1:
        ((key, values),) = f.items()
        if isinstance(values, list) and len(values) == 1:
            return {
                "stages": {"": "stage", "_stage": values[0]},
                "roles": {"": "role", "_role": values[0]},
                "tags": {"": "tag", "_tag": values[0]},
            }.get(key)
    r = leaf.get("record")
    if isinstance(r, dict) and r.get("op") in dict(RECORD_OPS):
        value = r.get("value", "")
        return {
            "": "record",
            "_field": r.get("field", ""),
            "_op": r["op"],
            "_value": ", ".join(str(v) for v in value) if isinstance(value, list) else str(value),
        }
    n = leaf.get("not", {}).get("filter") if isinstance(leaf.get("not"), dict) else None
    if isinstance(n, dict) and list(n) == ["tags"] and len(n["tags"]) == 1:
        return {"": "no_tag", "_tag": n["tags"][0]}
    return None
