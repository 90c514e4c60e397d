"""`friday token create --user NAME`: prints only the new API token on stdout, once. Also list and revoke."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from friday.accounts import services
from friday.accounts.models import ApiToken
from friday.core.errors import FridayError


class Command(BaseCommand):
    help = "Manage API tokens: create, list, revoke."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; only the token is printed on stdout")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="")
        listing = sub.add_parser("list", help="List tokens (prefixes only)")
        listing.add_argument("--user")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "create":
                user = services.user_get_by_username(options["user"])
                _, raw = services.token_create(user=user, name=options["name"])
                self.stdout.write(raw)
            elif action == "list":
                qs = ApiToken.objects.select_related("user").order_by("created_at")
                if options.get("user"):
                    qs = qs.filter(user__username=options["user"])
                for t in qs:
                    state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
                    self.stdout.write(f"{t.prefix}…  {t.user.username:<20} {t.name:<24} {state}")
            elif action == "revoke":
                token = ApiToken.objects.filter(prefix=options["prefix"][:10]).first()
                if token is None:
                    raise CommandError(f"No token starts with {options['prefix']!r}.")
                services.token_revoke(token=token, by=token.user)
                self.stderr.write(f"Token {token.prefix}… revoked.")
        except FridayError as exc:
            raise CommandError(exc.detail) from exc
