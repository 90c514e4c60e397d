"""The guide's "first goals" step: starter goals adopted as ordinary goals, none offered twice."""

from __future__ import annotations

from decimal import Decimal

from friday.setup import selectors
from friday.strategy.models import Goal
from tests.conftest import PASSWORD


def _status(key: str) -> str:
    return next(v.status for v in selectors.guide() if v.key == key)


def test_the_goals_step_adds_the_chosen_starter_goals_and_then_is_done(boss, client):
    client.login(username="boss", password=PASSWORD)
    page = client.get("/setup/goals/").content.decode()
    assert "No goal yet" in page and 'id="goal-retention"' in page and 'id="goal-overdue"' in page
    assert _status("goals") == "open"
    refused = client.post("/setup/goals/", {"goal": ["retention", "nonsense"]}, follow=True)
    assert "is not one of the starter goals" in refused.content.decode()
    assert not Goal.objects.exists()  # all or none
    response = client.post("/setup/goals/", {"goal": ["retention", "overdue"]})
    assert response.status_code == 302
    goals = {g.metric: g for g in Goal.objects.all()}
    assert set(goals) == {"retention", "overdue_reminders"}
    assert (goals["retention"].target, goals["retention"].direction, goals["retention"].period) == (
        Decimal("90"),
        "at_least",
        "year",
    )
    assert (
        goals["overdue_reminders"].params == {"days": 2} and goals["overdue_reminders"].direction == "at_most"
    )
    assert goals["retention"].owner == boss
    assert _status("goals") == "done"
    # Again: the adopted goals are not offered twice, and posting them again adds nothing.
    page = client.get("/setup/goals/").content.decode()
    assert 'id="goal-retention"' not in page and 'id="goal-nps"' in page
    client.post("/setup/goals/", {"goal": ["retention"]})
    assert Goal.objects.count() == 2


def test_the_goals_step_is_for_admins(boss, client, django_user_model):
    from friday.accounts.models import Role

    django_user_model.objects.create_user(username="mia", password=PASSWORD, role=Role.MEMBER)
    client.login(username="mia", password=PASSWORD)
    assert client.get("/setup/goals/").status_code == 403
    assert client.post("/setup/goals/", {"goal": ["nps"]}).status_code == 403
    assert not Goal.objects.exists()
