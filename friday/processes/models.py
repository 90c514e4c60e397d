"""The business's vocabulary and flowcharts, the versions it published, and every move a record made.

A published `ProcessVersion` never changes: records point at the version they are on, and `StageChange` rows
point at the version they were made under, so history reads the same after the process is edited. A record
type above this app (deals, jobs) carries its stage in the columns of `StagedRecord`; the party lifecycle,
which the lower `parties` app cannot know about, lives in `PartyStage`.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from friday.processes.definition import APPLIES_TO, ProcessDefinition, load


@lru_cache(maxsize=64)
def _load_cached(source: str) -> ProcessDefinition:
    """Published versions never change, so their parsed form is shared (keyed by the text itself)."""
    return load(source)


class RecordType(models.TextChoices):
    PARTY = "party", "Party lifecycle"
    DEAL = "deal", "Deals"
    JOB = "job", "Jobs"


assert tuple(RecordType.values) == APPLIES_TO


class Term(models.Model):
    """A word the business uses with one meaning for everyone: "qualified", "repeat customer", "callout"."""

    name = models.CharField(max_length=100)
    definition = models.TextField()
    examples = models.TextField(blank=True)
    is_stage = models.BooleanField(
        default=False, help_text="A lifecycle stage (kept in step with the process)"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="term_name_unique_ci"),
            models.CheckConstraint(condition=~models.Q(definition=""), name="term_has_definition"),
        ]

    def __str__(self) -> str:
        return self.name


class Process(models.Model):
    key = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    applies_to = models.CharField(max_length=8, choices=RecordType.choices)
    # The version records enter; None until the first publish.
    current = models.ForeignKey(
        "ProcessVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The draft being edited: YAML text, checked on save, applied only by publishing. "" when there is none.
    draft = models.TextField(blank=True)
    draft_updated_at = models.DateTimeField(null=True, blank=True)
    draft_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["applies_to", "name"]
        verbose_name_plural = "processes"

    def __str__(self) -> str:
        return self.name


class ProcessVersion(models.Model):
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # Exactly what `definition.dump` wrote: the source of truth, parsed on demand.
    source = models.TextField()
    note = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["process", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["process", "number"], name="process_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.process_id} v{self.number}"

    @cached_property
    def definition(self) -> ProcessDefinition:
        return _load_cached(self.source)


class ProcessMigration(models.Model):
    """Records moved from one version to another with a stage map (old key → new key)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="migrations")
    from_version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="+")
    to_version = models.ForeignKey(ProcessVersion, on_delete=models.CASCADE, related_name="+")
    stage_map = models.JSONField()
    records = models.PositiveIntegerField(default=0)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.process_id}: v{self.from_version_id} → v{self.to_version_id}"


class StagedRecord(models.Model):
    """The columns a record type moved by a process carries. Written only by `stage_move`."""

    stage_version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=50)
    stage_entered_at = models.DateTimeField()

    class Meta:
        abstract = True


class PartyStage(models.Model):
    """Where a party is in the customer lifecycle. No row: not (yet) in the lifecycle."""

    party = models.OneToOneField("parties.Party", on_delete=models.CASCADE, primary_key=True)
    stage_version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=50)
    stage_entered_at = models.DateTimeField()
    # What was ticked on entering the stage (its checklist), for the record.
    checked = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["stage_version", "stage", "stage_entered_at"], name="party_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.stage}"


class StageChange(models.Model):
    """One move of one record: the source of funnels, time in stage, conformance and the discovered process."""

    record_type = models.CharField(max_length=8, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    # The party the record belongs to (the party itself for the lifecycle): for timelines, scoping and merges.
    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="stage_changes")
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="stage_changes")
    version = models.ForeignKey(ProcessVersion, on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(
        max_length=50, blank=True, help_text="Blank: the record entered the process"
    )
    to_stage = models.CharField(max_length=50)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    overridden = models.BooleanField(default=False)
    declared = models.BooleanField(default=True, help_text="Along a declared transition")
    backward = models.BooleanField(default=False, help_text="To a stage earlier in the process")
    migrated = models.BooleanField(default=False, help_text="Written by a version migration, not a move")
    checked = models.JSONField(default=list, blank=True)
    # Filled when the record leaves this stage: how long it stayed and where it went.
    left_at = models.DateTimeField(null=True, blank=True)
    seconds_in_stage = models.BigIntegerField(null=True, blank=True)
    next_stage = models.CharField(max_length=50, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["process", "at"], name="stage_change_process_idx"),
            models.Index(fields=["record_type", "record_id", "-at", "-id"], name="stage_change_record_idx"),
            models.Index(fields=["process", "to_stage", "at"], name="stage_change_entered_idx"),
            models.Index(fields=["party", "-at"], name="stage_change_party_idx"),
            # Time in stage: the k-th shortest stay of a stage is a walk along this index (SQLite percentiles).
            models.Index(
                fields=["process", "to_stage", "seconds_in_stage", "at"], name="stage_change_stay_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(to_stage=""), name="stage_change_has_target"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id}: {self.from_stage or '∅'} → {self.to_stage}"


class Segment(models.Model):
    """A saved filter over parties ("lapsed customers in Leeds", "suppliers without an email")."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # The filter, validated by `segments.clean_filters`: {"stage": [...], "roles": [...], "tags": [...], ...}
    filters = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="segments"
    )
    shared = models.BooleanField(default=True, help_text="Everyone can use it (each sees only their records)")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="segment_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


# --- daily roll-ups of StageChange, for the analytics -------------------------------------------------------
# One row per (process, business date, key) with a count, kept in step with every move (processes.rollup) and
# rebuildable from StageChange (`friday process rollup`). A funnel over two years reads a few thousand of these
# instead of a million moves. Moves written by a version migration are left out, as the analytics leave them.


class FunnelDay(models.Model):
    """Entries into `to_stage` on `day`, by where they went next ("" = still there)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    to_stage = models.CharField(max_length=50)
    next_stage = models.CharField(max_length=50, blank=True)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["process", "day", "to_stage", "next_stage"], name="funnel_day_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.to_stage} → {self.next_stage or '…'}: {self.n}"


class MoveDay(models.Model):
    """Moves on `day` by edge and by person (actor 0: automation or a deleted user), with their kind."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    actor = models.BigIntegerField(default=0)
    from_stage = models.CharField(max_length=50, blank=True)
    to_stage = models.CharField(max_length=50)
    declared = models.BooleanField()
    backward = models.BooleanField()
    overridden = models.BooleanField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "process",
                    "day",
                    "actor",
                    "from_stage",
                    "to_stage",
                    "declared",
                    "backward",
                    "overridden",
                ],
                name="move_day_key",
            )
        ]
        # A period's moves by person (adoption, the staff ranking), added up from the index alone.
        indexes = [
            models.Index(fields=["day", "actor", "declared", "overridden", "n"], name="move_day_actor_idx")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.from_stage or '∅'} → {self.to_stage}: {self.n}"


class StayDay(models.Model):
    """Ended stays in `to_stage` entered on `day`, by length: `bucket` is the bucket's lower bound in seconds
    (whole hours under two days, whole days under 60 days, whole weeks under a year, then 30-day months)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    to_stage = models.CharField(max_length=50)
    bucket = models.BigIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["process", "day", "to_stage", "bucket"], name="stay_day_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.to_stage} ≥{self.bucket}s: {self.n}"
