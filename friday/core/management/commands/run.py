"""`friday run`: migrate, then the web server and the background worker together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web app and the background worker together (FRIDAY_PORT, default 8000)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("FRIDAY_PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("FRIDAY_HOST", "127.0.0.1"))
        parser.add_argument("--no-migrate", action="store_true", help="Do not apply migrations first")

    def handle(self, *args, port: int, host: str, no_migrate: bool, **options) -> None:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        base = [sys.executable, "-m", "friday.cli"]
        env = {**os.environ, "FRIDAY_PORT": str(port)}
        children = {
            "web server": subprocess.Popen([*base, "serve", "--port", str(port), "--host", host], env=env),
            "worker": subprocess.Popen([*base, "worker"], env=env),
        }
        self.stdout.write(f"Friday is running on http://{host}:{port}/ (web + worker). Press Ctrl-C to stop.")
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"The {name} stopped (exit {code}); stopping the rest.")
                    exit_code = code or 1
                    stopping = True
            time.sleep(0.2)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Friday stopped.")
        if exit_code:
            sys.exit(exit_code)
