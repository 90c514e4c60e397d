"""Funnel, time in stage, conformance, discovered process and stuck records against a history with known
answers — the same figures on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from friday.core import clock
from friday.deals.models import Deal, LostReason
from friday.deals.services import DealIn, deal_create, deal_move
from friday.processes import analytics, rollup
from friday.processes.models import FunnelDay, MoveDay, StageChange, StayDay
from friday.processes.services import process_import
from tests.conftest import make_person

SIMPLE = """\
process: simple
name: Simple
applies_to: deal
initial: a
stages:
- {key: a, name: A, definition: First., kind: open, owner_role: member, time_limit_days: 2}
- {key: b, name: B, definition: Second., kind: open, owner_role: member, checklist: [Ready]}
- {key: won, name: Won, definition: Won., kind: won}
- {key: lost, name: Lost, definition: Lost., kind: lost}
transitions:
- {from: a, to: b}
- {from: a, to: lost}
- {from: b, to: won}
- {from: b, to: lost}
"""
H = dt.timedelta(hours=1)


@pytest.fixture
def history(cast):
    process, _ = process_import(by=cast.admin, source=SIMPLE)
    reason = LostReason.objects.get(name="Price")  # publishing the first pipeline added the starter reasons
    party = make_person(cast.alice)
    deals = [deal_create(by=cast.alice, party=party, data=DealIn(title=f"D{i}")) for i in range(1, 5)]
    # Everyone entered at the same moment t0, so the stays are exact.
    t0 = clock.now().replace(microsecond=0)
    StageChange.objects.update(at=t0)
    Deal.objects.update(stage_entered_at=t0)

    def move(deal, to, hours, by=cast.alice, **kw):
        return deal_move(by=by, deal=deal, to=to, checked=["Ready"] if to == "b" else [], **kw)

    d1, d2, d3, d4 = deals
    from unittest import mock

    def at(hours):
        return mock.patch("friday.processes.services.clock.now", return_value=t0 + hours * H)

    with at(1):
        move(d1, "b", 1)
    with at(5):
        move(d1, "won", 5)
    with at(2):
        move(d2, "b", 2)
    with at(3):
        move(d2, "lost", 3, lost_reason=reason)
    with at(3):
        move(d3, "b", 3)
    with at(4):
        move(d3, "a", 4, by=cast.admin, override=True, reason="Customer changed the job")
    # D4 has waited in "a" for 5 days: past its 2-day limit.
    Deal.objects.filter(pk=d4.pk).update(stage_entered_at=t0 - dt.timedelta(days=5))
    rollup.rebuild()  # the entries' times were set directly above, past the moves' upkeep of the daily counts
    return process, t0, deals


def test_funnel_with_known_answers(history):
    process, t0, _ = history
    rows = {r.stage.key: r for r in analytics.funnel(process, t0 - H, t0 + 24 * H)}
    a, b = rows["a"], rows["b"]
    assert (a.entered, a.converted, a.lost, a.went_back, a.still_here) == (5, 3, 0, 0, 2)
    assert (a.median_seconds, a.p90_seconds) == (7200, 10800)
    assert (b.entered, b.converted, b.lost, b.went_back, b.still_here) == (3, 1, 1, 1, 0)
    assert (b.median_seconds, b.p90_seconds) == (3600, 14400)
    assert b.conversion == pytest.approx(1 / 3)
    assert rows["won"].entered == 1 and rows["lost"].entered == 1 and rows["won"].median_seconds is None
    # A range that ends before the moves sees only the entries.
    early = {r.stage.key: r for r in analytics.funnel(process, t0 - H, t0 + H / 2)}
    assert early["a"].entered == 4 and early["b"].entered == 0


def test_conformance_with_known_answers(history, cast):
    process, t0, _ = history
    c = analytics.conformance(process, t0 - H, t0 + 24 * H)
    assert (c.moves, c.declared, c.backward, c.overridden) == (6, 5, 1, 1)
    assert c.share == pytest.approx(5 / 6)
    assert c.undeclared_edges == [("b", "a", 1)]
    people = {p.user_id: p for p in c.people}
    assert (
        people[cast.admin.pk].moves,
        people[cast.admin.pk].undeclared,
        people[cast.admin.pk].overridden,
    ) == (
        1,
        1,
        1,
    )
    assert (people[cast.alice.pk].moves, people[cast.alice.pk].undeclared) == (5, 0)


def test_discovered_process_and_its_drawing(history):
    process, t0, _ = history
    edges = analytics.discovered_edges(process, t0 - H, t0 + 24 * H)
    assert edges == [("", "a", 4), ("a", "b", 3), ("b", "a", 1), ("b", "lost", 1), ("b", "won", 1)]
    chart = analytics.discovered_mermaid(process, edges)
    assert "start_ -->|4| s_a" in chart and "s_b -->|1| s_a" in chart
    assert "linkStyle 2 stroke:#b3261e" in chart  # only the undeclared b → a is red


def test_stuck_records(history):
    process, _, deals = history
    stuck = analytics.stuck(process)
    assert stuck.counts == {"a": 1}
    assert [(s.record_id, s.title, s.days_over) for s in stuck.oldest] == [(deals[3].pk, "D4", 3)]
    assert stuck.oldest[0].url == f"/deals/{deals[3].pk}/"


def test_an_empty_range_is_all_zeros(history):
    process, t0, _ = history
    c = analytics.conformance(process, t0 + 100 * H, t0 + 200 * H)
    assert c.moves == 0 and c.share is None
    assert all(r.entered == 0 for r in analytics.funnel(process, t0 + 100 * H, t0 + 200 * H))


def test_analytics_page_and_api(history, cast, web_for, api_for):
    _, t0, _ = history
    day, next_day = t0.date().isoformat(), (t0.date() + dt.timedelta(days=1)).isoformat()
    page = web_for(cast.manager).get(f"/processes/simple/analytics/?since={day}&until={next_day}")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="conformance-share"' in body and "83%" in body
    assert "linkStyle" in body and "D4" in body
    assert web_for(cast.alice).get("/processes/simple/analytics/").status_code == 403
    api = api_for(cast.admin)
    funnel = api.get("/processes/simple/funnel", since=day, until=next_day).json()
    a = next(s for s in funnel["stages"] if s["stage"] == "a")
    assert (a["entered"], a["median_seconds"], a["p90_seconds"]) == (5, 7200, 10800)
    conf = api.get("/processes/simple/conformance", since=day, until=next_day).json()
    assert conf["moves"] == 6 and conf["undeclared"] == [
        {"from_stage": "b", "to_stage": "a", "count": 1, "declared": False}
    ]
    assert {"from_stage": "", "to_stage": "a", "count": 4, "declared": True} in conf["discovered"]
    r = api.get("/processes/simple/funnel", since="2026-02-01", until="2026-01-01")
    assert r.status_code == 400 and r.json()["field"] == "since"
    assert api_for(cast.alice).get("/processes/simple/funnel").status_code == 403


def _figures(process, since, until):
    return (
        [
            (
                r.stage.key,
                r.entered,
                r.converted,
                r.lost,
                r.went_back,
                r.still_here,
                r.median_seconds,
                r.p90_seconds,
            )
            for r in analytics.funnel(process, since, until)
        ],
        analytics.conformance(process, since, until),
        analytics.discovered_edges(process, since, until),
    )


def test_daily_counts_kept_by_each_move_equal_a_recount_and_the_moves_themselves(history, cast):
    process, t0, deals = history
    # More moves after the fixture's recount: these are counted only by the moves' own upkeep.
    d4 = deals[3]
    deal_move(by=cast.manager, deal=d4, to="b", checked=["Ready"])
    deal_move(by=cast.manager, deal=d4, to="won")
    kept = {
        model.__name__: sorted((r.day, str(r), r.n) for r in model.objects.exclude(n=0))
        for model in (FunnelDay, MoveDay, StayDay)
    }
    rollup.rebuild()
    recounted = {
        model.__name__: sorted((r.day, str(r), r.n) for r in model.objects.exclude(n=0))
        for model in (FunnelDay, MoveDay, StayDay)
    }
    assert kept == recounted and kept["MoveDay"]
    # Whole business days are read from the daily counts; a range that starts a microsecond later reads the first
    # day from the moves themselves. Both give the same figures.
    first = analytics.range_bounds(t0.date() - dt.timedelta(days=1), t0.date() + dt.timedelta(days=1))
    whole = _figures(process, *first)
    assert whole == _figures(process, first[0] + dt.timedelta(microseconds=1), first[1])
    assert whole[1].moves == 8 and whole[0][0][1] == 5
    # Deleting a deal takes its moves out of the counts.
    from friday.deals.services import deal_delete

    deal_delete(by=cast.admin, deal=d4)
    assert _figures(process, *first)[1].moves == 6
    kept = sorted((r.day, str(r), r.n) for r in MoveDay.objects.exclude(n=0))
    rollup.rebuild()
    assert kept == sorted((r.day, str(r), r.n) for r in MoveDay.objects.exclude(n=0))


def test_stay_buckets():
    assert [rollup.bucket(s) for s in (0, 3599, 3600, 2 * 86400 - 1, 2 * 86400 + 5, 59 * 86400 + 7)] == [
        0,
        0,
        3600,
        47 * 3600,
        2 * 86400,
        59 * 86400,
    ]
    assert rollup.bucket(100 * 86400) == 14 * 7 * 86400 and rollup.bucket(400 * 86400) == 13 * 30 * 86400
