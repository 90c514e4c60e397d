"""Background work for automation: sweep the rules, run the due actions. Nothing else."""

from __future__ import annotations

import os
import socket

from django_tasks import task

from friday.automation import services


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task()
def automation_sweep() -> str:
    result = services.sweep()
    ran = services.run_due(worker_id=_worker(), limit=2000)
    return f"{result}; {ran}"


@task()
def automation_run() -> str:
    return str(services.run_due(worker_id=_worker(), limit=2000))
