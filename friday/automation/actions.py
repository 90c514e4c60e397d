"""What a rule does: each action type is a small class in ACTIONS — how to validate its settings and how to run
it for a firing. Adding one (issue an invoice, request feedback) is a class and a line in the registry.

Every action is idempotent by the run's key (`run:<id>`): the outbox, reminders and webhooks each refuse to do
the same keyed thing twice, so a retried or re-claimed run never duplicates its effect.

    {"type": "send_message", "template": "birthday", "to": "party" | "chased", "delay_minutes": 0}
    {"type": "create_reminder", "title": "Check in with {party}", "for": "owner" | "role:manager" | "user:7",
     "due_in_minutes": 1440, "notes": ""}      {party} is the party's name; {score}, {comment} … the firing's
                                               details (an event's payload), left as written when it has none
    {"type": "move_stage", "to": "lapsed"}                  the record's process (the lifecycle, for a party)
    {"type": "add_tag", "tag": "vip"}   {"type": "remove_tag", "tag": "vip"}
    {"type": "webhook", "url": "https://example.com/hook"}
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from typing import Any, ClassVar

from friday.accounts.models import Role, User
from friday.core import clock
from friday.core.errors import Collector, FridayError
from friday.core.ids import valid_id

MAX_ACTIONS = 10
MAX_DELAY = 60 * 24 * 366  # minutes


class Permanent(FridayError):
    """The action cannot succeed as written (a missing template, a refused webhook): no retry."""

    code = "action.permanent"


class Skip(FridayError):
    """Nothing to do for this record (no party to write to): recorded as skipped, not as a failure."""

    code = "action.skipped"


class Action(abc.ABC):
    """One kind of action. Subclasses say how to validate their settings and how to run for a firing."""

    type: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[set[str]] = set()
    needs_party: ClassVar[bool] = True

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        """Do it; return what the run records. Raise Permanent (no retry) or Skip; anything else retries."""

    def describe(self, settings: dict[str, Any]) -> str:
        return self.label


def _text(
    data: dict[str, Any], name: str, errors: Collector, path: str, *, required: bool = True, limit: int = 200
) -> str:
    value = data.get(name, "")
    if (
        not isinstance(value, str)
        or (required and not value.strip())
        or len(value) > limit
        or "\x00" in value
    ):
        errors.add(f"{path}.{name}", f"Give {name} (at most {limit} characters).", code="invalid.text")
        return ""
    return value.strip()


PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def fill_placeholders(text: str, firing: Any) -> str:
    """{party} → the party's name; {name} → the firing's detail of that name (a feedback score, a title …).
    Plain substitution, never str.format: a brace the firing has no value for stays as it was written."""
    values: dict[str, str] = {
        k: str(v)
        for k, v in (firing.snapshot or {}).items()
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    }
    values["party"] = firing.party.display_name if firing.party is not None else ""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _party(firing: Any) -> Any:
    if firing.party is None:
        raise Skip("This firing has no party to act on.")
    return firing.party


class SendMessage(Action):
    type, label, fields = "send_message", "Send a message", {"template", "to"}

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        from friday.messaging.models import MessageTemplate

        key = _text(data, "template", errors, path, limit=60)
        if key and not MessageTemplate.objects.filter(key=key).exists():
            errors.add(f"{path}.template", f"There is no message template {key!r}.", code="invalid.template")
        to = data.get("to", "party")
        if to not in ("party", "chased"):
            errors.add(
                f"{path}.to", "Send to the party, or to the party a reminder chases.", code="invalid.to"
            )
        return {"template": key, "to": to}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.messaging.models import MessageTemplate
        from friday.messaging.services import message_queue
        from friday.parties.models import Party

        template = MessageTemplate.objects.filter(key=settings["template"]).first()
        if template is None:
            raise Permanent(f"The message template {settings['template']!r} no longer exists.")
        if settings.get("to") == "chased":
            chased = (firing.snapshot or {}).get("chase_id")
            party = Party.objects.filter(pk=chased).first() if chased else None
            if party is None:
                raise Skip("This firing has no chased party to write to.")
        else:
            party = _party(firing)
        message = message_queue(
            key=f"run:{run.pk}", party=party, template=template, record=firing.snapshot or {}
        )
        # The outbox row stays either way (it says why); the run says so too: a message that could not be
        # written fails the run (and its owner hears of it), one skipped (do-not-contact …) skips it.
        if message.status == "failed":
            return {"message_id": message.pk, "failed": f"The message could not be written: {message.reason}"}
        if message.status == "skipped":
            return {"message_id": message.pk, "skipped": f"Not sent: {message.reason}"}
        return {"message_id": message.pk, "status": message.status}

    def describe(self, settings: dict[str, Any]) -> str:
        to = " to the chased supplier" if settings.get("to") == "chased" else ""
        return f"Send “{settings['template']}”{to}"


class CreateReminder(Action):
    type, label, fields = "create_reminder", "Create a reminder", {"title", "for", "due_in_minutes", "notes"}
    needs_party = False

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        title = _text(data, "title", errors, path)
        who = data.get("for", "owner")
        ok = who in ("owner", "rule_owner", "assignee") or (
            isinstance(who, str)
            and (
                (who.startswith("role:") and who[5:] in Role.values)
                or (
                    who.startswith("user:")
                    and who[5:].isdigit()
                    and valid_id(int(who[5:]))
                    and User.objects.filter(pk=int(who[5:]), is_active=True).exists()
                )
            )
        )
        if not ok:
            errors.add(
                f"{path}.for",
                "Say who: owner (the party's), rule_owner, assignee (a reminder's), role:<role> or user:<id>.",
                code="invalid.assignee",
            )
        due = data.get("due_in_minutes", 0)
        if not isinstance(due, int) or isinstance(due, bool) or not 0 <= due <= MAX_DELAY:
            errors.add(f"{path}.due_in_minutes", "Give minutes from 0 to a year.", code="invalid.number")
        return {
            "title": title,
            "for": who,
            "due_in_minutes": due,
            "notes": _text(data, "notes", errors, path, required=False, limit=2000),
        }

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.reminders.models import Reminder
        from friday.reminders.services import ReminderIn, reminder_create

        who = settings["for"]
        assignee, role = None, ""
        if who == "owner":
            assignee = (
                firing.party.owner if firing.party is not None and firing.party.owner_id else rule.owner
            )
        elif who == "rule_owner":
            assignee = rule.owner
        elif who == "assignee":
            reminder = (
                Reminder.objects.filter(pk=firing.record_id).first()
                if firing.record_type == "reminder"
                else None
            )
            assignee = reminder.assignee if reminder and reminder.assignee else rule.owner
        elif who.startswith("role:"):
            role = who[5:]
        else:
            assignee = User.objects.filter(pk=int(who[5:]), is_active=True).first() or rule.owner
        if assignee is not None and not assignee.is_active:
            assignee = rule.owner
        title = " ".join(fill_placeholders(settings["title"], firing).split())[:200]
        reminder = reminder_create(
            by=None,
            data=ReminderIn(
                title=title,
                due_at=clock.now() + dt.timedelta(minutes=settings["due_in_minutes"]),
                notes=fill_placeholders(settings.get("notes", ""), firing)[:10_000],
                assignee=assignee if not role else None,
                assignee_role=role,
                party=firing.party,
            ),
            record=(firing.record_type, firing.record_id)
            if firing.record_type not in ("", "party") and firing.record_id
            else None,
            key=f"run:{run.pk}",
        )
        return {"reminder_id": reminder.pk}

    def describe(self, settings: dict[str, Any]) -> str:
        who = str(settings["for"])
        whom = {"owner": "the owner", "rule_owner": "the rule's owner", "assignee": "the assignee"}.get(who)
        if whom is None:
            whom = f"every {who[5:]}" if who.startswith("role:") else "a colleague"
        return f"Remind {whom}: {settings['title']}"


class MoveStage(Action):
    type, label, fields = "move_stage", "Move to a stage", {"to"}

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        return {"to": _text(data, "to", errors, path, limit=50)}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.processes import records
        from friday.processes.services import stage_move

        record_type = firing.record_type or "party"
        kind = records.kind_for(record_type)
        if kind is None:
            raise Permanent(f"{record_type} records cannot be moved.")
        record = kind.get(rule.owner, firing.record_id)  # as the rule's owner, within their scope
        try:
            change = stage_move(
                by=rule.owner,
                record_type=record_type,
                record=record,
                to=settings["to"],
                reason=f"Automation: {rule.name}",
            )
        except FridayError as exc:
            if exc.code == "stage.same":
                return {"already": True}
            raise Permanent(exc.detail) from exc
        return {"stage_change_id": change.pk}

    def describe(self, settings: dict[str, Any]) -> str:
        return f"Move to {settings['to']}"


class Tag(Action):
    fields = {"tag"}
    adding: ClassVar[bool]

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        return {"tag": _text(data, "tag", errors, path, limit=50)}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.parties.services import party_tags_change

        tags = party_tags_change(
            by=None,
            party=_party(firing),
            add=[settings["tag"]] if self.adding else [],
            remove=[] if self.adding else [settings["tag"]],
        )
        return {"tags": tags}


class AddTag(Tag):
    type, label, adding = "add_tag", "Add a tag", True

    def describe(self, settings: dict[str, Any]) -> str:
        return f"Tag {settings['tag']}"


class RemoveTag(Tag):
    type, label, adding = "remove_tag", "Remove a tag", False

    def describe(self, settings: dict[str, Any]) -> str:
        return f"Untag {settings['tag']}"


class Webhook(Action):
    type, label, fields = "webhook", "Call a webhook", {"url"}
    needs_party = False

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        from friday.automation.webhooks import WebhookRefused, check_url

        url = _text(data, "url", errors, path, limit=2000)
        if url:
            try:
                check_url(url)
            except WebhookRefused as exc:
                errors.add(f"{path}.url", exc.detail, code=exc.code)
        return {"url": url}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.automation.webhooks import WebhookRefused, deliver

        payload = {
            "rule": {"id": rule.pk, "name": rule.name},
            "firing": {
                "key": firing.key,
                "occurrence": firing.occurrence,
                "due_at": firing.due_at.isoformat(),
            },
            "record": {"type": firing.record_type, "id": firing.record_id, **(firing.snapshot or {})},
            "party": {"id": firing.party_id, "name": firing.party.display_name} if firing.party else None,
        }
        try:
            delivery = deliver(settings["url"], payload, secret=rule.secret, delivery_id=f"run:{run.pk}")
        except WebhookRefused as exc:
            raise Permanent(exc.detail) from exc
        return {"status": delivery.status}

    def describe(self, settings: dict[str, Any]) -> str:
        return f"Call {settings['url']}"


ACTIONS: dict[str, Action] = {
    a.type: a for a in (SendMessage(), CreateReminder(), MoveStage(), AddTag(), RemoveTag(), Webhook())
}


def register(action: Action) -> None:
    """Apps above automation add their own action types (issue an invoice, request feedback)."""
    ACTIONS[action.type] = action


def clean_actions(data: Any, *, prefix: str = "actions") -> list[dict[str, Any]]:
    errors = Collector()
    if not isinstance(data, list) or not data:
        errors.add(prefix, "A rule does at least one thing: give a list of actions.", code="invalid.actions")
        errors.raise_if_any()
    if len(data) > MAX_ACTIONS:
        errors.add(prefix, f"A rule has at most {MAX_ACTIONS} actions.", code="invalid.too_many")
        errors.raise_if_any()
    out = []
    for i, item in enumerate(data):
        path = f"{prefix}.{i}"
        action = ACTIONS.get(str(item.get("type"))) if isinstance(item, dict) else None
        if action is None:
            errors.add(
                f"{path}.type", f"An action's type is one of {', '.join(ACTIONS)}.", code="invalid.action"
            )
            continue
        for name in item:
            if name not in {*action.fields, "type", "delay_minutes"}:
                errors.add(f"{path}.{name}", f"{action.type} has no {name!r}.", code="invalid.field")
        delay = item.get("delay_minutes", 0)
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY:
            errors.add(
                f"{path}.delay_minutes", "Give a delay in minutes, from 0 to a year.", code="invalid.number"
            )
            delay = 0
        out.append({"type": action.type, "delay_minutes": delay, **action.clean(item, errors, path)})
    errors.raise_if_any()
    return out
