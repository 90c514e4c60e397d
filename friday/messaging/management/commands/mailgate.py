"""`friday mailgate`: an SMTP server for a BCC or forwarding address; each mail is filed on the timelines of
its parties (see messaging/inbound.py). Point a mail route, or your staff's BCC, at it."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from friday.messaging.inbound import file_message

logger = logging.getLogger("friday.mailgate")
MAX_SIZE = 25 * 1024 * 1024


class Handler:
    """aiosmtpd calls this for each message. A mail it could not store is refused with a temporary error, so
    the sending server keeps it and tries again: never accepted and lost."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            row = await sync_to_async(_file, thread_sensitive=True)(
                envelope.original_content or envelope.content
            )
        except Exception:
            logger.exception("could not file a message from %s", envelope.mail_from)
            return "451 4.3.0 Could not store the message; try again later"
        logger.info(
            "filed %s (%s) from %s", row.message_id, row.status, row.from_address or envelope.mail_from
        )
        return "250 2.0.0 Filed"


def _file(raw: bytes) -> Any:
    close_old_connections()
    return file_message(raw)


class Command(BaseCommand):
    help = "Receive mail over SMTP (a BCC or forwarding address) and file it on the parties' timelines."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        from aiosmtpd.controller import Controller

        controller = Controller(Handler(), hostname=host, port=port, data_size_limit=MAX_SIZE)
        controller.start()
        self.stdout.write(f"Mail gateway listening on {host}:{port}; Ctrl-C to stop.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
