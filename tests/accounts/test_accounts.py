"""Sign-in, throttling, passwords, roles, teams, and API tokens (pages, services and the CLI)."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from friday.accounts import services
from friday.accounts.models import ApiToken, LoginFailure, User
from friday.core.errors import PermissionDenied, ValidationFailed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.real_hashing
def test_passwords_are_hashed_with_argon2(cast):
    user = services.user_create(by=cast.admin, username="hashme", password="another-long-pass-7")
    assert user.password.startswith("argon2$")
    assert user.check_password("another-long-pass-7")


def test_login_logout_and_next(cast):
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post(
        "/login/?next=/parties/", {"username": "alice", "password": PASSWORD, "next": "/parties/"}
    )
    assert response.status_code == 302 and response["Location"] == "/parties/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_throttled_after_repeated_failures(cast, settings):
    settings.FRIDAY_LOGIN_MAX_FAILURES = 3
    client = Client()
    for _ in range(3):
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
        assert "Please enter a correct username and password" in response.content.decode()
    # now even the right password is refused until the window passes
    locked = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 200 and "Too many failed sign-ins" in locked.content.decode()
    assert LoginFailure.objects.filter(username="alice").count() == 3
    # other usernames are unaffected
    assert client.post("/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_throttle_window_expires(cast, settings):
    import time_machine

    settings.FRIDAY_LOGIN_MAX_FAILURES = 2
    settings.FRIDAY_LOGIN_WINDOW_SECONDS = 600
    client = Client()
    with time_machine.travel("2026-01-01 09:00Z", tick=False):
        for _ in range(2):
            client.post("/login/", {"username": "alice", "password": "wrong"})
        assert services.login_locked("alice")
    with time_machine.travel("2026-01-01 09:11Z", tick=False):
        assert not services.login_locked("alice")
        assert services.login_failures_prune() == 2
        assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_inactive_users_cannot_sign_in_or_use_tokens(cast, api_for):
    api = api_for(cast.alice)
    services.user_update(by=cast.admin, user=cast.alice, is_active=False)
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 200
    assert api.get("/parties").status_code == 401


def test_password_change(cast, web_for):
    client = web_for(cast.alice)
    bad = client.post(
        "/settings/password/", {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert bad.status_code == 200 and "too short" in bad.content.decode()
    ok = client.post(
        "/settings/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-pass-42",
            "new_password2": "a-much-better-pass-42",
        },
    )
    assert ok.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.check_password("a-much-better-pass-42")


def test_admin_creates_and_edits_users_from_the_page(cast, web_for):
    client = web_for(cast.admin)
    weak = client.post(
        "/settings/users/new/",
        {"username": "newbie", "role": "member", "scope": "own", "password": "password"},
    )
    assert weak.status_code == 422 and "too common" in weak.content.decode()
    ok = client.post(
        "/settings/users/new/",
        {
            "username": "newbie",
            "role": "member",
            "scope": "own",
            "password": "kettle-on-the-boil-9",
            "teams": [cast.red.pk],
        },
    )
    assert ok.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.scope == "own" and list(newbie.teams.all()) == [cast.red]
    edit = client.post(
        f"/settings/users/{newbie.pk}/",
        {"role": "read_only", "scope": "all", "teams": [cast.blue.pk], "is_active": "on"},
    )
    assert edit.status_code == 302
    newbie.refresh_from_db()
    assert newbie.role == "read_only" and list(newbie.teams.all()) == [cast.blue]
    assert "newbie" in client.get("/settings/users/").content.decode()


def test_admin_cannot_demote_themselves(cast):
    with pytest.raises(ValidationFailed):
        services.user_update(by=cast.admin, user=cast.admin, role="member")


def test_only_admins_manage_users_and_teams(cast):
    with pytest.raises(PermissionDenied):
        services.user_create(by=cast.manager, username="x", password="kettle-on-the-boil-9")
    with pytest.raises(PermissionDenied):
        services.team_create(by=cast.alice, name="Mine")
    with pytest.raises(ValidationFailed):
        services.team_create(by=cast.admin, name="red")  # names are unique, ignoring case


def test_tokens_shown_once_stored_hashed_and_revocable(cast, web_for, api_for):
    client = web_for(cast.alice)
    created = client.post("/settings/tokens/", {"name": "sync"})
    assert created.status_code == 302  # post/redirect/get: a reload cannot make a second token
    page = client.get(created["Location"]).content.decode()
    raw = re.search(r'id="new-token">([^<]+)<', page).group(1)
    token = ApiToken.objects.get(user=cast.alice, name="sync")
    assert raw not in token.digest and len(token.digest) == 64 and raw.startswith(token.prefix)
    assert raw not in client.get("/settings/tokens/").content.decode()  # never shown again
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api.get("/api/v1/me", **auth).json()["username"] == "alice"
    client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/me", **auth).status_code == 401


def test_cli_createadmin_and_token(db):
    out = io.StringIO()
    call_command("createadmin", "--username", "boss", stdout=out)
    password = re.search(r"Password \(shown once, write it down\): (\S+)", out.getvalue()).group(1)
    assert User.objects.get(username="boss").check_password(password)
    again = io.StringIO()
    call_command("createadmin", "--username", "admin", "--if-no-admin", stdout=again)
    assert "already exists" in again.getvalue() and User.objects.count() == 1
    with pytest.raises(CommandError, match="taken"):
        call_command("createadmin", "--username", "boss", stdout=io.StringIO())
    token_out = io.StringIO()
    call_command("token", "create", "--user", "boss", stdout=token_out)
    raw = token_out.getvalue().strip()
    assert raw.startswith("fri_") and "\n" not in raw  # only the token on stdout
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "boss"
    with pytest.raises(CommandError, match="No user"):
        call_command("token", "create", "--user", "ghost", stdout=io.StringIO())


def test_cli_createadmin_reads_password_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("kettle-on-the-boil-9\n"))
    out = io.StringIO()
    call_command("createadmin", "--username", "boss", "--password-stdin", stdout=out)
    assert "Password" not in out.getvalue()
    assert User.objects.get(username="boss").check_password("kettle-on-the-boil-9")
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    with pytest.raises(CommandError, match="too common"):
        call_command("createadmin", "--username", "boss2", "--password-stdin", stdout=io.StringIO())
