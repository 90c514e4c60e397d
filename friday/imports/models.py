"""Imports of parties from files: the runs, their failed rows, what each run wrote (for undo), saved mappings
and the ids that records carry in the systems they came from."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    VCARD = "vcard", "vCard"


class MatchOn(models.TextChoices):
    NONE = "", "Do not look for existing records"
    EMAIL = "email", "Email address"
    PHONE = "phone", "Phone number"
    EXTERNAL_ID = "external_id", "Id in the source system"


class OnMatch(models.TextChoices):
    SKIP = "skip", "Skip the row"
    UPDATE = "update", "Update the existing record"
    CREATE = "create", "Create a new record anyway"


class DateOrder(models.TextChoices):
    DMY = "dmy", "Day first (31/01/2026)"
    MDY = "mdy", "Month first (01/31/2026)"


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Not run yet"
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Running"
    DONE = "done", "Finished"
    FAILED = "failed", "Stopped"
    UNDOING = "undoing", "Being undone"
    UNDONE = "undone", "Undone"


class ImportMapping(models.Model):
    """A named column mapping, reused for files with the same headers (`columns`: header → target)."""

    name = models.CharField(max_length=100, unique=True)
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One run (or dry run) of one file, with its options and a summary that always adds up:
    created + updated + skipped + failed == rows_read."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="imports"
    )
    # The importer's team when it started: who else may see the run follows the usual own/team/all scope.
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=8, choices=FileFormat.choices)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # One target per column, in the file's order ("" = not imported).
    mapping = models.JSONField(default=list, blank=True)
    saved_mapping = models.ForeignKey(
        ImportMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detected = models.CharField(
        max_length=40, blank=True, help_text="The export the headers were recognised as"
    )
    source = models.CharField(
        max_length=40, blank=True, help_text="Where external ids come from (hubspot, google …)"
    )
    match_on = models.CharField(max_length=16, choices=MatchOn.choices, blank=True, default=MatchOn.EMAIL)
    on_match = models.CharField(max_length=8, choices=OnMatch.choices, default=OnMatch.SKIP)
    date_order = models.CharField(max_length=3, choices=DateOrder.choices, default=DateOrder.DMY)
    # Given to every row's record besides what its cells say (a file of customers that does not say so).
    add_roles = models.JSONField(default=list, blank=True, help_text="Roles every row's record gets")
    add_tags = models.JSONField(default=list, blank=True, help_text="Tags every row's record gets")
    dry_run = models.BooleanField(default=False)
    origin = models.CharField(max_length=8, default="page")
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.DRAFT)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    updated_unchanged = models.PositiveIntegerField(
        default=0, help_text="Of the updated: matched rows that held nothing new (the record is as it was)"
    )
    skipped = models.PositiveIntegerField(default=0)
    skipped_empty = models.PositiveIntegerField(default=0, help_text="Of the skipped: rows with no value")
    failed = models.PositiveIntegerField(default=0)
    organisations_created = models.PositiveIntegerField(
        default=0, help_text="Organisations created for people's company names (not rows)"
    )
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_summary = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="import_recent_idx"),
            models.Index(fields=["created_by", "-created_at", "-id"], name="import_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.filename})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.UNDONE)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))


class ImportFailure(models.Model):
    """A row that was not imported: every problem found in it (column, reason) and its cells as read."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="failures")
    row = models.PositiveIntegerField(help_text="Row in the file; the header is row 1 (vCards: card number)")
    problems = models.JSONField(default=list)  # [[column, reason], …]
    values = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["job", "row"], name="import_failure_row_idx")]

    def __str__(self) -> str:
        return f"#{self.job_id} row {self.row}"


class RecordAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    ORGANISATION = "organisation", "Organisation created for a company name"


class ImportRecord(models.Model):
    """What a run did to one party: created it, or updated it — with the values it replaced and the contact
    points, roles and tags it added, so undo can put back exactly what was there."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    party = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    party_ref = models.BigIntegerField(help_text="The party's id, kept after it is deleted")
    row = models.PositiveIntegerField()
    action = models.CharField(max_length=12, choices=RecordAction.choices)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "id"], name="import_record_job_idx"),
            models.Index(fields=["party"], name="import_record_party_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.job_id} row {self.row}: {self.action} {self.party_ref}"


class ExternalId(models.Model):
    """A party's id in another system (HubSpot's Record ID, a vCard UID …), so re-imports find it again."""

    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=200)
    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="external_ids")
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="external_id_unique"),
        ]
        indexes = [models.Index(fields=["party"], name="external_id_party_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} → {self.party_id}"
