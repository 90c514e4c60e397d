"""`friday createadmin --username NAME [--password-stdin]`: create an admin; prints a generated password once."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from friday.accounts import services
from friday.core.errors import FridayError


class Command(BaseCommand):
    help = "Create an admin user. Without --password-stdin a password is generated and printed once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from standard input"
        )
        parser.add_argument(
            "--if-no-admin",
            action="store_true",
            help="Do nothing (and succeed) when an active admin already exists",
        )

    def handle(self, *args, username: str, password_stdin: bool, if_no_admin: bool, **options) -> None:
        if if_no_admin and services.admin_exists():
            self.stdout.write("An admin already exists; no new admin created.")
            return
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
        try:
            user, password = services.admin_create_from_cli(username=username, password=password)
        except FridayError as exc:
            raise CommandError(f"{exc.field + ': ' if exc.field else ''}{exc.detail}") from exc
        self.stdout.write(self.style.SUCCESS(f"Admin {user.username!r} created."))
        if not password_stdin:
            self.stdout.write(f"Password (shown once, write it down): {password}")
