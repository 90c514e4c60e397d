"""Background work through the real parts: the database queue, the worker, the scheduler and an SMTP server."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from friday.core import scheduler
from friday.core.events import event_emit
from friday.core.models import ScheduleSlot
from friday.parties.services import party_change_owner
from tests.conftest import make_person


@pytest.mark.django_db(transaction=True)
def test_handover_mail_is_sent_by_the_worker_through_smtp(cast, smtp_server, run_worker):
    party = make_person(cast.alice)
    party_change_owner(by=cast.alice, party=party, owner=cast.olga)
    assert smtp_server.messages == []  # nothing is sent by the web request itself
    run_worker()
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "olga@staff.example.com"
    assert mail["Subject"] == "Alice handed Ada Lovelace over to you"
    assert mail["Message-ID"].startswith("<handover-")
    assert f"/parties/{party.pk}/" in mail.get_content()
    result = DBTaskResult.objects.get(task_path__endswith="handover_notify")
    assert result.status == "SUCCESSFUL" and result.return_value == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_in_a_rolled_back_transaction_never_runs(cast, smtp_server, run_worker):
    party = make_person(cast.alice)
    with pytest.raises(RuntimeError), transaction.atomic():
        party_change_owner(by=cast.alice, party=party, owner=cast.olga)
        raise RuntimeError("rolled back")
    run_worker()
    assert smtp_server.messages == [] and DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_events_can_only_be_emitted_inside_a_transaction(cast):
    with pytest.raises(RuntimeError, match="outside a transaction"):
        # pytest-django wraps tests in a transaction, so step outside it explicitly
        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            event_emit(name="x", subject=cast.alice)
        finally:
            connection.in_atomic_block = saved


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_never_run_the_same_slot_twice(db_vendor):
    calls: list[str] = []
    lock = threading.Lock()

    def enqueue() -> None:
        with lock:
            calls.append("run")

    job = scheduler.Job("test.job", "*/5 * * * *", enqueue)
    now = dt.datetime(2026, 3, 1, 10, 7, tzinfo=dt.UTC)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def race(worker_id: str) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                scheduler.run_due(worker_id=worker_id, now=now, jobs=[job])
        except BaseException as exc:  # collected and asserted below, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert calls == ["run"]
    slot = ScheduleSlot.objects.get(name="test.job")
    assert slot.slot == dt.datetime(2026, 3, 1, 10, 5, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_scheduler_that_was_down_runs_the_latest_missed_slot_once():
    calls: list[dt.datetime] = []
    job = scheduler.Job("test.daily", "0 3 * * *", lambda: calls.append(dt.datetime.now(dt.UTC)))
    scheduler.run_due(worker_id="a", now=dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC), jobs=[job])
    # down for three days; back at noon
    scheduler.run_due(worker_id="a", now=dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC), jobs=[job])
    scheduler.run_due(worker_id="a", now=dt.datetime(2026, 3, 4, 12, 1, tzinfo=dt.UTC), jobs=[job])
    assert len(calls) == 2
    assert list(ScheduleSlot.objects.order_by("slot").values_list("slot", flat=True)) == [
        dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 4, 3, 0, tzinfo=dt.UTC),
    ]


@pytest.mark.django_db(transaction=True)
def test_registered_sweeps_are_enqueued_and_run_by_the_worker(run_worker):
    names = {job.name for job in scheduler.registry()}
    assert {"tasks.prune", "accounts.prune_login_failures", "database.analyze"} <= names
    done = scheduler.run_due(worker_id="w")
    assert set(done) == names
    run_worker()
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {"SUCCESSFUL"}
    assert scheduler.run_due(worker_id="w") == []  # same slots: nothing new


@pytest.mark.django_db(transaction=True)
def test_the_analyze_sweep_gives_sqlite_planner_statistics(db_vendor, run_worker):
    from friday.core.tasks import analyze_database

    analyze_database.enqueue()
    run_worker()
    result = DBTaskResult.objects.get(task_path__endswith="analyze_database")
    assert result.status == "SUCCESSFUL"
    if db_vendor == "sqlite":
        assert result.return_value == "analyzed"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_stat1")
            assert cursor.fetchone()[0] > 0
    else:
        assert result.return_value == "not needed"
