"""The report's figures against NPS and CSAT worked out by hand."""

from __future__ import annotations

import datetime as dt

import time_machine

from friday.core import clock
from friday.feedback.selectors import report
from friday.feedback.services import feedback_answer, feedback_request
from friday.processes.segments import segment_save
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def answer(party, survey, score, when):
    with time_machine.travel(when, tick=False):
        _, raw = feedback_request(survey=survey, party=party)
        feedback_answer(token=raw, score=score)


def test_nps_per_month_quarter_and_segment(cast, nps):
    vips = make_person(cast.alice, "Ada", tags=["vip"])
    others = make_person(cast.alice, "Grace")
    # January: 9, 10, 7, 3 → promoters 2, passives 1, detractors 1 of 4 → NPS (2 − 1) / 4 = 25.0
    for party, score in ((vips, 9), (vips, 10), (others, 7), (others, 3)):
        answer(party, nps, score, at(2026, 1, 15, 12))
    # February: 0, 6, 10 → promoters 1, detractors 2 of 3 → (1 − 2) / 3 = −33.3
    for party, score in ((others, 0), (others, 6), (vips, 10)):
        answer(party, nps, score, at(2026, 2, 10, 12))
    answer(others, nps, 8, at(2026, 3, 31, 23, 30))
    result = report(user=cast.manager, survey=nps, since=dt.date(2026, 1, 1), until=dt.date(2026, 4, 30))
    by_label = {f.label: f for f in result.periods}
    assert list(by_label) == ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]
    assert (by_label["Jan 2026"].nps, by_label["Jan 2026"].responses) == (25.0, 4)
    assert (by_label["Feb 2026"].nps, by_label["Feb 2026"].detractors) == (-33.3, 2)
    assert (by_label["Mar 2026"].nps, by_label["Mar 2026"].passives) == (0.0, 1)
    assert (by_label["Apr 2026"].nps, by_label["Apr 2026"].responses) == (None, 0)
    # All 8: promoters 3 (9, 10, 10), detractors 3 (3, 0, 6) → 0.0
    assert (result.total.responses, result.total.promoters, result.total.detractors, result.total.nps) == (
        8,
        3,
        3,
        0.0,
    )
    quarters = report(
        user=cast.manager, survey=nps, since=dt.date(2026, 1, 1), until=dt.date(2026, 6, 30), period="quarter"
    )
    assert [(f.label, f.responses, f.nps) for f in quarters.periods] == [
        ("Q1 2026", 8, 0.0),
        ("Q2 2026", 0, None),
    ]
    segment = segment_save(by=cast.manager, name="VIPs", filters={"tags": ["vip"]})
    result = report(user=cast.manager, survey=nps, since=dt.date(2026, 1, 1), until=dt.date(2026, 3, 31))
    rows = {f.label: f for f in result.segments}
    assert (rows["VIPs"].responses, rows["VIPs"].nps) == (3, 100.0)  # 9, 10, 10
    assert rows["Everyone you can see"].responses == 8
    narrowed = report(
        user=cast.manager,
        survey=nps,
        since=dt.date(2026, 1, 1),
        until=dt.date(2026, 3, 31),
        segment_id=segment.pk,
    )
    assert [f.responses for f in narrowed.periods] == [2, 1, 0] and narrowed.total.nps == 100.0


def test_periods_are_on_the_business_clock(cast, nps, settings):
    settings.TIME_ZONE = "Europe/London"
    party = make_person(cast.alice, "Ada")
    # 00:30 on 1 April in London (summer time) is 23:30 on 31 March in UTC: it counts in April.
    answer(party, nps, 10, at(2026, 4, 1, 0, 30))
    answer(party, nps, 0, at(2026, 3, 31, 23, 30))
    result = report(user=cast.manager, survey=nps, since=dt.date(2026, 3, 1), until=dt.date(2026, 4, 30))
    assert [(f.label, f.promoters, f.detractors) for f in result.periods] == [
        ("Mar 2026", 0, 1),
        ("Apr 2026", 1, 0),
    ]


def test_csat_share_and_average(cast, csat):
    party = make_person(cast.alice, "Ada")
    # 5, 4, 3, 1 → 2 of 4 are 4–5 → 50.0 %; average 13 / 4 = 3.25
    for score in (5, 4, 3, 1):
        answer(party, csat, score, at(2026, 5, 3, 10))
    result = report(user=cast.manager, survey=csat, since=dt.date(2026, 5, 1), until=dt.date(2026, 5, 31))
    (may,) = result.periods
    assert (may.csat, may.average, may.satisfied, may.responses) == (50.0, 3.25, 2, 4)


def test_a_member_counts_only_the_answers_they_may_see(cast, nps):
    mine = make_person(cast.alice, "Ada")
    theirs = make_person(cast.bob, "Grace")
    answer(mine, nps, 10, at(2026, 5, 3, 10))
    answer(theirs, nps, 0, at(2026, 5, 3, 10))
    since, until = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
    assert report(user=cast.alice, survey=nps, since=since, until=until).total.nps == 100.0
    assert report(user=cast.bob, survey=nps, since=since, until=until).total.nps == -100.0
    assert report(user=cast.manager, survey=nps, since=since, until=until).total.nps == 0.0


def test_the_report_page_draws_and_tabulates(cast, nps, web_for):
    answer(make_person(cast.alice, "Ada"), nps, 3, clock.now())
    page = web_for(cast.alice).get("/feedback/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="report-periods"' in html and "<svg" in html and 'class="neg"' in html
    assert 'id="report-total">-100.0<' in html
    bad = web_for(cast.alice).get("/feedback/?period=week&since=2026-02-30")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    bad = web_for(cast.alice).get("/feedback/?period=week")
    assert bad.status_code == 400 and "month or quarter" in bad.content.decode()
