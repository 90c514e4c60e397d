"""Kill the worker with SIGKILL several times while it drains 1,000 messages, restarting it each time: every
message reaches the SMTP server. A message arrives twice only when a kill fell between the server accepting it
and the outbox recording it — then with the same Message-ID — so duplicates ≤ kills, and nothing else twice."""

from __future__ import annotations

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

from friday.messaging.models import MessageStatus, OutboundMessage
from friday.messaging.services import message_queue
from friday.messaging.tasks import outbox_drain
from tests.conftest import make_person

MESSAGES = 1000
KILLS_AT = (150, 450, 750)  # messages received when each kill is sent
LEASE = 2


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
        "FRIDAY_OUTBOX_LEASE_SECONDS": str(LEASE),
        "FRIDAY_DATA_DIR": str(settings.DATA_DIR),
    }
    friday = Path(sys.executable).parent / "friday"
    return subprocess.Popen(
        [str(friday), "worker", "--no-scheduler", "--interval", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_sigkill_during_a_drain_loses_nothing_and_duplicates_only_the_unrecorded(cast, smtp_server):
    party = make_person(cast.alice, emails=["ada@example.com"])
    for i in range(MESSAGES):
        message_queue(key=f"bulk:{i}", party=party, subject=f"Message {i}", body_text="x")
    port = settings.EMAIL_PORT
    kills = 0
    for threshold in KILLS_AT:
        outbox_drain.enqueue()  # what the scheduler's minute sweep does for a restarted worker
        worker = _start_worker(port)
        _wait(lambda t=threshold: len(smtp_server.messages) >= t)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        kills += 1
    # The last worker: claims left by the killed ones expire after the lease, and it sends those too.
    time.sleep(LEASE + 0.5)
    outbox_drain.enqueue()
    worker = _start_worker(port)
    try:
        _wait(lambda: not OutboundMessage.objects.exclude(status=MessageStatus.SENT).exists(), timeout=120)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    expected = set(OutboundMessage.objects.values_list("message_id", flat=True))
    assert set(received) == expected and len(expected) == MESSAGES  # every message arrived
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    print(f"\n{len(smtp_server.messages)} received, {len(duplicates)} duplicated, {kills} kills")
    assert sum(n - 1 for n in duplicates.values()) <= kills
    # Each duplicate is a message whose first sending was never recorded: it was claimed again.
    for mid in duplicates:
        assert OutboundMessage.objects.get(message_id=mid).attempts >= 2
