"""What the guide and the dashboard show: each step's state, the checklist, and the "grow into it" suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from friday.accounts.models import User
from friday.setup.models import Dismissal, StepState, StepStatus
from friday.setup.services import CHECKLIST
from friday.setup.steps import Step, steps
from friday.setup.suggestions import suggestions_for


@dataclass
class StepView:
    step: Step
    status: str  # "done", "skipped" or "open"
    href: str
    summary: str
    state: StepState | None

    @property
    def key(self) -> str:
        return self.step.key


def guide(*, include_summary: bool = True) -> list[StepView]:
    """Every step with its state: done when its data says so, else skipped if someone skipped it, else open."""
    states = {s.key: s for s in StepState.objects.select_related("by")}
    out = []
    for step in steps():
        state = states.get(step.key)
        if step.done():
            status = "done"
        elif state is not None and state.status == StepStatus.SKIPPED:
            status = "skipped"
        else:
            status = "open"
        summary = step.summary() if include_summary and step.summary else ""
        out.append(StepView(step, status, step.href(), summary, state))
    return out


def next_step(views: list[StepView], *, after: str | None = None) -> StepView | None:
    """The first open step after `after` (or from the start), else the first open one anywhere."""
    keys = [v.key for v in views]
    start = keys.index(after) + 1 if after in keys else 0
    for v in views[start:] + views[:start]:
        if v.status == "open" and v.key != after:
            return v
    return None


def dashboard(*, user: User) -> dict[str, Any]:
    """The dashboard's setup card (admins, until they put it away) and up to two suggestions."""
    dismissed = set(Dismissal.objects.filter(user=user).values_list("key", flat=True))
    checklist = None
    if user.is_admin and CHECKLIST not in dismissed:
        views = guide(include_summary=False)
        done = sum(v.status == "done" for v in views)
        settled = sum(v.status != "open" for v in views)
        checklist = {
            "steps": views,
            "done": done,
            "total": len(views),
            "settled": settled == len(views),
            "next": next_step(views),
        }
    return {"checklist": checklist, "suggestions": suggestions_for(user, dismissed=dismissed)}
