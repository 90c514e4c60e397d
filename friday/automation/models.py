"""Rules are data: a trigger, conditions and actions. A match is a Firing with a unique key — the rule, the record
and the occurrence (the birthday's year, the event's id) — so re-runs, retries and a second worker can never
fire twice. Each action of a firing is an ActionRun with a row per attempt (ActionAttempt)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Rule(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # Who answers for it: dead-lettered actions become a reminder for them.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rules")
    enabled = models.BooleanField(default=False)
    trigger = models.JSONField()  # validated by automation.triggers.clean_trigger
    conditions = models.JSONField(default=dict, blank=True)  # automation.conditions.clean_conditions
    actions = models.JSONField(default=list)  # automation.actions.clean_actions
    secret = models.CharField(max_length=64, help_text="Signs its webhook calls (HMAC-SHA256)")
    # Time rules are evaluated for the moments after this one; a sweep moves it to the moment it evaluated up to.
    # Event rules read events after `events_after` (an event id), with an overlap for late commits.
    swept_until = models.DateTimeField(null=True, blank=True)
    # When it was last switched on: it never fires for what happened before (the event overlap included).
    enabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A change being tried out (the sandbox): the cleaned rule as it would be — name, description, trigger,
    # conditions, actions, owner_id — or {} when there is none. The sweep never reads it; only going live
    # (services.rule_go_live) copies it onto the fields above.
    draft = models.JSONField(default=dict, blank=True)
    draft_updated_at = models.DateTimeField(null=True, blank=True)
    draft_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "id"], name="rule_enabled_idx")]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """The rule's history: what it was after each change that reached it (a save, going live, switching on or
    off), who made it and when, and which parts changed."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    how = models.CharField(max_length=10)  # saved, live (a draft went live), enabled, disabled
    # name, description, trigger, conditions, actions, owner_id, enabled — as they were after the change.
    snapshot = models.JSONField()
    changed = models.JSONField(default=list, blank=True)  # the parts that differ from the version before
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [models.UniqueConstraint(fields=["rule", "number"], name="rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.number}"


class FiringSource(models.TextChoices):
    EVENT = "event", "An event"
    SWEEP = "sweep", "A scheduled check"
    MANUAL = "manual", "By hand"


class Firing(models.Model):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    key = models.CharField(max_length=200, unique=True)
    record_type = models.CharField(max_length=16, blank=True)  # party, deal, reminder … ("" for a schedule)
    record_id = models.BigIntegerField(null=True, blank=True)
    party = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="firings"
    )
    occurrence = models.CharField(max_length=100)
    due_at = models.DateTimeField(
        help_text="When the trigger's moment was (a birthday at 9:00, the event's time)"
    )
    fired_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=FiringSource.choices)
    # The record's details when it fired (for the runs page and for actions that need them).
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["rule", "-fired_at", "-id"], name="firing_rule_idx"),
            models.Index(fields=["party", "-fired_at"], name="firing_party_idx"),
            models.Index(fields=["-fired_at", "-id"], name="firing_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class RunStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    RETRYING = "retrying", "Will retry"
    DEAD = "dead", "Gave up"
    SKIPPED = "skipped", "Skipped"


class ActionRun(models.Model):
    firing = models.ForeignKey(Firing, on_delete=models.CASCADE, related_name="runs")
    index = models.PositiveSmallIntegerField()
    action_type = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    run_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["firing", "index"], name="action_run_unique")]
        indexes = [models.Index(fields=["status", "run_after", "id"], name="action_run_due_idx")]

    def __str__(self) -> str:
        return f"{self.firing_id}#{self.index} {self.action_type}"


class ActionAttempt(models.Model):
    """The ledger: one row per try of an action, with what happened."""

    run = models.ForeignKey(ActionRun, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="action_attempt_unique")]

    def __str__(self) -> str:
        return f"{self.run_id} try {self.number}"
