"""The write path for users, teams, API tokens and login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from friday.accounts.models import ApiToken, LoginFailure, Role, Scope, Team, User
from friday.accounts.scoping import require_admin
from friday.core import clock
from friday.core.errors import Collector, FridayError, NotFound
from friday.core.events import event_emit

TOKEN_PREFIX = "fri_"


def _clean_user_fields(errors: Collector, *, role: str, scope: str, email: str) -> None:
    if role not in Role.values:
        errors.add("role", f"Role must be one of: {', '.join(Role.values)}.")
    if scope not in Scope.values:
        errors.add("scope", f"Scope must be one of: {', '.join(Scope.values)}.")
    if email:
        from friday.parties.normalise import normalise_email  # one validator for every email in Friday

        try:
            normalise_email(email)
        except FridayError as exc:
            errors.add("email", exc.detail)


@transaction.atomic
def user_create(
    *,
    by: User | None,
    username: str,
    password: str,
    role: str = Role.MEMBER,
    scope: str = Scope.TEAM,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    teams: list[Team] | None = None,
) -> User:
    """Create a user. `by` is None only for the first admin (CLI); otherwise it must be an admin."""
    if by is not None:
        require_admin(by)
    errors = Collector()
    username = username.strip()
    if not username:
        errors.add("username", "A username is required.")
    elif User.objects.filter(username__iexact=username).exists():
        errors.add("username", f"The username {username!r} is taken.", code="user.username_taken")
    _clean_user_fields(errors, role=role, scope=scope, email=email)
    candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, candidate)
    except DjangoValidationError as exc:
        errors.add("password", " ".join(exc.messages), code="user.weak_password")
    errors.raise_if_any()
    user = User.objects.create_user(
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        scope=scope,
        is_staff=False,
    )
    if teams:
        user.teams.set(teams)
    event_emit(name="user.created", subject=user, actor=by, payload={"role": role})
    return user


@transaction.atomic
def user_update(
    *,
    by: User,
    user: User,
    role: str | None = None,
    scope: str | None = None,
    teams: list[Team] | None = None,
    is_active: bool | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    digest_enabled: bool | None = None,
) -> User:
    require_admin(by)
    errors = Collector()
    _clean_user_fields(errors, role=role or user.role, scope=scope or user.scope, email=email or "")
    if user.pk == by.pk and ((role and role != Role.ADMIN) or is_active is False):
        errors.add(
            "role", "You cannot demote or deactivate yourself; ask another admin.", code="user.self_demote"
        )
    errors.raise_if_any()
    changed: list[str] = []
    for name, value in (
        ("role", role),
        ("scope", scope),
        ("is_active", is_active),
        ("email", email),
        ("first_name", first_name),
        ("last_name", last_name),
        ("digest_enabled", digest_enabled),
    ):
        if value is not None and getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)
    if teams is not None:
        before = set(user.teams.values_list("pk", flat=True))
        if before != {t.pk for t in teams}:
            user.teams.set(teams)
            changed.append("teams")
    if changed:
        event_emit(name="user.updated", subject=user, actor=by, payload={"fields": changed})
    return user


@transaction.atomic
def user_digest_set(*, by: User, user: User, enabled: bool) -> User:
    """Turn the daily digest on or off: a user for themselves (their preferences page, or the unsubscribe link in
    a digest, whose signed token stands for them), an admin for anyone. Recorded as `user.updated`."""
    if by.pk != user.pk:
        require_admin(by)
    if user.digest_enabled != enabled:
        user.digest_enabled = enabled
        user.save(update_fields=["digest_enabled"])
        event_emit(name="user.updated", subject=user, actor=by, payload={"fields": ["digest_enabled"]})
    return user


@transaction.atomic
def team_create(*, by: User, name: str, description: str = "") -> Team:
    require_admin(by)
    name = name.strip()
    errors = Collector()
    if not name:
        errors.add("name", "A team needs a name.")
    elif Team.objects.filter(name__iexact=name).exists():
        errors.add("name", f"There is already a team called {name!r}.", code="team.name_taken")
    errors.raise_if_any()
    team = Team.objects.create(name=name, description=description)
    event_emit(name="team.created", subject=team, actor=by)
    return team


def _digest(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough; a slow KDF would tax every API call.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "", by: User | None = None) -> tuple[ApiToken, str]:
    """Create a token for `user`. Returns the row and the raw token, which is never stored or shown again."""
    if by is not None and by.pk != user.pk:
        require_admin(by)
    if not user.is_active:
        raise FridayError("This user is deactivated.", code="user.inactive", field="user")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:10], digest=_digest(raw), created_at=clock.now()
    )
    event_emit(name="token.created", subject=token, actor=by or user, payload={"user_id": user.pk})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    if by.pk != token.user_id:
        require_admin(by)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        event_emit(name="token.revoked", subject=token, actor=by, payload={"user_id": token.user_id})
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user behind a raw bearer token, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user").filter(digest=_digest(raw), revoked_at__isnull=True).first()
    )
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    # Record use at most once a minute, so a busy client does not turn every read into a write.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_get_by_username(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user called {username!r}.", field="user")
    return user


def login_locked(username: str) -> bool:
    """True when `username` has failed too often within the window."""
    since = clock.now() - dt.timedelta(seconds=settings.FRIDAY_LOGIN_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(username=username.lower()[:150], at__gte=since)
    return recent.count() >= settings.FRIDAY_LOGIN_MAX_FAILURES


def login_failure_record(*, username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip=ip, at=clock.now())


def login_failures_clear(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()[:150]).delete()


def login_failures_prune() -> int:
    """Forget failures older than the window (run by the scheduler)."""
    since = clock.now() - dt.timedelta(seconds=settings.FRIDAY_LOGIN_WINDOW_SECONDS)
    deleted, _ = LoginFailure.objects.filter(at__lt=since).delete()
    return deleted


def admin_exists() -> bool:
    return User.objects.filter(role=Role.ADMIN, is_active=True).exists()


def admin_create_from_cli(*, username: str, password: str | None = None) -> tuple[User, str]:
    """An admin made by whoever runs the CLI. Generates a password when none is given; returns (user, password)."""
    password = password or secrets.token_urlsafe(15)
    user = user_create(by=None, username=username, password=password, role=Role.ADMIN, scope=Scope.ALL)
    return user, password
