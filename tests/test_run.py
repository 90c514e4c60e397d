"""`friday run` as a user starts it: web and worker together on FRIDAY_PORT; Ctrl-C stops both; re-runs keep data."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # process orchestration: the same on either database, so run in one pass

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _friday(env, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "friday"), *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=True,
    )


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def _task_statuses(db_path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM django_tasks_database_dbtaskresult")]


def test_run_serves_web_and_worker_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "FRIDAY_DATABASE_URL"}
    env.update(FRIDAY_DATA_DIR=str(tmp_path), FRIDAY_PORT=str(port), FRIDAY_EMAIL_URL="console://")
    # the first run's set-up, as `make run` does it
    _friday(env, "migrate")
    first = _friday(env, "createadmin", "--username", "admin", "--if-no-admin")
    assert re.search(r"Password \(shown once, write it down\): \S+", first.stdout)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # generated on first run, private
    token = _friday(env, "token", "create", "--user", "admin").stdout.strip()

    process = subprocess.Popen(
        [str(BIN / "friday"), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz")
        assert "Sign in to Friday" in urllib.request.urlopen(f"{base}/login/", timeout=5).read().decode()
        htmx = urllib.request.urlopen(f"{base}/static/vendor/htmx/htmx.min.js", timeout=5).read(300).decode()
        assert "htmx" in htmx
        request = urllib.request.Request(
            f"{base}/api/v1/parties",
            method="POST",
            data=json.dumps({"kind": "person", "given_name": "Ada", "family_name": "Lovelace"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        # the worker's scheduler enqueues the periodic sweeps at start, and the worker runs them
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = _task_statuses(tmp_path / "friday.sqlite3")
            if statuses and set(statuses) == {"SUCCESSFUL"}:
                break
            time.sleep(0.3)
        assert statuses and set(statuses) == {"SUCCESSFUL"}, statuses
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Friday stopped." in output
    assert "(scheduler on)" in output

    # a second start keeps the data and makes no new admin
    again = _friday(env, "createadmin", "--username", "admin", "--if-no-admin")
    assert "already exists" in again.stdout and "Password" not in again.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "friday.sqlite3") as conn:
        assert conn.execute("SELECT display_name FROM parties_party").fetchall() == [("Ada Lovelace",)]
    with pytest.raises(OSError):  # both processes are gone: nothing listens any more
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
