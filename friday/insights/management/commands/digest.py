"""`friday digest send [--user NAME] [--dry-run]`: today's daily digest now, instead of waiting for the hour."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from friday.accounts.services import user_get_by_username
from friday.core import clock
from friday.core.errors import FridayError
from friday.insights import services


class Command(BaseCommand):
    help = (
        "The daily digest: `send` queues today's for everyone who has not had it (or one --user); "
        "`--dry-run` prints it instead, changing nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{send}")
        send = actions.add_parser(
            "send", help="Send today's digest now (once a day per user, as the worker does)"
        )
        send.add_argument("--user", help="Only this user (by username)")
        send.add_argument(
            "--dry-run", action="store_true", help="Print the digest (subject and plain text); queue nothing"
        )

    def handle(self, *args, action: str, user: str | None, dry_run: bool, **options) -> None:
        if user:
            try:
                users = [user_get_by_username(user)]
            except FridayError as exc:
                raise CommandError(exc.detail) from exc
        else:
            users = list(services.digest_recipients(clock.today()))
        counts: dict[str, int] = {}
        for target in users:
            sent = services.digest_send(user=target, dry_run=dry_run)
            counts[sent.outcome] = counts.get(sent.outcome, 0) + 1
            if dry_run and sent.email is not None:
                unsent = f"(would not be sent: {sent.reason})\n" if sent.reason else ""
                self.stdout.write(
                    f"{unsent}To: {target.email}\nSubject: {sent.email.subject}\n\n{sent.email.body_text}"
                )
            else:
                said = {
                    "queued": "would be sent" if dry_run else "queued",
                    "empty": "nothing to say today: not sent",
                    "already": "already had today's",
                    "skipped": f"{'would be ' if dry_run else ''}skipped ({sent.reason})",
                }[sent.outcome]
                self.stdout.write(f"{target.username}: {said}")
        if not users:
            self.stdout.write("Everyone has had today's digest (or has it turned off).")
        elif len(users) > 1:
            self.stdout.write(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
