"""The daily digest through the real `friday worker` (its scheduler on, as in production): started after the hour
it catches up and sends today's digest to each colleague with their own content, at the SMTP server; stopped and
started again with the digest task queued once more, it sends nothing twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from friday.core import clock
from friday.insights.models import Digest
from friday.insights.tasks import digest_send_due
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_person

BASE = "https://friday.example.com"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _start_worker(smtp_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "FRIDAY_DATABASE_URL": _database_url(),
        "FRIDAY_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "FRIDAY_DATA_DIR": str(settings.DATA_DIR),
        "FRIDAY_TIME_ZONE": settings.TIME_ZONE,
        # The worker runs on the real clock: from hour 0, "after the hour" holds whenever the test runs.
        "FRIDAY_DIGEST_HOUR": "0",
        "FRIDAY_BASE_URL": BASE,
    }
    friday = Path(sys.executable).parent / "friday"
    return subprocess.Popen(
        [str(friday), "worker", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)


def _wait(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


@pytest.mark.django_db(transaction=True)
def test_the_worker_catches_up_and_sends_each_colleague_their_own_digest_once(cast, smtp_server):
    now = clock.now()
    ada = make_person(cast.alice, "Ada", "Lovelace", roles=["customer"])
    bea = make_person(cast.bob, "Bea", "Blue", roles=["customer"])
    reminder_create(
        by=cast.alice,
        data=ReminderIn(title="Call Ada about the boiler", due_at=now - dt.timedelta(days=2), party=ada),
    )
    reminder_create(
        by=cast.bob,
        data=ReminderIn(title="Chase Bea's deposit", due_at=now - dt.timedelta(days=3), party=bea),
    )
    worker = _start_worker(settings.EMAIL_PORT)
    try:
        # Alice and Bob (overdue reminders), the manager (both customers were created by others) and the
        # read-only colleague in Red (Ada was created by Alice); Olga sees neither: hers is empty, not sent.
        _wait(lambda: len(smtp_server.messages) >= 4 and Digest.objects.count() == 5)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        _stop(worker)
    received = {str(m["To"]): m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 4 and set(received) == {
        "Alice <alice@staff.example.com>",
        "Bob <bob@staff.example.com>",
        "Manager <manager@staff.example.com>",
        "Reader <reader@staff.example.com>",
    }
    alice, bob = (
        _text(received["Alice <alice@staff.example.com>"]),
        _text(received["Bob <bob@staff.example.com>"]),
    )
    assert "- 2 days overdue  Call Ada about the boiler — Ada Lovelace" in alice
    assert f"{BASE}/reminders/" in alice and "Bea" not in alice and "deposit" not in alice
    assert "- 3 days overdue  Chase Bea's deposit — Bea Blue" in bob and "Ada" not in bob
    manager = _text(received["Manager <manager@staff.example.com>"])
    assert "Person created — Alice" in manager and "Person created — Bob" in manager
    assert Digest.objects.get(user=cast.olga).items == 0

    # Down, then up again with the digest task queued once more (a retried task, a second slot): nothing twice.
    again = digest_send_due.enqueue()
    worker = _start_worker(settings.EMAIL_PORT)
    try:
        _wait(lambda: (again.refresh(), again.is_finished)[1])
        time.sleep(1.0)
    finally:
        _stop(worker)
    assert again.return_value == "0 digest(s) queued, 0 empty (not sent)"
    assert Counter(str(m["To"]) for m in smtp_server.messages) == Counter(set(received))  # still one each
    assert Digest.objects.filter(on=clock.today()).count() == 5
