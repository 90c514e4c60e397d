"""Users, roles, teams, API tokens and failed logins."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"
    READ_ONLY = "read_only", "Read-only"


class Scope(models.TextChoices):
    """Which records a member or read-only user sees. Admins and managers always see all."""

    OWN = "own", "Records they own"
    TEAM = "team", "Records they or their teams own"
    ALL = "all", "All records"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.TEAM)
    teams = models.ManyToManyField(Team, related_name="members", blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="Blank: the business's time zone")
    may_override_process = models.BooleanField(
        default=False, help_text="May force a record past its process (with a reason); admins always may"
    )
    # The daily digest email (insights.digest) is on unless the user turns it off — on their preferences page,
    # by the unsubscribe link in a digest, or by an admin on the user's page.
    digest_enabled = models.BooleanField(default=True, help_text="Gets the daily digest email")

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == Role.ADMIN or self.is_superuser)

    @property
    def sees_all(self) -> bool:
        return self.is_admin or self.role == Role.MANAGER or self.scope == Scope.ALL

    @property
    def can_override_process(self) -> bool:
        return self.can_write and (self.is_admin or self.may_override_process)

    @property
    def can_edit_processes(self) -> bool:
        return self.is_active and (self.is_admin or self.role == Role.MANAGER)

    @property
    def can_write(self) -> bool:
        return self.is_active and self.role != Role.READ_ONLY

    @property
    def display(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise a token in lists")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class LoginFailure(models.Model):
    """A failed login, kept for the throttling window. Shared by every web process through the database."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["username", "at"], name="login_failure_user_idx")]

    def __str__(self) -> str:
        return f"{self.username} failed at {self.at.isoformat()}"
