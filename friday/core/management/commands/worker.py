"""`friday worker`: runs queued background tasks and the scheduler loop that enqueues periodic sweeps."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from friday.core import scheduler


class Command(BaseCommand):
    help = "Run the background task worker and the periodic scheduler."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", action="store_true", help="Run the queued tasks, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle")
        parser.add_argument("--no-scheduler", action="store_true", help="Only run tasks; enqueue no sweeps")
        parser.add_argument("--queue-name", default="default")

    def handle(
        self, *args, batch: bool, interval: float, no_scheduler: bool, queue_name: str, **options
    ) -> None:
        logging.getLogger("django_tasks").setLevel(logging.INFO)
        worker_id = f"{socket.gethostname()}-{os.getpid()}-{get_random_string(6)}"[:64]
        stop = threading.Event()
        thread = None
        if not no_scheduler and not batch:
            thread = threading.Thread(
                target=scheduler.loop,
                kwargs={"worker_id": worker_id, "stop": stop},
                name="friday-scheduler",
                daemon=True,
            )
            thread.start()
        elif batch and not no_scheduler:
            scheduler.run_due(worker_id=worker_id)
        worker = Worker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        if not batch:
            worker.configure_signals()
            self.stdout.write(f"Worker {worker_id} running (scheduler {'off' if no_scheduler else 'on'}).")
        try:
            worker.run()
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=5)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
