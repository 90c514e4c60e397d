"""Writing goals (admins and managers only, every bad input refused by its field), where a goal stands on the
constructed history, and the daily readings: idempotent, catching up after downtime, run by the worker."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine

from friday.core import scheduler
from friday.core.errors import PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.strategy import selectors, services
from friday.strategy.models import Goal, GoalReading, Status
from friday.strategy.services import GoalIn, goal_save, goal_set_active, readings_write
from tests.strategy.conftest import TODAY, at


def _goal(by, **fields) -> Goal:
    data = {"title": "Keep our customers", "metric": "retention", "target": "90", "period": "month"}
    data.update(fields)
    with time_machine.travel(at(2026, 4, 1, 8), tick=False):
        return goal_save(by=by, data=GoalIn(**data))


def test_an_admin_or_a_manager_writes_a_goal_and_it_is_recorded(cast, london):
    goal = _goal(cast.manager, title="  Keep   our customers ", owner=cast.alice)
    assert (goal.title, goal.metric, goal.target, goal.direction, goal.period, goal.owner) == (
        "Keep our customers",
        "retention",
        D("90.00"),
        "at_least",
        "month",
        cast.alice,
    )
    assert DomainEvent.objects.filter(name="goal.created", subject_id=goal.pk).exists()
    assert selectors.goals_exist()
    goal = goal_save(by=cast.admin, goal=goal, data=GoalIn(title="Keep them", metric="nps", target="50"))
    assert (goal.title, goal.metric, goal.owner) == ("Keep them", "nps", cast.alice)  # the owner stays


@pytest.mark.parametrize("who", ["alice", "reader"])
def test_members_and_readers_may_not_write_goals(cast, london, who):
    with pytest.raises(PermissionDenied):
        goal_save(by=getattr(cast, who), data=GoalIn(title="Mine", metric="nps", target="50"))
    goal = _goal(cast.admin)
    with pytest.raises(PermissionDenied):
        goal_set_active(by=getattr(cast, who), goal=goal, active=False)
    assert Goal.objects.get().active and not Goal.objects.filter(title="Mine").exists()


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"title": " ", "metric": "nope", "target": "lots"}, {"title", "metric", "target"}),
        ({"target": "1e3"}, {"target"}),
        ({"target": "NaN"}, {"target"}),
        ({"target": "12.345"}, {"target"}),
        ({"target": "99999999999999999"}, {"target"}),
        ({"direction": "sideways", "period": "week"}, {"direction", "period"}),
        ({"period": "rolling", "rolling_days": "0"}, {"rolling_days"}),
        ({"period": "rolling", "rolling_days": "abc"}, {"rolling_days"}),
        ({"period": "rolling", "rolling_days": "400"}, {"rolling_days"}),
        ({"metric": "overdue_reminders", "params": {"days": "-1"}}, {"params.days"}),
        ({"metric": "overdue_reminders", "params": {"days": "2", "colour": "red"}}, {"params.colour"}),
        ({"metric": "new_in_stage", "params": {"stage": "astronaut"}}, {"params.stage"}),
        ({"params": ["not", "an", "object"]}, {"params"}),
        ({"title": "x" * 201}, {"title"}),
        ({"title": "nul\x00"}, {"title"}),
    ],
)
def test_bad_input_is_refused_by_its_field(cast, london, lifecycle, fields, errors):
    data = {"title": "A goal", "metric": "retention", "target": "90"}
    data.update(fields)
    with pytest.raises(ValidationFailed) as caught:
        goal_save(by=cast.admin, data=GoalIn(**data))
    assert {e.field for e in caught.value.errors} == errors
    assert not Goal.objects.exists()


def test_new_prospects_needs_a_lifecycle(cast, london):
    with pytest.raises(ValidationFailed) as caught:
        goal_save(by=cast.admin, data=GoalIn(title="Prospects", metric="new_in_stage", target="20"))
    assert (
        caught.value.errors[0].field == "params.stage" and caught.value.errors[0].code == "goal.no_lifecycle"
    )


def test_a_metrics_settings_default_and_are_stored_clean(cast, london, lifecycle):
    goal = _goal(
        cast.admin, metric="overdue_reminders", target="0", direction="at_most", params={"days": " 3 "}
    )
    assert goal.params == {"days": 3}
    goal = _goal(cast.admin, metric="new_in_stage", target="20")
    assert goal.params == {"stage": "qualified"}


def test_at_most_twenty_active_goals(cast, london):
    for i in range(services.MAX_ACTIVE):
        _goal(cast.admin, title=f"Goal {i}")
    with pytest.raises(Exception, match="at most 20 goals") as caught:
        _goal(cast.admin, title="One too many")
    assert caught.value.field == "active"  # type: ignore[attr-defined]
    off = _goal(cast.admin, title="Switched off from the start", active=False)
    goal_set_active(by=cast.admin, goal=Goal.objects.get(title="Goal 0"), active=False)
    goal_set_active(by=cast.admin, goal=off, active=True)
    assert Goal.objects.filter(active=True).count() == services.MAX_ACTIVE


def test_where_each_goal_stands_on_the_history(cast, history):
    retention = _goal(cast.manager, target="90")
    lost = _goal(cast.manager, title="Lose little", metric="lost_value", target="5000", direction="at_most")
    margin = _goal(cast.manager, title="Margin", metric="gross_margin", target="60")
    overdue = _goal(
        cast.manager, title="Nothing late", metric="overdue_reminders", target="0", direction="at_most"
    )
    with time_machine.travel(at(*TODAY), tick=False):
        stand = {g.pk: selectors.standing(g) for g in (retention, lost, margin, overdue)}
    # 6 months, oldest first; June to date: 15 of 30 days gone
    assert [p.span.label for p in stand[retention.pk].points][-3:] == ["Apr 2026", "May 2026", "Jun 2026"]
    assert stand[retention.pk].elapsed_percent == 50
    # retention 50% against 90% at half time: pace 45, so on track; May's 50% (a whole month) is off track
    assert (stand[retention.pk].value, stand[retention.pk].status) == (D("50.0"), Status.ON_TRACK)
    assert stand[retention.pk].points[-2].status == Status.OFF_TRACK
    # £4,000 lost by mid-June projects to £8,000 against at most £5,000: off track; May's £1,500 met
    assert (stand[lost.pk].value, stand[lost.pk].status) == (D("4000.00"), Status.OFF_TRACK)
    assert stand[lost.pk].points[-2].status == Status.MET
    # margin 58.3% against 60%: within 10% below → at risk
    assert (stand[margin.pk].value, stand[margin.pk].status) == (D("58.3"), Status.AT_RISK)
    # two reminders more than 2 days overdue against none
    assert (stand[overdue.pk].value, stand[overdue.pk].status) == (D(2), Status.OFF_TRACK)
    assert {link.url for link in stand[overdue.pk].links} >= {"/reminders/all/?status=active"}


def test_readings_are_written_once_a_day_and_catch_up_after_downtime(cast, history):
    goal = _goal(cast.manager, title="Revenue", metric="revenue", target="1200")
    # first run on 12 June: the days since the goal was made, but no more than a week back (5–11 June), and today
    with time_machine.travel(at(2026, 6, 12, 9), tick=False):
        first = readings_write()
    days = list(GoalReading.objects.filter(goal=goal).order_by("day").values_list("day", "value", "status"))
    assert [d for d, _, _ in days] == [dt.date(2026, 6, d) for d in range(5, 13)]
    assert first.written == 8
    # 5 June: nothing paid in June yet (Bea's 200 on the 2nd) → 200, 5 of 30 days gone → pace 200 → on track;
    # 10 June: + Ada's 400 → 600 against a pace of 400 → on track
    assert days[0][1:] == (D("200.00"), Status.ON_TRACK)
    assert days[5][1:] == (D("600.00"), Status.ON_TRACK)
    # again the same hour, and later that day: nothing new, today's replaced
    with time_machine.travel(at(2026, 6, 12, 10), tick=False):
        again = readings_write()
    assert again.written == 1 and GoalReading.objects.filter(goal=goal).count() == 8
    # down for two days: the 13th and 14th are written on the 15th, once
    with time_machine.travel(at(*TODAY), tick=False):
        readings_write()
        readings_write()
    assert list(
        GoalReading.objects.filter(goal=goal, day__gte=dt.date(2026, 6, 12)).values_list("day", flat=True)
    ) == [
        dt.date(2026, 6, 12),
        dt.date(2026, 6, 13),
        dt.date(2026, 6, 14),
        dt.date(2026, 6, 15),
    ]
    # 15 June: 600 against a pace of 1200 × 15/30 = 600 → on track; a switched-off goal is not read
    assert GoalReading.objects.get(goal=goal, day=dt.date(2026, 6, 15)).status == Status.ON_TRACK
    goal_set_active(by=cast.admin, goal=goal, active=False)
    with time_machine.travel(at(2026, 6, 16, 9), tick=False):
        assert readings_write().written == 0


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_queues_the_readings_and_the_worker_writes_them(cast, history, run_worker):
    goal = _goal(cast.manager, title="Revenue", metric="revenue", target="1200")
    with time_machine.travel(at(*TODAY), tick=False):
        queued = scheduler.run_due(
            worker_id="test", jobs=[j for j in scheduler.registry() if j.name == "strategy.readings"]
        )
        run_worker()
    assert queued == ["strategy.readings"]
    assert GoalReading.objects.filter(goal=goal, day=dt.date(2026, 6, 15), value=D("600.00")).exists()
