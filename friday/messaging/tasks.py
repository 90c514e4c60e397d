"""Background work for messages: drain the outbox (claim, send, record). Nothing else."""

from __future__ import annotations

import os
import socket

from django_tasks import task

from friday.messaging import services


@task()
def outbox_drain() -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return str(services.outbox_drain(worker_id=worker, limit=5000))
