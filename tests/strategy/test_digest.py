"""A goal that slipped since the last digest is in the next one, at the real SMTP server — once: the digest after
it remembers the status it reported."""

from __future__ import annotations

import time_machine

from friday.insights import digest
from friday.insights.services import digest_send_due
from friday.messaging.services import outbox_drain
from friday.strategy.models import Status
from friday.strategy.services import GoalIn, goal_save, readings_write
from tests.strategy.conftest import at


def _mail(inbox, to: str):
    found = [m for m in inbox.messages if str(m["To"]) == to]
    assert len(found) == 1
    text = found[0].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    return found[0]["Subject"], text


def test_a_slipping_goal_is_in_the_digest_at_the_smtp_server(cast, history, smtp_server):
    with time_machine.travel(at(2026, 5, 1, 9), tick=False):
        margin = goal_save(
            by=cast.manager,
            data=GoalIn(title="Healthy margin", metric="gross_margin", target="60", owner=cast.manager),
        )
        steady = goal_save(by=cast.manager, data=GoalIn(title="Happy customers", metric="nps", target="-50"))
    # 9 June: June so far has Bea's £200 and no costs → 100% margin, met. (NPS −25 ≥ −50: met, and stays so.)
    with time_machine.travel(at(2026, 6, 9, 12), tick=False):
        readings_write()
    assert margin.readings.get(day="2026-06-09").status == Status.MET
    # 10 June, 07:00: the pump (£250) and Ada's £400 count for June → (600 − 250) / 600 = 58.3%: at risk
    with time_machine.travel(at(2026, 6, 10, 7), tick=False):
        digest_send_due()
        outbox_drain(worker_id="test")
    subject, text = _mail(smtp_server, "Manager <manager@staff.example.com>")
    assert subject == "Your Friday digest for Wed 10 Jun: 1 goal slipped"
    assert "GOALS THAT SLIPPED\n\n- Met → at risk  Healthy margin — 58.3% against 60% — yours\n" in text
    assert f"https://friday.example.com/strategy/{margin.pk}/" in text
    assert "Happy customers" not in text
    _, alice_text = _mail(smtp_server, "Alice <alice@staff.example.com>")
    assert "- Met → at risk  Healthy margin — 58.3% against 60%\n" in alice_text  # not hers: no "yours"
    # the next morning it is still at risk: not news, not repeated
    smtp_server.messages.clear()
    with time_machine.travel(at(2026, 6, 11, 7), tick=False):
        content = digest.build(
            user=cast.manager, previous=digest.previous_digest(cast.manager, at(2026, 6, 11).date())
        )
    assert "goals" not in [s.key for s in content.sections]
    assert content.state["goals"] == {str(margin.pk): Status.AT_RISK, str(steady.pk): Status.MET}
