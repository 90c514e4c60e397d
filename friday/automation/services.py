"""The only write path for automation: rules (validated), firings (once per key), and running their actions
(claimed with a lease, a ledger row per attempt, retried with backoff, dead-lettered to the rule's owner)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from friday.accounts.models import User
from friday.automation import actions as action_types
from friday.automation import conditions, triggers
from friday.automation.models import (
    ActionAttempt,
    ActionRun,
    Firing,
    FiringSource,
    Rule,
    RuleVersion,
    RunStatus,
)
from friday.core import clock
from friday.core.errors import Collector, Conflict, FridayError, PermissionDenied, ValidationFailed
from friday.core.events import event_emit
from friday.parties.models import Party
from friday.parties.services import timeline_add

logger = logging.getLogger("friday.automation")

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = (60, 300, 1800, 7200)  # seconds before attempts 2, 3, 4, 5


def require_rule_editor(user: User) -> None:
    if not user.can_edit_processes:
        raise PermissionDenied("Only an admin or a manager can change rules.", code="permission.rule_editor")


@dataclass
class RuleIn:
    name: str
    trigger: Any
    actions: Any
    conditions: Any = None
    description: str = ""
    owner: User | None = None
    enabled: bool = False


def clean_rule(data: RuleIn) -> dict[str, Any]:
    """Everything about a rule that can be wrong, each by its path (name, trigger.days, actions.0.template …)."""
    errors = Collector()
    name = " ".join((data.name or "").split())
    if not name or len(name) > 100:
        errors.add("name", "Give the rule a name of at most 100 characters.", code="invalid.required")
    if len(data.description or "") > 2000:
        errors.add("description", "A description has at most 2,000 characters.", code="invalid.too_long")
    out: dict[str, Any] = {"name": name, "description": (data.description or "").strip()}
    for part, clean in (
        ("trigger", triggers.clean_trigger),
        ("conditions", conditions.clean_conditions),
        ("actions", action_types.clean_actions),
    ):
        try:
            out[part] = clean(getattr(data, part))
        except ValidationFailed as exc:
            for e in exc.errors:
                errors.add(e.field or part, e.detail, code=e.code)
    if data.owner is not None and not data.owner.is_active:
        errors.add("owner", "The owner must be an active colleague.", code="invalid.owner")
    errors.raise_if_any()
    return out


def _refuse_lint_errors(clean: dict[str, Any], owner: User) -> None:
    from friday.automation.lint import ERROR, lint_rule

    draft = Rule(owner=owner, enabled=True, secret="", **clean)
    errors = [f for f in lint_rule(draft) if f.severity == ERROR]
    if errors:
        raise ValidationFailed([FridayError(f.message, code=f"lint.{f.code}", field=f.field) for f in errors])


@transaction.atomic
def rule_save(*, by: User, data: RuleIn, rule: Rule | None = None) -> Rule:
    """Create or change a rule. Refused, each problem by its path, when it is malformed or the lint finds an
    error (it could never fire, or would fail every time); warnings are for the page to show."""
    require_rule_editor(by)
    if rule is not None:
        # Locked and read afresh: a switch or a go-live at the same moment waits (one history number each),
        # and what it changed (the switch, the draft) is not written back from the caller's older copy.
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
    clean = clean_rule(data)
    _refuse_lint_errors(clean, data.owner or (rule.owner if rule else by))
    now = clock.now()
    created = rule is None
    if rule is None:
        rule = Rule(created_at=now, secret=secrets.token_hex(32), owner=data.owner or by)
    elif data.owner is not None:
        rule.owner = data.owner
    was_enabled = rule.enabled and not created
    for name, value in clean.items():
        setattr(rule, name, value)
    rule.enabled = data.enabled
    if rule.enabled and not was_enabled:
        # A rule acts from the moment it is switched on: it does not fire for what happened before.
        rule.swept_until = rule.enabled_at = now
    rule.updated_at, rule.updated_by = now, by
    rule.save()
    rule_version_write(rule=rule, by=by, how="saved")
    event_emit(
        name="rule.created" if created else "rule.updated",
        subject=rule,
        actor=by,
        payload={"enabled": rule.enabled, "trigger": rule.trigger["type"]},
    )
    return rule


@transaction.atomic
def rule_set_enabled(*, by: User, rule: Rule, enabled: bool) -> Rule:
    require_rule_editor(by)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if rule.enabled == enabled:
        return rule
    if enabled and rule.draft and not rule.versions.exists():
        # Only a draft so far: switching it on would skip the checks going live makes.
        raise Conflict(
            "This rule is only a draft: review it and go live with it (Sandbox).", code="rule.draft_only"
        )
    rule.enabled, rule.updated_at, rule.updated_by = enabled, clock.now(), by
    if enabled:
        rule.swept_until = rule.enabled_at = rule.updated_at
    rule.save()
    rule_version_write(rule=rule, by=by, how="enabled" if enabled else "disabled")
    event_emit(name="rule.enabled" if enabled else "rule.disabled", subject=rule, actor=by, payload={})
    return rule


@transaction.atomic
def rule_delete(*, by: User, rule: Rule) -> None:
    require_rule_editor(by)
    event_emit(name="rule.deleted", subject=rule, actor=by, payload={"name": rule.name})
    rule.delete()


# --- history and drafts (the sandbox) ------------------------------------------------------------------------

SNAPSHOT_PARTS = ("name", "description", "trigger", "conditions", "actions", "owner_id", "enabled")
DRAFT_PARTS = ("name", "description", "trigger", "conditions", "actions", "owner_id")


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    return {part: getattr(rule, part) for part in SNAPSHOT_PARTS}


def rule_version_write(*, rule: Rule, by: User | None, how: str, note: str = "") -> RuleVersion:
    """One row of the rule's history, written by every change that reaches the rule (inside its transaction):
    the rule as it now is and the parts that differ from the row before."""
    last = RuleVersion.objects.filter(rule=rule).order_by("-number").first()
    snapshot = rule_snapshot(rule)
    before = last.snapshot if last else {}
    changed = [part for part in SNAPSHOT_PARTS if before.get(part) != snapshot[part]] if last else ["created"]
    return RuleVersion.objects.create(
        rule=rule,
        number=(last.number + 1) if last else 1,
        how=how,
        snapshot=snapshot,
        changed=changed,
        note=note.strip()[:200],
        at=clock.now(),
        by=by,
    )


def draft_rule(rule: Rule) -> Rule:
    """The rule as its draft would make it — unsaved, with the live rule's id, so its forecast leaves out what
    the live rule has already fired (after going live those keys are the same: nothing fires twice)."""
    if not rule.draft:
        raise FridayError("This rule has no draft.", code="rule.no_draft")
    draft = Rule(
        owner_id=rule.draft.get("owner_id") or rule.owner_id,
        enabled=True,
        updated_at=rule.draft_updated_at or rule.updated_at,
        **{part: rule.draft[part] for part in DRAFT_PARTS if part != "owner_id"},
    )
    return draft_of(rule, draft)


@transaction.atomic
def rule_draft_save(*, by: User, data: RuleIn, rule: Rule | None = None) -> Rule:
    """Keep an edit as the rule's draft: the live rule — what the sweep evaluates and what it sends — does not
    change until the draft goes live. A new rule saved as a draft is created switched off, its draft pending.
    The draft must be well formed (checked by path, as saving is); its lint is shown, and errors stop only the
    going live."""
    require_rule_editor(by)
    clean = clean_rule(data)
    now = clock.now()
    owner = data.owner or (rule.owner if rule else by)
    if rule is None:
        rule = Rule(created_at=now, updated_at=now, updated_by=by, secret=secrets.token_hex(32), owner=owner)
        rule.enabled = False
        for name, value in clean.items():
            setattr(rule, name, value)
    else:
        rule = Rule.objects.select_for_update().get(pk=rule.pk)
    rule.draft = {**clean, "owner_id": owner.pk}
    rule.draft_updated_at, rule.draft_updated_by = now, by
    rule.save()
    event_emit(name="rule.draft_saved", subject=rule, actor=by, payload={"trigger": clean["trigger"]["type"]})
    return rule


@transaction.atomic
def rule_draft_discard(*, by: User, rule: Rule) -> bool:
    """Throw the draft away; the live rule stays as it is. A rule that only ever was a draft (no history) goes
    with it. Returns whether the rule itself was removed."""
    require_rule_editor(by)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if not rule.draft:
        raise FridayError("This rule has no draft.", code="rule.no_draft")
    if not rule.versions.exists() and not rule.enabled and not rule.firings.exists():
        event_emit(name="rule.draft_discarded", subject=rule, actor=by, payload={"deleted": True})
        rule.delete()
        return True
    rule.draft, rule.draft_updated_at, rule.draft_updated_by = {}, None, None
    rule.save(update_fields=["draft", "draft_updated_at", "draft_updated_by"])
    event_emit(name="rule.draft_discarded", subject=rule, actor=by, payload={"deleted": False})
    return False


@transaction.atomic
def rule_go_live(*, by: User, rule: Rule, note: str = "") -> RuleVersion:
    """The one step from draft to live: the draft replaces the rule's trigger, conditions and actions, the rule
    is switched on, the draft is cleared and the history records who, when and what changed — all in one
    transaction, with the rule row locked so a sweep evaluates either the old rule or the new one. Refused,
    each problem by its path, when the draft no longer validates (a template was deleted meanwhile) or the lint
    finds an error."""
    require_rule_editor(by)
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if not rule.draft:
        raise FridayError("This rule has no draft.", code="rule.no_draft")
    if len(note) > 200:
        raise ValidationFailed(
            [FridayError("A note has at most 200 characters.", code="invalid.too_long", field="note")]
        )
    owner = User.objects.filter(pk=rule.draft.get("owner_id") or rule.owner_id).first() or rule.owner
    data = RuleIn(
        name=rule.draft["name"],
        description=rule.draft.get("description", ""),
        trigger=rule.draft["trigger"],
        conditions=rule.draft.get("conditions") or None,
        actions=rule.draft["actions"],
        owner=owner,
        enabled=True,
    )
    clean = clean_rule(data)
    _refuse_lint_errors(clean, owner)
    now = clock.now()
    for name, value in clean.items():
        setattr(rule, name, value)
    rule.owner = owner
    if not rule.enabled:
        # A rule acts from the moment it is switched on: it does not fire for what happened before.
        rule.enabled, rule.swept_until, rule.enabled_at = True, now, now
    rule.draft, rule.draft_updated_at, rule.draft_updated_by = {}, None, None
    rule.updated_at, rule.updated_by = now, by
    rule.save()
    version = rule_version_write(rule=rule, by=by, how="live", note=note)
    event_emit(
        name="rule.went_live",
        subject=rule,
        actor=by,
        payload={"version": version.number, "changed": version.changed},
    )
    return version


# --- firing -------------------------------------------------------------------------------------------------------


def firing_key(rule: Rule, match: triggers.Match) -> str:
    return f"{rule.pk}:{match.record_type or '-'}:{match.record_id or '-'}:{match.occurrence}"[:200]


def fire(rule: Rule, match: triggers.Match, *, source: str, now: dt.datetime | None = None) -> Firing | None:
    """Record one firing with its action runs, in one transaction; None when that key has fired already."""
    now = now or clock.now()
    key = firing_key(rule, match)
    try:
        with transaction.atomic():
            firing = Firing.objects.create(
                rule=rule,
                key=key,
                record_type=match.record_type,
                record_id=match.record_id,
                party_id=match.party_id,
                occurrence=match.occurrence[:100],
                due_at=match.due_at,
                fired_at=now,
                source=source,
                snapshot=match.snapshot,
            )
            ActionRun.objects.bulk_create(
                [
                    ActionRun(
                        firing=firing,
                        index=i,
                        action_type=a["type"],
                        run_after=now + dt.timedelta(minutes=a.get("delay_minutes", 0)),
                    )
                    for i, a in enumerate(rule.actions)
                ]
            )
    except IntegrityError:
        return None  # fired before (a re-run, a second worker): once is enough
    return firing


def _candidates(rule: Rule) -> Any:
    return Party.objects.filter(conditions.party_q(rule.conditions))


def _passes(rule: Rule, matches: list[triggers.Match]) -> list[triggers.Match]:
    """The matches whose party and record meet the rule's conditions (one query for the party part)."""
    if not rule.conditions:
        return matches
    party_ids = {m.party_id for m in matches if m.party_id}
    allowed = (
        set(_candidates(rule).filter(pk__in=party_ids).values_list("pk", flat=True)) if party_ids else set()
    )
    has_party_part = conditions._has_party(rule.conditions)
    out = []
    for m in matches:
        if has_party_part and m.party_id not in allowed:
            continue
        if not conditions.record_matches(rule.conditions, m.snapshot):
            continue
        out.append(m)
    return out


def matches_between(rule: Rule, start: dt.datetime, end: dt.datetime) -> list[triggers.Match]:
    """Every match of the rule in (start, end], conditions applied — the same for a sweep and a forecast."""
    if triggers.is_event(rule.trigger):
        found = list(triggers.event_matches(rule.trigger, start, end, since=rule.enabled_at))
    else:
        found = list(
            triggers.time_matches(rule.trigger, start, end, _candidates(rule), since=rule.enabled_at)
        )
    return _passes(rule, found)


@dataclass
class SweepResult:
    rules: int = 0
    matched: int = 0
    fired: int = 0

    def __str__(self) -> str:
        return f"{self.rules} rule(s), {self.matched} match(es), {self.fired} new firing(s)"


def sweep(*, now: dt.datetime | None = None, rule_ids: list[int] | None = None) -> SweepResult:
    """Evaluate every enabled rule for the moments since it was last evaluated, up to now. Each rule is claimed
    with a row lock while it is swept (PostgreSQL: SKIP LOCKED, so two sweepers share the rules); the firing
    keys make any overlap harmless."""
    now = now or clock.now()
    result = SweepResult()
    ids = list(Rule.objects.filter(enabled=True).order_by("id").values_list("pk", flat=True))
    for pk in ids if rule_ids is None else [i for i in ids if i in rule_ids]:
        with transaction.atomic():
            rule = Rule.objects.select_for_update(skip_locked=True).filter(pk=pk, enabled=True).first()
            if rule is None:
                continue
            start = max(rule.swept_until or now, now - triggers.MAX_CATCH_UP)
            if start >= now:
                continue
            matches = matches_between(rule, start, now)
            result.rules += 1
            result.matched += len(matches)
            for match in matches:
                if fire(
                    rule,
                    match,
                    source=FiringSource.EVENT if triggers.is_event(rule.trigger) else FiringSource.SWEEP,
                    now=now,
                ):
                    result.fired += 1
            rule.swept_until = now
            rule.save(update_fields=["swept_until"])
    if result.fired:
        transaction.on_commit(
            _kick_runner
        ) if transaction.get_connection().in_atomic_block else _kick_runner()
    return result


def _kick_runner() -> None:
    from friday.automation.tasks import automation_run

    automation_run.enqueue()


# --- running actions ---------------------------------------------------------------------------------------------


def _due() -> Q:
    now = clock.now()
    return Q(status__in=(RunStatus.PENDING, RunStatus.RETRYING), run_after__lte=now) | Q(
        status=RunStatus.RUNNING, claimed_until__lt=now
    )


@dataclass
class RunResult:
    done: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0

    def __str__(self) -> str:
        return f"done {self.done}, to retry {self.retrying}, gave up {self.dead}, skipped {self.skipped}"


def run_due(*, worker_id: str, batch: int = 100, limit: int | None = None) -> RunResult:
    """Run the actions that are due. Each is claimed with a conditional update and a lease; a worker that dies
    leaves a claim that expires and the run is tried again — its effect keyed by the run, so not doubled."""
    result = RunResult()
    done = 0
    while limit is None or done < limit:
        ids = list(
            ActionRun.objects.filter(_due()).order_by("run_after", "id").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        for pk in ids:
            now = clock.now()
            claimed = ActionRun.objects.filter(_due(), pk=pk).update(
                status=RunStatus.RUNNING,
                claimed_by=worker_id[:64],
                claimed_until=now + LEASE,
                attempts=F("attempts") + 1,
            )
            if claimed:
                _run_one(pk, worker_id, result)
                done += 1
    return result


def _run_one(pk: int, worker_id: str, result: RunResult) -> None:
    run = ActionRun.objects.select_related("firing__rule__owner", "firing__party").get(pk=pk)
    firing, rule = run.firing, run.firing.rule
    attempt = ActionAttempt.objects.create(
        run=run, number=run.attempts, started_at=clock.now(), worker=worker_id[:64]
    )
    settings = rule.actions[run.index] if run.index < len(rule.actions) else None
    action = action_types.ACTIONS.get(run.action_type)
    mine = ActionRun.objects.filter(pk=pk, claimed_by=worker_id[:64], status=RunStatus.RUNNING)
    try:
        if settings is None or action is None or settings.get("type") != run.action_type:
            raise action_types.Permanent("The rule changed: this action is no longer in it.")
        registered = triggers.REGISTERED.get(rule.trigger.get("type", ""))
        if registered is not None and registered.still_due is not None:
            why = registered.still_due(firing)  # e.g. the overdue invoice was paid since it fired
            if why:
                raise action_types.Skip(why)
        with transaction.atomic():
            outcome = action.run(rule=rule, firing=firing, run=run, settings=settings)
            if outcome.get(
                "failed"
            ):  # what it wrote stays (e.g. the outbox row saying why); the run gives up
                ActionAttempt.objects.filter(pk=attempt.pk).update(
                    ok=False, error=outcome["failed"][:4000], finished_at=clock.now()
                )
                _dead(run, mine, outcome["failed"])
                result.dead += 1
                return
            if outcome.get("skipped"):
                mine.update(
                    status=RunStatus.SKIPPED,
                    result=outcome,
                    last_error=outcome["skipped"][:4000],
                    finished_at=clock.now(),
                    claimed_until=None,
                )
                ActionAttempt.objects.filter(pk=attempt.pk).update(
                    ok=True, error=outcome["skipped"][:4000], finished_at=clock.now()
                )
                result.skipped += 1
                return
            mine.update(
                status=RunStatus.DONE,
                result=outcome,
                finished_at=clock.now(),
                claimed_until=None,
                last_error="",
            )
            ActionAttempt.objects.filter(pk=attempt.pk).update(ok=True, finished_at=clock.now())
            if firing.party is not None:
                timeline_add(
                    firing.party,
                    event="automation.action",
                    # What it did for this firing: placeholders filled ({party} → the name), not the rule's words.
                    subject=f"Rule “{rule.name}”: {action_types.fill_placeholders(action.describe(settings), firing)}"[
                        :200
                    ],
                    by=None,
                    data={"rule_id": rule.pk, "firing_id": firing.pk, "run_id": run.pk},
                )
        result.done += 1
    except action_types.Skip as exc:
        mine.update(
            status=RunStatus.SKIPPED, last_error=exc.detail, finished_at=clock.now(), claimed_until=None
        )
        ActionAttempt.objects.filter(pk=attempt.pk).update(ok=True, error=exc.detail, finished_at=clock.now())
        result.skipped += 1
    except (
        Exception
    ) as exc:  # every failure is recorded on the run and its attempt, then retried or dead-lettered
        permanent = isinstance(exc, (action_types.Permanent, ValidationFailed, PermissionDenied))
        message = exc.detail if isinstance(exc, FridayError) else f"{type(exc).__name__}: {exc}"
        ActionAttempt.objects.filter(pk=attempt.pk).update(
            ok=False, error=message[:4000], finished_at=clock.now()
        )
        if permanent or run.attempts >= MAX_ATTEMPTS:
            _dead(run, mine, message)
            result.dead += 1
        else:
            delay = BACKOFF[min(run.attempts - 1, len(BACKOFF) - 1)]
            mine.update(
                status=RunStatus.RETRYING,
                last_error=message[:4000],
                run_after=clock.now() + dt.timedelta(seconds=delay),
                claimed_until=None,
            )
            result.retrying += 1
        if not permanent:
            logger.warning("automation run %s failed (attempt %s): %s", pk, run.attempts, message)


def _dead(run: ActionRun, mine: Any, message: str) -> None:
    """Give up, and tell the rule's owner with a reminder (once per run)."""
    from friday.reminders.services import ReminderIn, reminder_create

    rule = run.firing.rule
    with transaction.atomic():
        mine.update(
            status=RunStatus.DEAD, last_error=message[:4000], finished_at=clock.now(), claimed_until=None
        )
        about = f" for {run.firing.party.display_name}" if run.firing.party else ""
        reminder_create(
            by=None,
            data=ReminderIn(
                title=f"Rule “{rule.name}” could not {run.action_type.replace('_', ' ')}{about}"[:200],
                due_at=clock.now(),
                notes=f"After {run.attempts} attempt(s): {message}\nSee Automation → Runs.",
                assignee=rule.owner,
                party=run.firing.party,
            ),
            key=f"dead:{run.pk}",
        )
        if run.firing.party is not None:
            timeline_add(
                run.firing.party,
                event="automation.failed",
                subject=f"Rule “{rule.name}” gave up: {message[:120]}",
                by=None,
                data={"rule_id": rule.pk, "run_id": run.pk},
            )


# --- forecast ------------------------------------------------------------------------------------------------------


@dataclass
class ForecastItem:
    rule: Rule
    match: triggers.Match
    party_name: str
    what: list[str]


@dataclass
class Forecast:
    start: dt.datetime
    end: dt.datetime
    items: list[ForecastItem]
    waiting_for_events: list[Rule]  # event rules: they fire when the event happens, which no one can forecast

    def by_day(self) -> list[tuple[dt.date, list[ForecastItem]]]:
        tz = clock.business_tz()
        days: dict[dt.date, list[ForecastItem]] = {}
        for item in self.items:
            days.setdefault(item.match.due_at.astimezone(tz).date(), []).append(item)
        return sorted(days.items())


def forecast(rules: list[Rule], *, days: int, now: dt.datetime | None = None, limit: int = 5000) -> Forecast:
    """What the rules would do in the next `days` days — every firing, by day, for whom, doing what — computed
    by the same code that evaluates them for real (`matches_between`), writing nothing. Firings that already
    happened are left out. A rule need not be saved: the editor forecasts the rule as it is being written."""
    if not 1 <= days <= 366:
        raise FridayError("Forecast from 1 to 366 days.", code="invalid.days", field="days")
    now = now or clock.now()
    end = now + dt.timedelta(days=days)
    items: list[ForecastItem] = []
    waiting: list[Rule] = []
    for rule in rules:
        if triggers.is_event(rule.trigger):
            waiting.append(rule)
            continue
        matches = matches_between(rule, now, end)
        if rule.pk:
            keys = [firing_key(rule, m) for m in matches]
            done = set(Firing.objects.filter(key__in=keys).values_list("key", flat=True))
            matches = [m for m in matches if firing_key(rule, m) not in done]
        names = dict(
            Party.objects.filter(pk__in={m.party_id for m in matches if m.party_id}).values_list(
                "pk", "display_name"
            )
        )
        what = [
            action_types.ACTIONS[a["type"]].describe(a)
            for a in rule.actions
            if a["type"] in action_types.ACTIONS
        ]
        for match in matches:
            items.append(ForecastItem(rule, match, names.get(match.party_id or 0, ""), what))
            if len(items) >= limit:
                break
    items.sort(key=lambda i: (i.match.due_at, i.rule.name, i.party_name))
    return Forecast(start=now, end=end, items=items[:limit], waiting_for_events=waiting)


def rule_draft(data: RuleIn, *, owner: User) -> Rule:
    """An unsaved rule from an edit, for the forecast (validated as saving would)."""
    clean = clean_rule(data)
    return Rule(owner=owner, enabled=True, secret="", created_at=clock.now(), updated_at=clock.now(), **clean)


@dataclass
class ForecastDiff:
    """What going live would change in the next `days` days: firings the draft adds, those it removes (the live
    rule would make them, the draft would not) and those both make — each matched by record and occurrence."""

    days: int
    live: Forecast | None  # None: the rule is off, so live it sends nothing
    draft: Forecast
    added: list[ForecastItem]
    removed: list[ForecastItem]
    kept: list[ForecastItem]
    changed: list[tuple[ForecastItem, ForecastItem]]  # same firing, another time or actions (live, draft)

    @property
    def waits_for_events(self) -> bool:
        return bool(self.draft.waiting_for_events) or bool(self.live and self.live.waiting_for_events)


def _item_key(item: ForecastItem) -> tuple[str, int | None, str]:
    return (item.match.record_type, item.match.record_id, item.match.occurrence)


def forecast_diff(rule: Rule, *, days: int = 30, now: dt.datetime | None = None) -> ForecastDiff:
    """The saved draft's forecast beside the live rule's, for the sandbox."""
    return forecast_compare(rule, draft_rule(rule), days=days, now=now)


def forecast_compare(
    live: Rule | None, draft: Rule, *, days: int = 30, now: dt.datetime | None = None
) -> ForecastDiff:
    """What replacing `live` by `draft` would change in the next `days` days, computed by `forecast` (the
    sweep's own matching), writing nothing. An off (or no) live rule sends nothing: all the draft's firings are
    added. The draft should carry the live rule's id (`draft_rule`, `draft_of`) so firings already made are left
    out of both sides alike."""
    now = now or clock.now()
    draft_forecast = forecast([draft], days=days, now=now)
    live_forecast = forecast([live], days=days, now=now) if live is not None and live.enabled else None
    live_items = {_item_key(i): i for i in (live_forecast.items if live_forecast else [])}
    draft_items = {_item_key(i): i for i in draft_forecast.items}
    added = [i for k, i in draft_items.items() if k not in live_items]
    removed = [i for k, i in live_items.items() if k not in draft_items]
    kept, changed = [], []
    for k, item in draft_items.items():
        if k in live_items:
            before = live_items[k]
            if before.what != item.what or before.match.due_at != item.match.due_at:
                changed.append((before, item))
            else:
                kept.append(item)
    return ForecastDiff(
        days=days,
        live=live_forecast,
        draft=draft_forecast,
        added=added,
        removed=removed,
        kept=kept,
        changed=changed,
    )


def draft_of(rule: Rule, candidate: Rule) -> Rule:
    """An unsaved edit of `rule` (from `rule_draft`) made to stand where the rule stands: its id, its sweep
    position and its switch-on moment, so its forecast compares with the live rule's like for like."""
    candidate.pk, candidate.secret, candidate.created_at = rule.pk, rule.secret, rule.created_at
    candidate.swept_until = rule.swept_until
    candidate.enabled_at = rule.enabled_at if rule.enabled else None
    return candidate
