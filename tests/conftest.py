"""Shared fixtures: users of every role in two teams, parties, an API client, a real SMTP server, the worker."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from friday.accounts import services as account_services
from friday.accounts.models import Role, Scope, Team, User
from friday.parties import services as party_services
from friday.parties.models import Party

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
REQUIRE_ALL = os.environ.get("FRIDAY_REQUIRE_ALL") == "1"
PASSWORD = "correct-horse-battery-9"


def skip_or_fail(reason: str) -> None:
    """Locally a missing part skips with a clear message; in CI (FRIDAY_REQUIRE_ALL=1) it fails."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (FRIDAY_REQUIRE_ALL=1: nothing may be skipped)")
    pytest.skip(reason)


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor


@dataclass
class Cast:
    admin: User
    manager: User
    alice: User  # member, team Red, scope team
    bob: User  # member, team Blue, scope team
    olga: User  # member, team Red, scope own
    reader: User  # read-only, team Red
    red: Team
    blue: Team


@pytest.fixture
def cast(db) -> Cast:
    admin, _ = account_services.admin_create_from_cli(username="admin", password=PASSWORD)
    red = account_services.team_create(by=admin, name="Red")
    blue = account_services.team_create(by=admin, name="Blue")

    def make(username: str, role: str, scope: str, teams: list[Team]) -> User:
        return account_services.user_create(
            by=admin,
            username=username,
            password=PASSWORD,
            role=role,
            scope=scope,
            teams=teams,
            email=f"{username}@staff.example.com",
            first_name=username.title(),
        )

    return Cast(
        admin=admin,
        manager=make("manager", Role.MANAGER, Scope.TEAM, []),
        alice=make("alice", Role.MEMBER, Scope.TEAM, [red]),
        bob=make("bob", Role.MEMBER, Scope.TEAM, [blue]),
        olga=make("olga", Role.MEMBER, Scope.OWN, [red]),
        reader=make("reader", Role.READ_ONLY, Scope.TEAM, [red]),
        red=red,
        blue=blue,
    )


def make_person(by: User, given: str = "Ada", family: str = "Lovelace", **fields) -> Party:
    data = party_services.PartyIn(kind="person", given_name=given, family_name=family, **fields)
    return party_services.party_create(by=by, data=data, allow_duplicates=True)


def make_org(by: User, name: str = "Acme Ltd", **fields) -> Party:
    data = party_services.PartyIn(kind="organisation", name=name, **fields)
    return party_services.party_create(by=by, data=data, allow_duplicates=True)


class Api:
    """A Django test client speaking JSON with a bearer token."""

    def __init__(self, user: User) -> None:
        _, self.token = account_services.token_create(user=user)
        self.client = Client()
        self.user = user

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, **self._headers())

    def send(self, method: str, path: str, body=None, raw: bytes | str | None = None, query: str = ""):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        fn = getattr(self.client, method.lower())
        return fn(f"/api/v1{path}{query}", data=data, content_type="application/json", **self._headers())

    def post(self, path: str, body=None, **kw):
        return self.send("POST", path, body, **kw)

    def patch(self, path: str, body=None, **kw):
        return self.send("PATCH", path, body, **kw)

    def delete(self, path: str):
        return self.send("DELETE", path)


@pytest.fixture
def api_for():
    return Api


@pytest.fixture
def web_for():
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


# --- a real SMTP server on loopback -------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.reply: str | None = None  # set e.g. "451 4.3.0 Try again later" to refuse the next messages

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        if self.reply:
            return self.reply
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    with socket.socket() as s:  # aiosmtpd cannot bind port 0 itself: find a free port first
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def run_worker():
    """Run the real database worker until the queue is empty (in this process, on the test database)."""
    from django_tasks_db.management.commands.db_worker import Worker

    def run() -> None:
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()

    return run


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher."""
    if "real_hashing" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lifecycle(cast):
    """The starter customer lifecycle, published."""
    from friday.processes.services import process_import
    from friday.processes.templates import starter_text

    process, _ = process_import(by=cast.admin, source=starter_text("lifecycle"))
    return process


@pytest.fixture
def pipeline(cast):
    """The starter sales pipeline, published (which adds the starter lost reasons)."""
    from friday.processes.services import process_import
    from friday.processes.templates import starter_text

    process, _ = process_import(by=cast.admin, source=starter_text("sales"))
    return process


@pytest.fixture
def job_process(cast):
    """The starter job workflow, published."""
    from friday.processes.services import process_import
    from friday.processes.templates import starter_text

    process, _ = process_import(by=cast.admin, source=starter_text("jobs"))
    return process


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with empty caches (the dashboard keeps figures for a few minutes)."""
    from django.core.cache import cache

    from friday.core import business

    cache.clear()
    business.forget()  # the business as last read: another test's row is gone with its transaction
    yield
    cache.clear()
