"""Is the process used? Each signal counted exactly on a constructed history (with its boundaries), the score
worked out by hand, the trend over twelve weeks, the weekly snapshots (idempotent, catching up after downtime,
through the real worker), scoping, the lists behind the figures, the CSV, and the staff ranking of the Best page.

The history (business time; everyone joined on Friday 1 May 2026). Week A is Mon 1 – Sun 7 June, week B 8 – 14
June, and "now" is Wednesday 17 June, 12:00 (week C). Alice may override the process.

Alice's deals (sales pipeline: enquiry 3 days, survey 14, quoted 21, negotiating 14):
  D4 entered Mon 1 Jun 09:00, lost Tue 9 Jun          (stuck in enquiry at the end of A)
  D1 entered 2 Jun 10:00, → survey 3 Jun 10:00         (stuck in survey from 17 Jun 10:00)
  D2 entered 2 Jun 11:00, → quoted 4 Jun 10:00 by override: undeclared and overridden (one move off the process)
  D3 entered 2 Jun 12:00, → survey 4 Jun 11:00 by override without its checklist: declared, overridden
  D5 entered Thu 4 Jun 23:00                           (stuck at the end of A: more than 3 days)
  D6 entered Fri 5 Jun 00:00                           (exactly 3 days before the end of A: not stuck yet)
  and a move written by a version migration on 5 Jun (not counted).
Alice's reminders: R1 due 5 Jun, done 7 Jun 23:59:59 (one second before A ends: not overdue); R2 due 5 Jun, done
8 Jun 00:00 (at the end of A: overdue); R3 due 9 Jun, open; R4 made 10 Jun, due 11 Jun, done 12 Jun; R5 due 5 Jun,
cancelled 10 Jun. Bob's R7 due 3 Jun, open. A reminder for a role counts for nobody.
Activities: week A — Alice 2 calls and a note, Bob a meeting, Olga 4 emails (and a message Friday sent "by" Alice,
and the moves' system entries: not counted); week B — Alice a call, Bob 2 calls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from decimal import Decimal as D
from fractions import Fraction

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string

from friday.accounts import services as account_services
from friday.accounts.models import User
from friday.billing import services as billing
from friday.core import clock, scheduler
from friday.deals.models import Deal, LostReason
from friday.deals.services import DealIn, deal_create, deal_move
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request, survey_defaults_install
from friday.insights import adoption, metrics
from friday.insights.models import AdoptionCount, AdoptionWeek
from friday.insights.views import best_staff_context
from friday.jobs.services import CostIn, JobIn, cost_add, job_create, job_move
from friday.parties.models import ActivityKind
from friday.parties.services import activity_log, timeline_add
from friday.processes import analytics, rollup
from friday.processes.models import StageChange
from friday.reminders.models import Reminder
from friday.reminders.services import ReminderIn, reminder_cancel, reminder_create, reminder_done
from tests.conftest import make_person

A, B, C = dt.date(2026, 6, 1), dt.date(2026, 6, 8), dt.date(2026, 6, 15)


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


NOW = at(2026, 6, 17, 12, 0)


@pytest.fixture
def may():
    """Everyone is created on 1 May 2026 (the weeks before someone joined have no score)."""
    with time_machine.travel(at(2026, 5, 1, 9, 0), tick=False):
        yield


def _overrider(user: User) -> User:
    User.objects.filter(pk=user.pk).update(may_override_process=True)
    return User.objects.get(pk=user.pk)


def _deal(by, party, title, when, **fields):
    with time_machine.travel(when, tick=False):
        return deal_create(by=by, party=party, data=DealIn(title=title, **fields))


def _move(by, deal, to, when, **kw):
    with time_machine.travel(when, tick=False):
        return deal_move(by=by, deal=Deal.objects.get(pk=deal.pk), to=to, **kw)


def _reminder(by, title, created, due, **kw):
    with time_machine.travel(created, tick=False):
        return reminder_create(by=by, data=ReminderIn(title=title, due_at=due, **kw))


def _log(by, party, kind, when, subject="x"):
    with time_machine.travel(when, tick=False):
        return activity_log(by=by, party=party, kind=kind, subject=subject, occurred_at=when)


@pytest.fixture
def history(may, cast, pipeline):
    alice = _overrider(cast.alice)
    ada = make_person(alice, "Ada", roles=["customer"])
    ben = make_person(cast.bob, "Ben", roles=["customer"])
    oscar = make_person(cast.olga, "Oscar", roles=["customer"])
    price = LostReason.objects.get(name="Price")
    deals = {}
    deals["D4"] = _deal(alice, ada, "D4", at(2026, 6, 1, 9, 0))
    deals["D1"] = _deal(alice, ada, "D1", at(2026, 6, 2, 10, 0))
    _move(alice, deals["D1"], "survey", at(2026, 6, 3, 10, 0), checked=["Visit in the diary"])
    deals["D2"] = _deal(alice, ada, "D2", at(2026, 6, 2, 11, 0), value="500")
    _move(alice, deals["D2"], "quoted", at(2026, 6, 4, 10, 0), override=True, reason="Quoted on the phone")
    deals["D3"] = _deal(alice, ada, "D3", at(2026, 6, 2, 12, 0))
    _move(alice, deals["D3"], "survey", at(2026, 6, 4, 11, 0), override=True, reason="Visit not booked yet")
    deals["D5"] = _deal(alice, ada, "D5", at(2026, 6, 4, 23, 0))
    deals["D6"] = _deal(alice, ada, "D6", at(2026, 6, 5, 0, 0))
    # A version migration's row (zero-length, so it is nobody's stay either): kept out of every count.
    migrated_at = at(2026, 6, 5, 12, 0)
    change = StageChange.objects.create(
        record_type="deal",
        record_id=deals["D6"].pk,
        party=ada,
        process=pipeline,
        version=pipeline.current,
        from_stage="enquiry",
        to_stage="enquiry",
        at=migrated_at,
        by=alice,
        migrated=True,
        left_at=migrated_at,
        seconds_in_stage=0,
        next_stage="enquiry",
    )
    rollup.on_move(change, None)
    _move(alice, deals["D4"], "lost", at(2026, 6, 9, 10, 0), lost_reason=price)

    created = at(2026, 6, 1, 8, 0)
    r = {}
    for name, due in (("R1", at(2026, 6, 5, 9)), ("R2", at(2026, 6, 5, 9)), ("R3", at(2026, 6, 9, 9))):
        r[name] = _reminder(alice, name, created, due, party=ada)
    r["R5"] = _reminder(alice, "R5", created, at(2026, 6, 5, 9), party=ada)
    r["R4"] = _reminder(alice, "R4", at(2026, 6, 10, 8), at(2026, 6, 11, 9), party=ada)
    r["R7"] = _reminder(cast.bob, "R7", created, at(2026, 6, 3, 9), party=ben)
    _reminder(cast.manager, "For any member", created, at(2026, 6, 2, 9), assignee_role="member")
    for name, when in (
        ("R1", at(2026, 6, 7, 23, 59, 59)),
        ("R2", at(2026, 6, 8, 0, 0)),
        ("R4", at(2026, 6, 12, 10)),
    ):
        with time_machine.travel(when, tick=False):
            reminder_done(by=alice, reminder=r[name])
    with time_machine.travel(at(2026, 6, 10, 10), tick=False):
        reminder_cancel(by=alice, reminder=r["R5"], reason="Not needed")

    _log(alice, ada, ActivityKind.CALL, at(2026, 6, 2, 15))
    _log(alice, ada, ActivityKind.CALL, at(2026, 6, 3, 15))
    _log(alice, ada, ActivityKind.NOTE, at(2026, 6, 4, 15))
    _log(cast.bob, ben, ActivityKind.MEETING, at(2026, 6, 3, 15))
    for day in (1, 2, 3, 4):
        _log(cast.olga, oscar, ActivityKind.EMAIL_OUT, at(2026, 6, day, 16))
    with time_machine.travel(at(2026, 6, 4, 17), tick=False):
        timeline_add(
            ada, event="message.sent", subject="Sent by a rule", by=alice, kind=ActivityKind.EMAIL_OUT
        )
    _log(alice, ada, ActivityKind.CALL, at(2026, 6, 9, 15))
    _log(cast.bob, ben, ActivityKind.CALL, at(2026, 6, 10, 15))
    _log(cast.bob, ben, ActivityKind.CALL, at(2026, 6, 11, 15))
    return {"alice": alice, "deals": deals, "reminders": r, "ada": ada}


def _refresh(now=NOW):
    with time_machine.travel(now, tick=False):
        return adoption.refresh()


def _row(week, person, process=0):
    return AdoptionCount.objects.get(week=week, person=person, process=process)


def test_each_signal_is_counted_exactly(history, cast, pipeline):
    alice = history["alice"]
    assert _refresh() == [A - dt.timedelta(weeks=i) for i in range(9, -1, -1)] + [B, C]
    moves = _row(A, alice.pk, pipeline.pk)
    # 6 entries + D1 → survey + D2 (undeclared, overridden) + D3 (overridden); the migration is not a move.
    assert (moves.moves, moves.off_process, moves.undeclared, moves.overridden) == (9, 2, 1, 2)
    assert (moves.open_records, moves.stuck) == (6, 2)  # D4 and D5; D6 entered exactly 3 days before the end
    own = _row(A, alice.pk)
    assert (own.open_reminders, own.overdue) == (
        3,
        2,
    )  # R2 (done at the end), R3 (not due), R5 (cancelled later)
    assert (own.calls, own.meetings, own.notes, own.emails) == (2, 0, 1, 0)
    assert (_row(A, cast.bob.pk).meetings, _row(A, cast.bob.pk).overdue) == (1, 1)
    assert _row(A, cast.olga.pk).emails == 4
    # Week B: D4's loss is the one move; D5 and D6 are stuck; only R3 is open (and late); R4 came and went.
    b = _row(B, alice.pk, pipeline.pk)
    assert (b.moves, b.off_process, b.open_records, b.stuck) == (1, 0, 5, 2)
    assert (_row(B, alice.pk).open_reminders, _row(B, alice.pk).overdue, _row(B, alice.pk).calls) == (1, 1, 1)
    # Week C so far: D1 has been in survey for more than 14 days since 10:00 today.
    c = _row(C, alice.pk, pipeline.pk)
    assert (c.moves, c.open_records, c.stuck) == (0, 5, 3)
    # Nobody else has rows in week A; the role's reminder counts for nobody.
    assert set(AdoptionCount.objects.filter(week=A).values_list("person", "process")) == {
        (alice.pk, 0),
        (alice.pk, pipeline.pk),
        (cast.bob.pk, 0),
        (cast.olga.pk, 0),
    }
    # The figures taken now agree with the process board's stuck records.
    with time_machine.travel(NOW, tick=False):
        assert sum(analytics.stuck(pipeline).counts.values()) == 3
        health = adoption.process_health()
    # The last 30 days: 10 moves, 2 off the process → 80% followed; 3 stuck now.
    assert [(h["moves"], h["off_process"], h["followed"], h["stuck"]) for h in health] == [(10, 2, 80, 3)]


def test_the_score_by_hand(history, cast, pipeline):
    alice = history["alice"]
    _refresh()
    with time_machine.travel(NOW, tick=False):
        view = adoption.adoption(user=cast.manager)
    scores = {line.key: [p.score for p in line.points] for line in view.people}
    assert view.weeks[0] == dt.date(2026, 3, 30) and view.weeks[-1] == C
    # Week A, Alice: 100 − 35·2/9 − 25·2/3 − 25·2/6 − 15·0 (3 activities = the median of 1, 3 and 4) = 67.2 → 67
    assert (
        adoption.person_score(
            adoption.Signals(
                moves=9, off_process=2, open_reminders=3, overdue=2, open_records=6, stuck=2, calls=3
            ),
            Fraction(3),
        )
        == 67
    )
    # Week B: 100 − 0 − 25·1/1 − 25·2/5 − 15·(1 − 1/1.5) = 60; week C: 100 − 25 − 25·3/5 (nobody logged) = 60.
    # Before June: nothing to count → 100; before she joined (the week of 27 April is her first): none.
    assert scores[alice.pk] == [None] * 4 + [100] * 5 + [67, 60, 60]
    # Bob: A 100 − 25 (R7) − 15·(1 − 1/3) = 65; B 100 − 25 = 75 (2 calls ≥ the median 1.5); C 75.
    assert scores[cast.bob.pk][-3:] == [65, 75, 75]
    # Olga: A 100; B nothing logged while others did → 85; C 100. The manager and the admin log nothing: 85, 85, 100.
    assert scores[cast.olga.pk][-3:] == [100, 85, 100]
    assert scores[cast.manager.pk][-3:] == scores[cast.admin.pk][-3:] == [85, 85, 100]
    assert cast.reader.pk not in scores  # read-only users cannot move or log: not scored
    # The trend: least squares over weeks 4..11 of (100 ×5, 67, 60, 60): Σ(x − 7.5)·y / 42 = −289.5 / 42 = −6.9.
    line = next(line for line in view.people if line.key == alice.pk)
    assert line.trend == -6.9
    assert adoption.slope([None, 10, 20, None, 40]) == 10.0 and adoption.slope([50]) is None
    # The process: A 100 − 50·2/9 − 50·2/6 = 72.2 → 72; B 100 − 50·2/5 = 80; C 100 − 50·3/5 = 70.
    (process_line,) = view.processes
    assert [p.score for p in process_line.points] == [100] * 9 + [72, 80, 70]
    # Lowest first: Alice (60) leads the list.
    assert view.people[0].key == alice.pk
    # Rounding is half up on the exact fraction; a median of nobody compares nobody.
    assert adoption.process_score(adoption.Signals(moves=8, off_process=1, open_records=0)) == 94  # 93.75
    assert adoption.quiet(0, None) == 0 and adoption.median([0, 0]) is None and adoption.median([1, 2]) == 1.5
    # Someone whose account is newer than their history (imported): scored from their first week with figures.
    with time_machine.travel(NOW, tick=False):
        zed = account_services.user_create(
            by=cast.admin, username="zed", password="x-Very-long-9", role="member"
        )
        AdoptionCount.objects.create(week=B, person=zed.pk, process=pipeline.pk, moves=2, off_process=1)
        view = adoption.adoption(user=cast.manager, person=zed)
    # B: 100 − 35 × 1/2 − 15 (nothing logged; the median is 1.5) = 67.5 → 68; C: nothing at all → 100.
    assert [p.score for p in view.people[0].points][-4:] == [None, None, 68, 100]


@pytest.mark.django_db(transaction=True)
def test_snapshots_are_idempotent_and_catch_up_after_downtime(history, cast, pipeline, run_worker):
    alice = history["alice"]
    _refresh()
    rows = AdoptionCount.objects.count()
    a_rows = list(AdoptionCount.objects.filter(week=A).order_by("person", "process").values())
    # An hour later: every past week is final, only the week in progress is counted again.
    assert _refresh(NOW + dt.timedelta(hours=1)) == [C]
    assert AdoptionCount.objects.count() == rows
    assert list(AdoptionCount.objects.filter(week=A).order_by("person", "process").values()) == a_rows
    assert AdoptionWeek.objects.count() == 12
    # A final week is not replaced by figures taken before its end.
    with time_machine.travel(NOW, tick=False):
        assert adoption.snapshot_week(A, at=at(2026, 6, 3, 12)) is False
        with pytest.raises(ValueError):
            adoption.snapshot_week(dt.date(2026, 6, 2))
    assert AdoptionWeek.objects.get(week=A).as_of == adoption.week_end(A)
    # The worker is down for two weeks; the scheduler's job, run by the real worker, catches up.
    with time_machine.travel(at(2026, 7, 1, 10, 7), tick=False):
        job = next(j for j in scheduler.registry() if j.name == "insights.adoption")
        assert scheduler.run_due(worker_id="test", jobs=[job]) == ["insights.adoption"]
        run_worker()
    weeks = dict(AdoptionWeek.objects.values_list("week", "final"))
    assert weeks[C] is True and weeks[dt.date(2026, 6, 22)] is True and weeks[dt.date(2026, 6, 29)] is False
    assert AdoptionWeek.objects.get(week=C).as_of == at(2026, 6, 22)
    # Week C at its end: D1, D3 (from 18 June), D5 and D6 stuck.
    assert (_row(C, alice.pk, pipeline.pk).stuck, _row(C, alice.pk, pipeline.pk).open_records) == (4, 5)
    assert AdoptionCount.objects.filter(week=A).count() == len(a_rows)
    # A back-fill with --redo recomputes the same figures (new rows, the same numbers).
    with time_machine.travel(at(2026, 7, 1, 11), tick=False):
        assert len(adoption.backfill(weeks=6, redo=True)) == 6
        adoption.backfill(weeks=12, redo=True)

    def numbers(rows):
        return [{k: v for k, v in row.items() if k != "id"} for row in rows]

    redone = AdoptionCount.objects.filter(week=A).order_by("person", "process").values()
    assert numbers(redone) == numbers(a_rows)


def test_the_page_scoping_lists_and_csv(history, cast, pipeline, web_for):
    alice = history["alice"]
    with time_machine.travel(NOW, tick=False):
        assert 'id="adoption-empty"' in web_for(cast.manager).get("/insights/adoption/").content.decode()
    _refresh()
    with time_machine.travel(NOW, tick=False):
        manager = web_for(cast.manager)
        page = manager.get("/insights/adoption/").content.decode()
        for user in (alice, cast.bob, cast.olga, cast.manager, cast.admin):
            assert f'data-person="{user.pk}"' in page
        assert 'id="adoption-people"' in page and "<polyline" in page and 'id="adoption-scores"' in page
        assert f'href="/insights/adoption/list/moves/?person={alice.pk}"' in page
        assert f'href="/processes/{pipeline.key}/analytics/"' in page

        # The CSV holds the numbers of every chart: Alice's week A, signal by signal.
        response = manager.get("/insights/adoption/?format=csv")
        assert response["Content-Type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert table[0] == adoption.CSV_HEADER
        alice_a = next(
            r for r in table if r[0] == "2026-06-01" and r[3] == "person" and r[4] == str(alice.pk)
        )
        assert alice_a[2:] == ["yes", "person", str(alice.pk), "Alice", "67"] + [
            str(n) for n in (9, 2, 1, 2, 6, 2, 3, 2, 2, 0, 1, 0, 3)
        ]
        process_c = next(r for r in table if r[0] == "2026-06-15" and r[3] == "process")
        assert (process_c[2], process_c[6], process_c[7], process_c[12]) == ("no", "70", "0", "3")
        # Five people scored from the week they joined (8 weeks each) and the process's 12 weeks.
        assert len(table) == 1 + 5 * 8 + 12
        # The lists behind Alice's week A: exactly what was counted.
        q = f"?person={alice.pk}&week=2026-06-01"
        lists = {
            signal: manager.get(f"/insights/adoption/list/{signal}/{q}").content.decode()
            for signal in adoption.LISTS
        }
        reminders = history["reminders"]
        assert f'data-reminder="{reminders["R2"].pk}"' in lists["overdue"]
        assert f'data-reminder="{reminders["R5"].pk}"' in lists["overdue"]
        assert lists["overdue"].count("data-reminder=") == 2
        assert (
            lists["stuck"].count("data-change=") == 2
            and ">D4<" in lists["stuck"]
            and ">D5<" in lists["stuck"]
        )
        assert (
            lists["moves"].count("data-change=") == 2
            and ">D2<" in lists["moves"]
            and ">D3<" in lists["moves"]
        )
        assert (
            "not a declared step; overridden" in lists["moves"] and "Visit not booked yet" in lists["moves"]
        )
        assert (
            lists["activities"].count("data-activity=") == 3 and "Sent by a rule" not in lists["activities"]
        )
        now_stuck = manager.get(f"/insights/adoption/list/stuck/?person={alice.pk}").content.decode()
        assert [name for name in ("D1", "D3", "D5", "D6") if f">{name}<" in now_stuck] == ["D1", "D5", "D6"]
        everyone = manager.get(f"/insights/adoption/list/stuck/?process={pipeline.key}").content.decode()
        assert everyone.count("data-change=") == 3
        # Week A's signals instead of this week's: Alice's row scores 67, and its links lead to week A's lists.
        week_a = manager.get("/insights/adoption/?week=2026-06-01").content.decode()
        row = week_a.split(f'<tr data-person="{alice.pk}">')[1].split("</tr>")[0]
        assert '<span class="score">67</span>' in row
        assert f'href="/insights/adoption/list/moves/?person={alice.pk}&amp;week=2026-06-01"' in row
        assert '>2</a> <span class="muted">of 9</span>' in row
        # One person's page: the chart, and a row per week with its links.
        one = manager.get(f"/insights/adoption/?person={alice.pk}").content.decode()
        assert 'id="adoption-chart"' in one and 'data-week="2026-06-01"' in one
        assert f"/insights/adoption/list/overdue/?person={alice.pk}&amp;week=2026-06-01" in one

        # A member sees only themself, on the page, the lists and the CSV.
        member = web_for(alice)
        mine = member.get("/insights/adoption/").content.decode()
        assert f'data-person="{alice.pk}"' in mine and f'data-person="{cast.bob.pk}"' not in mine
        assert "Bob" not in mine
        assert member.get(f"/insights/adoption/?person={cast.bob.pk}").status_code == 404
        assert member.get(f"/insights/adoption/list/overdue/?person={cast.bob.pk}").status_code == 404
        assert member.get("/insights/adoption/list/moves/?person=0").status_code == 404
        own_list = member.get("/insights/adoption/list/overdue/?week=2026-06-01").content.decode()
        assert own_list.count("data-reminder=") == 2
        bob_sees = web_for(cast.bob).get("/insights/adoption/list/overdue/?week=2026-06-01").content.decode()
        assert bob_sees.count("data-reminder=") == 1 and f'data-reminder="{reminders["R7"].pk}"' in bob_sees
        reader = web_for(cast.reader).get("/insights/adoption/").content.decode()
        assert f'data-person="{cast.reader.pk}"' in reader and f'data-person="{alice.pk}"' not in reader
        member_csv = list(
            csv.reader(
                io.StringIO(
                    b"".join(member.get("/insights/adoption/?format=csv").streaming_content).decode(
                        "utf-8-sig"
                    )
                )
            )
        )
        assert {r[4] for r in member_csv[1:] if r[3] == "person"} == {str(alice.pk)}
        # Bad input: 404, never a crash.
        for url in (
            "/insights/adoption/?person=abc",
            "/insights/adoption/?person=99999999999999999999",
            "/insights/adoption/list/everything/",
            "/insights/adoption/list/moves/?week=2026-06-02",
            "/insights/adoption/list/moves/?week=2026-07-06",
            "/insights/adoption/list/moves/?week=June",
            "/insights/adoption/list/stuck/?process=nope",
            "/insights/adoption/?week=2026-01-05",  # not one of the twelve weeks on the page
            "/insights/adoption/?week=2026-06-03",
        ):
            assert manager.get(url).status_code == 404, url
        assert manager.get("/insights/adoption/list/moves/?cursor=garbage").status_code == 400
        # The dashboard's tile and the nav lead here.
        home = manager.get("/").content.decode()
        assert 'id="tile-adoption"' in home and "80% of 10 moves followed it" in home
        assert 'href="/insights/adoption/"' in member.get("/").content.decode()


def _invoice(by, party, net: str, issued: dt.datetime, pay: dt.datetime):
    with time_machine.travel(issued, tick=False):
        invoice = billing.invoice_create(
            by=by,
            party=party,
            data=billing.InvoiceIn(lines=[billing.LineIn("Work", "1", net, "20")], terms_days=30),
        )
        invoice = billing.invoice_issue(by=by, invoice=invoice, send=False)
    with time_machine.travel(pay, tick=False):
        billing.payment_record(
            by=by, invoice=invoice, data=billing.PaymentIn(amount=str(invoice.total), key=f"k{invoice.pk}")
        )


def test_best_staff_by_adherence_and_their_customers(may, cast, pipeline, job_process, settings, web_for):
    """Alice: 6 moves in 1–14 June, 3 off the process (a deal and two jobs by override) → 50%; weeks A 91 and
    B 48 → 69.5 → 70. Bob: one move, declared → 100%; his deal is stuck in enquiry both weeks → 75, 75.
    Alice's customers: Ada (paid 1,000, a job cost 250: profit 750, NPS 9) and Cy (NPS 4: a detractor, at risk
    from 20); her jobs: one done a day early, one three days late."""
    settings.FRIDAY_RISK_THRESHOLD = 20
    survey_defaults_install()
    alice = _overrider(cast.alice)
    ada = make_person(alice, "Ada", roles=["customer"])
    cy = make_person(alice, "Cy", roles=["customer"])
    ben = make_person(cast.bob, "Ben", roles=["customer"])
    _invoice(alice, ada, "1000.00", at(2026, 6, 1, 10), at(2026, 6, 3, 10))
    _invoice(cast.bob, ben, "400.00", at(2026, 6, 1, 10), at(2026, 6, 3, 10))
    for party, score in ((ada, 9), (cy, 4)):
        with time_machine.travel(at(2026, 6, 5, 10), tick=False):
            _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=party)
            feedback_answer(token=raw, score=score)
    deal = _deal(alice, ada, "Boiler", at(2026, 6, 2, 9), value="900")
    _move(alice, deal, "quoted", at(2026, 6, 3, 9), override=True, reason="Quoted at once")
    _deal(cast.bob, ben, "Radiators", at(2026, 6, 3, 9))
    with time_machine.travel(at(2026, 6, 2, 10), tick=False):
        early = job_create(by=alice, party=ada, data=JobIn(title="Service", due_on=dt.date(2026, 6, 10)))
        late = job_create(by=alice, party=ada, data=JobIn(title="Repair", due_on=dt.date(2026, 6, 5)))
        cost_add(by=alice, job=early, data=CostIn(kind="materials", description="Pump", unit_cost="250"))
    for job, when in ((late, at(2026, 6, 8, 10)), (early, at(2026, 6, 9, 10))):
        with time_machine.travel(when, tick=False):
            job_move(by=alice, job=job, to="complete", override=True, reason="Signed off on site")
    with time_machine.travel(NOW, tick=False):
        adoption.refresh()
        metrics.recompute()
        rows = adoption.best_staff(user=cast.manager, start=A, end=C)
        mine = adoption.best_staff(user=cast.bob, start=A, end=C)
        context = best_staff_context(user=cast.manager, start=A, end=C)
        response = web_for(cast.manager).get("/insights/adoption/staff.csv?start=2026-06-01&end=2026-06-15")
    ranked = [r.user.pk for r in rows]
    assert ranked[:2] == [cast.bob.pk, alice.pk]  # those with nothing to judge come after
    assert set(ranked[2:]) == {cast.admin.pk, cast.manager.pk, cast.olga.pk}
    bob, a = rows[0], rows[1]
    assert (bob.score, bob.moves, bob.followed, bob.adherence) == (75, 1, 1, 100)
    assert (a.score, a.moves, a.followed, a.adherence) == (70, 6, 3, 50)
    assert (a.customers, a.revenue, a.gross_profit, a.nps, a.nps_answers, a.at_risk) == (
        2,
        D("1000.00"),
        D("750.00"),
        D("6.5"),
        2,
        1,
    )
    assert (a.jobs_done, a.jobs_due, a.jobs_on_time, a.on_time) == (2, 2, 1, 50)
    assert (bob.customers, bob.gross_profit, bob.nps, bob.at_risk) == (1, D("400.00"), None, 0)
    assert (a.profit_bar, bob.profit_bar) == (100, 53)
    assert [r.user.pk for r in mine] == [cast.bob.pk]  # a member gets their own row
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert table[0] == adoption.STAFF_CSV_HEADER
    assert table[2] == [
        "2",
        "Alice",
        "70",
        "6",
        "3",
        "50",
        "2",
        "1000.00",
        "750.00",
        "6.5",
        "2",
        "1",
        "2",
        "2",
        "1",
    ]
    html = render_to_string("insights/_best_staff.html", context)
    assert f'data-person="{alice.pk}"' in html and "50%" in html and "100%" in html
    assert 'href="/insights/adoption/staff.csv?start=2026-06-01&amp;end=2026-06-15"' in html
    assert Reminder.objects.count() == 0  # nothing else in this history


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_write_the_week_once(cast, pipeline):
    ada = make_person(cast.alice, "Ada", roles=["customer"])
    _deal(cast.alice, ada, "Boiler", at(2026, 6, 16, 9))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def go() -> None:
        try:
            barrier.wait()
            results.append(adoption.snapshot_week(C, at=NOW))
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [True, True]  # the second waits for the first's lock, then replaces the same figures
    assert AdoptionWeek.objects.filter(week=C).count() == 1
    (row,) = AdoptionCount.objects.filter(week=C)
    assert (row.person, row.process, row.moves, row.open_records) == (cast.alice.pk, pipeline.pk, 1, 1)


def test_the_back_fill_command(cast, pipeline):
    ada = make_person(cast.alice, "Ada", roles=["customer"])
    _deal(cast.alice, ada, "Boiler", at(2026, 6, 9, 9))
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("insights", "adoption", "--weeks", "3", stdout=out)
        assert "3 week(s) written (2026-06-01, 2026-06-08, 2026-06-15)" in out.getvalue()
        out = io.StringIO()
        call_command("insights", "adoption", "--weeks", "3", stdout=out)  # the past two are final now
        assert "1 week(s) written (2026-06-15)" in out.getvalue()
    assert _row(B, cast.alice.pk, pipeline.pk).moves == 1
    assert AdoptionWeek.objects.filter(final=True).count() == 2
