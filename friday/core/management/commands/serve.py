"""`friday serve`: the production web server (gunicorn, static files through whitenoise)."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app with gunicorn (FRIDAY_PORT, FRIDAY_HOST, FRIDAY_WEB_WORKERS)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("FRIDAY_PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("FRIDAY_HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("FRIDAY_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("FRIDAY_WEB_THREADS", "4")))

    def handle(self, *args, port: int, host: str, workers: int, threads: int, **options) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "friday.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--access-logfile",
            "-",
            "--no-control-socket",
            "--graceful-timeout",
            "10",
            "--forwarded-allow-ips",
            os.environ.get("FRIDAY_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process with gunicorn
