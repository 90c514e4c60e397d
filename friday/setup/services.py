"""The only write path of the setup guide: the business, its terms, its team, its starter rules, skipping and
resuming steps, and putting things away. Each writes only what the user chose; running it again on a configured
install changes nothing unless they choose to change something."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from friday.accounts.models import Role, Scope, User
from friday.accounts.scoping import require_admin
from friday.core import business, clock
from friday.core.errors import Collector, Conflict, FridayError, NotFound
from friday.core.events import event_emit
from friday.core.models import Business
from friday.setup.models import Dismissal, StepState, StepStatus
from friday.setup.steps import step_get, steps

# The three starter rules the guide offers (friday.automation.starters), by name.
STARTER_RULES = (
    "Birthday email",
    "Check in after 60 days without contact",
    "Tell the client when their job moves",
)


# --- steps -------------------------------------------------------------------------------------------------------


def _step_key(key: str) -> str:
    if step_get(key) is None:
        raise NotFound(f"The guide has no step {key!r}.", code="setup.no_step")
    return key


@transaction.atomic
def step_record(*, by: User, key: str, status: str) -> StepState:
    """Remember that `by` finished (from the guide) or skipped a step, and when."""
    require_admin(by)
    _step_key(key)
    if status not in StepStatus.values:
        raise FridayError(
            f"A step is done or skipped, not {status!r}.", code="invalid.status", field="status"
        )
    state, _ = StepState.objects.update_or_create(
        key=key, defaults={"status": status, "by": by, "at": clock.now()}
    )
    return state


def step_skip(*, by: User, key: str) -> StepState:
    return step_record(by=by, key=key, status=StepStatus.SKIPPED)


@transaction.atomic
def step_resume(*, by: User, key: str) -> None:
    """Take a skipped step up again: it is open until its data says it is done."""
    require_admin(by)
    StepState.objects.filter(key=_step_key(key), status=StepStatus.SKIPPED).delete()


# --- the business ------------------------------------------------------------------------------------------------


@transaction.atomic
def business_update(*, by: User, name: str, time_zone: str, currency: str, region: str) -> Business:
    """Change the business's name, time zone, currency and region. Saving what is already there writes nothing
    (except the first time, when a person confirms what the environment said). A new time zone moves the days
    of the stage history, so the processes' daily roll-ups are recounted by a task queued in this transaction; a
    new currency does the same for the customer figures (kept in the home currency)."""
    require_admin(by)
    clean = business.clean(name=name, time_zone=time_zone, currency=currency, region=region)
    business.current()  # the row exists from here on
    row = Business.objects.select_for_update().get(pk=1)
    changed = {k: v for k, v in clean.items() if getattr(row, k) != v}
    if not changed and row.updated_by_id is not None:
        return row
    for field, value in changed.items():
        setattr(row, field, value)
    row.version += 1
    row.updated_at, row.updated_by = clock.now(), by
    row.save()
    event_emit(name="business.updated", subject=row, actor=by, payload={"changed": sorted(changed)})
    if "time_zone" in changed:
        from friday.processes.models import StageChange
        from friday.setup.tasks import rollups_recount

        if StageChange.objects.exists():
            rollups_recount.enqueue()
    if "currency" in changed:
        from friday.insights.tasks import insights_recompute
        from friday.parties.models import Party

        if Party.objects.exists():  # the customer figures are kept in the home currency: count them again
            insights_recompute.enqueue()
    business.forget()
    transaction.on_commit(business.forget)
    if {"time_zone", "currency"} & set(changed):
        from django.core.cache import cache

        from friday.strategy.selectors import CACHE_KEY

        # The goals' figures were worked out in the old zone or currency (this process's copy; others within 5 min).
        transaction.on_commit(lambda: cache.delete(CACHE_KEY))
    StepState.objects.update_or_create(
        key="business", defaults={"status": StepStatus.DONE, "by": by, "at": clock.now()}
    )
    return row


# --- terms -------------------------------------------------------------------------------------------------------


@dataclass
class TermChoice:
    name: str
    definition: str
    add: bool = False  # a new term: add it
    replace: bool = False  # a term already there: overwrite its definition with this one


@dataclass
class TermsResult:
    added: list[str]
    replaced: list[str]
    kept: list[str]


@transaction.atomic
def terms_install(*, by: User, choices: list[TermChoice]) -> TermsResult:
    """Add the chosen template terms, with the definitions as edited. A term already in the glossary is kept as
    it is unless `replace` was chosen for it. Errors come back by field `terms.<i>.definition`."""
    from friday.processes.models import Term
    from friday.processes.services import require_process_editor, term_save

    require_admin(by)
    require_process_editor(by)
    existing = {t.name.casefold(): t for t in Term.objects.all()}
    result = TermsResult([], [], [])
    errors = Collector()
    for i, choice in enumerate(choices):
        term = existing.get(" ".join(choice.name.split()).casefold())
        if (term is None and not choice.add) or (term is not None and not choice.replace):
            if term is not None:
                result.kept.append(term.name)
            continue
        if term is not None and term.definition == choice.definition.strip():
            result.kept.append(term.name)
            continue
        try:
            with transaction.atomic():
                saved = term_save(by=by, term=term, name=choice.name, definition=choice.definition)
        except FridayError as exc:
            for error in getattr(exc, "errors", [exc]):
                errors.add(
                    f"terms.{i}.{error.field or 'definition'}", f"{choice.name}: {error.detail}", error.code
                )
            continue
        (result.added if term is None else result.replaced).append(saved.name)
    errors.raise_if_any()
    if result.added or result.replaced:
        StepState.objects.update_or_create(
            key="terms", defaults={"status": StepStatus.DONE, "by": by, "at": clock.now()}
        )
    return result


# --- the team ----------------------------------------------------------------------------------------------------


@transaction.atomic
def team_invite(
    *, by: User, username: str, role: str, email: str = "", first_name: str = "", last_name: str = ""
) -> tuple[User, str]:
    """A new user with a one-time password, shown once to the admin to pass on (they change it on the
    Password page). Admins and managers see everything; others see their own records and their teams'."""
    from friday.accounts.services import user_create

    require_admin(by)
    password = secrets.token_urlsafe(12)
    scope = Scope.ALL if role in (Role.ADMIN, Role.MANAGER) else Scope.TEAM
    user = user_create(
        by=by,
        username=username,
        password=password,
        role=role,
        scope=scope,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    StepState.objects.update_or_create(
        key="team", defaults={"status": StepStatus.DONE, "by": by, "at": clock.now()}
    )
    return user, password


# --- the starter rules -------------------------------------------------------------------------------------------


@transaction.atomic
def starter_rules_add(*, by: User) -> tuple[int, int]:
    """Add the starter templates and rules that are missing, all switched off (nothing already there changes)."""
    from friday.automation import starters

    require_admin(by)
    return starters.install(by=by)


@transaction.atomic
def starter_rules_switch_on(*, by: User, names: list[str]) -> list[str]:
    """Switch on the chosen ones of the three starter rules. Never switches a rule off; a rule already on is left
    alone. Returns the names switched on now."""
    from friday.automation.models import Rule
    from friday.automation.services import rule_set_enabled

    require_admin(by)
    unknown = [n for n in names if n not in STARTER_RULES]
    if unknown:
        raise FridayError(
            f"{unknown[0]!r} is not one of the starter rules.", code="setup.no_rule", field="rules"
        )
    switched: list[str] = []
    for rule in Rule.objects.filter(name__in=names, enabled=False).order_by("name"):
        rule_set_enabled(by=by, rule=rule, enabled=True)
        switched.append(rule.name)
    if switched:
        StepState.objects.update_or_create(
            key="rules", defaults={"status": StepStatus.DONE, "by": by, "at": clock.now()}
        )
    return switched


# --- putting things away ----------------------------------------------------------------------------------------

CHECKLIST = "checklist"


@transaction.atomic
def dismiss(*, user: User, key: str) -> Dismissal:
    """Put away the checklist (only once every step is done or skipped) or one suggestion, for this user."""
    if key == CHECKLIST:
        skipped = set(StepState.objects.filter(status=StepStatus.SKIPPED).values_list("key", flat=True))
        open_steps = [s.title for s in steps() if s.key not in skipped and not s.done()]
        if open_steps:
            raise Conflict(
                f"The checklist stays until every step is done or skipped; still open: {', '.join(open_steps)}.",
                code="setup.checklist_open",
            )
    elif not key.startswith("suggest:") or len(key) > 60:
        raise FridayError(f"There is nothing called {key!r} to put away.", code="setup.no_such_thing")
    dismissal, _ = Dismissal.objects.get_or_create(user=user, key=key, defaults={"at": clock.now()})
    return dismissal


# --- the first goals --------------------------------------------------------------------------------------------

# Four goals most service businesses share (issue 8's examples), offered ready to adopt: each is an ordinary goal,
# edited on the Strategy page like any other.
STARTER_GOALS: list[dict[str, Any]] = [
    {
        "key": "retention",
        "title": "Keep 90% of last year's customers",
        "metric": "retention",
        "target": "90",
        "direction": "at_least",
        "period": "year",
    },
    {
        "key": "nps",
        "title": "NPS of 50 or more",
        "metric": "nps",
        "target": "50",
        "direction": "at_least",
        "period": "quarter",
    },
    {
        "key": "margin",
        "title": "Gross margin of 35% or more",
        "metric": "gross_margin",
        "target": "35",
        "direction": "at_least",
        "period": "month",
    },
    {
        "key": "overdue",
        "title": "No reminder overdue more than 2 days",
        "metric": "overdue_reminders",
        "target": "0",
        "direction": "at_most",
        "period": "month",
        "params": {"days": 2},
    },
]


def customers_on_file() -> bool:
    """Whether anyone has the customer role yet (the starter rules act on customers: the rules step says so)."""
    from friday.parties.models import PartyRole, RoleName

    return PartyRole.objects.filter(role=RoleName.CUSTOMER).exists()


def starter_goals_offered() -> list[dict[str, Any]]:
    """The starter goals whose metric no active goal tracks yet."""
    from friday.strategy.selectors import goal_list

    tracked = set(goal_list().values_list("metric", flat=True))
    return [g for g in STARTER_GOALS if g["metric"] not in tracked]


@transaction.atomic
def starter_goals_add(*, by: User, keys: list[str]) -> list[str]:
    """Adopt the chosen starter goals (by key) still offered; all or none. Unknown keys are refused; one already
    tracked is left out (running the guide again adds nothing). Returns the titles added."""
    from friday.strategy import services as strategy_services

    require_admin(by)
    known = {g["key"] for g in STARTER_GOALS}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise FridayError(
            f"{unknown[0]!r} is not one of the starter goals.", code="setup.no_goal", field="goal"
        )
    added = []
    for g in starter_goals_offered():
        if g["key"] in keys:
            strategy_services.goal_save(
                by=by,
                data=strategy_services.GoalIn(
                    title=g["title"],
                    metric=g["metric"],
                    target=g["target"],
                    direction=g["direction"],
                    period=g["period"],
                    params=dict(g.get("params", {})),
                ),
            )
            added.append(g["title"])
    return added
