"""At risk: each reason shows exactly when its condition holds (on either side of its boundary), the score adds
them up, and the list, the party page and the segment filter read the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from friday.core import clock
from friday.insights import metrics, risk
from friday.insights.models import CustomerMetrics
from friday.processes.segments import clean_filters, segment_count
from tests.conftest import make_person

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def row(**values) -> CustomerMetrics:
    base = dict(
        purchases=0,
        usual_interval_days=None,
        last_purchase_on=None,
        revenue_12m=D(0),
        revenue_prev_12m=D(0),
        latest_nps=None,
        latest_nps_at=None,
        oldest_overdue_on=None,
        escalated_reminders=0,
        last_contact_at=NOW,
        has_people=True,
        p_alive=None,
    )
    return CustomerMetrics(**{**base, **values})


def codes(r: CustomerMetrics) -> set[str]:
    return {x.code for x in risk.reasons(r, today=TODAY, now=NOW)}


@pytest.mark.parametrize(
    ("values", "code", "holds", "text"),
    [
        (
            {"purchases": 3, "usual_interval_days": 41, "last_purchase_on": TODAY - dt.timedelta(days=120)},
            "lapsing",
            True,
            "usually buys every 41 days; 120 days since the last purchase",
        ),
        (
            {"purchases": 3, "usual_interval_days": 41, "last_purchase_on": TODAY - dt.timedelta(days=82)},
            "lapsing",
            False,
            "",
        ),
        (
            {"purchases": 1, "usual_interval_days": None, "last_purchase_on": TODAY - dt.timedelta(days=400)},
            "lapsing",
            False,
            "",
        ),
        (
            {"revenue_12m": D("400"), "revenue_prev_12m": D("1000")},
            "spend_down",
            True,
            "spend down 60% on the year before",
        ),
        ({"revenue_12m": D("501"), "revenue_prev_12m": D("1000")}, "spend_down", False, ""),
        (
            {"latest_nps": 4, "latest_nps_at": dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)},
            "detractor",
            True,
            "detractor (NPS 4) on 3 March 2026",
        ),
        ({"latest_nps": 7, "latest_nps_at": NOW}, "detractor", False, ""),
        ({"oldest_overdue_on": TODAY - dt.timedelta(days=45)}, "overdue", True, "invoice 45 days overdue"),
        ({"oldest_overdue_on": TODAY - dt.timedelta(days=29)}, "overdue", False, ""),
        ({"escalated_reminders": 1}, "escalated", True, "escalated reminder open"),
        ({"escalated_reminders": 0}, "escalated", False, ""),
        (
            {"purchases": 2, "last_contact_at": NOW - dt.timedelta(days=90)},
            "no_contact",
            True,
            "no contact in 90 days",
        ),
        ({"purchases": 2, "last_contact_at": NOW - dt.timedelta(days=89)}, "no_contact", False, ""),
        ({"purchases": 2, "last_contact_at": None}, "no_contact", True, "never contacted"),
        ({"purchases": 0, "last_contact_at": None}, "no_contact", False, ""),
        (
            {"purchases": 3, "p_alive": D("0.1834")},
            "stopped",
            True,
            "probably stopped buying: 18% chance they are still a customer (model)",
        ),
        (
            {"purchases": 2, "p_alive": D("0.2999")},
            "stopped",
            True,
            "probably stopped buying: 29% chance they are still a customer (model)",
        ),
        ({"purchases": 2, "p_alive": D("0.3000")}, "stopped", False, ""),
        (
            {"purchases": 1, "p_alive": D("0.0500")},
            "stopped",
            False,
            "",
        ),  # one purchase: the model cannot tell
        ({"purchases": 3, "p_alive": None}, "stopped", False, ""),  # no usable fit
        (
            {"purchases": 1, "has_people": False},
            "no_people",
            True,
            "nobody at the organisation is on file any more",
        ),
        ({"purchases": 1, "has_people": True}, "no_people", False, ""),
    ],
)
def test_each_reason_shows_exactly_when_it_holds(values, code, holds, text):
    found = {x.code: x.text for x in risk.reasons(row(**values), today=TODAY, now=NOW)}
    assert (code in found) is holds
    if holds:
        assert found[code] == text


def test_the_score_adds_the_weights_and_is_capped():
    everything = row(
        purchases=3,
        usual_interval_days=10,
        last_purchase_on=TODAY - dt.timedelta(days=100),
        revenue_12m=D(0),
        revenue_prev_12m=D(100),
        latest_nps=2,
        latest_nps_at=NOW,
        oldest_overdue_on=TODAY - dt.timedelta(days=60),
        escalated_reminders=2,
        last_contact_at=None,
        has_people=False,
    )
    found = risk.reasons(everything, today=TODAY, now=NOW)
    assert [r.code for r in found][:2] == ["lapsing", "detractor"]  # strongest first
    assert risk.score(found) == 100  # 35+20+25+15+10+10+5 = 120, capped
    assert risk.score(risk.reasons(row(), today=TODAY, now=NOW)) == 0


def test_the_list_the_party_page_and_the_segment_agree(cast, web_for):
    import time_machine

    from friday.feedback.models import Survey
    from friday.feedback.services import feedback_answer, feedback_request

    unhappy = make_person(cast.alice, "Una", roles=["customer"])
    make_person(cast.alice, "Hap", roles=["customer"])
    with time_machine.travel(NOW, tick=False):
        _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=unhappy)
        feedback_answer(token=raw, score=2, comment="Never again")
        from friday.reminders.services import ReminderIn, reminder_create

        reminder_create(
            by=cast.alice,
            data=ReminderIn(title="Call Una", due_at=NOW - dt.timedelta(days=3), party=unhappy),
        )
        metrics.recompute()
        saved = CustomerMetrics.objects.get(party=unhappy)
        assert saved.risk_score == 35 and [r["code"] for r in saved.risk_reasons] == [
            "detractor",
            "escalated",
        ]
        alice = web_for(cast.alice)
        listed = alice.get("/insights/at-risk/").content.decode()
        assert f'data-party="{unhappy.pk}"' in listed and "detractor (NPS 2) on 15 June 2026" in listed
        assert "Hap " not in listed
        assert (
            web_for(cast.bob).get("/insights/at-risk/").content.decode().count("data-party=") == 0
        )  # scoped
        assert "Figures as of" in listed and 'href="?min=30&amp;format=csv"' in listed
        download = alice.get("/insights/at-risk/?format=csv")
        rows = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
        assert rows[0].startswith("party id,customer,risk score,reasons,")
        assert rows[1].startswith(
            f"{unhappy.pk},Una Lovelace,35,detractor (NPS 2) on 15 June 2026; escalated"
        )
        assert len(rows) == 2
        bob_rows = b"".join(web_for(cast.bob).get("/insights/at-risk/?format=csv").streaming_content)
        assert len(bob_rows.decode("utf-8-sig").splitlines()) == 1  # the header only: scoped
        page = alice.get(f"/parties/{unhappy.pk}/").content.decode()
        assert 'id="party-risk"' in page and "At risk (35/100)" in page and "escalated reminder open" in page
        assert segment_count(user=cast.alice, filters={"at_risk": {"min_score": 30}}) == 1
        assert clean_filters({"at_risk": True}) == {"at_risk": {"min_score": 30}}
        assert segment_count(user=cast.alice, filters={"at_risk": {"min_score": 40}}) == 0
        assert clock.now() == NOW
