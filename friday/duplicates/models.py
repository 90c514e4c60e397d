"""Likely duplicate parties found by the scan, the scans themselves, and the record every merge leaves behind."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class DuplicatePair(models.Model):
    """Two parties that look like one: a confidence (0–100) and the reasons, in words. `party_a` is the lower id,
    so a pair is stored once. A pair someone marked "not a duplicate" keeps its row with `dismissed_at`: later
    scans skip it (they insert with ignore-conflicts and only ever delete undismissed pairs)."""

    party_a = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="+")
    party_b = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()
    # [{"code": "email" | "phone" | "name" | "org_name", "text": "Same email ada@example.com"}, …]
    reasons = models.JSONField(default=list)
    scanned_at = models.DateTimeField()
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["party_a", "party_b"], name="duplicate_pair_unique"),
            models.CheckConstraint(condition=Q(party_a__lt=F("party_b")), name="duplicate_pair_ordered"),
        ]
        indexes = [
            # The list: open pairs, most likely first.
            models.Index(
                fields=["-score", "id"], condition=Q(dismissed_at__isnull=True), name="duplicate_open_idx"
            ),
            models.Index(fields=["party_b"], name="duplicate_party_b_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.party_a_id} ~ {self.party_b_id}: {self.score}"

    @property
    def codes(self) -> list[str]:
        return [r.get("code", "") for r in self.reasons]


class DuplicateScan(models.Model):
    """One run of the scan: full (every party) or incremental (the parties changed since the last run started).
    `done`/`total` is its progress, written as it goes, for the page and the command."""

    full = models.BooleanField()
    since = models.DateTimeField(null=True, blank=True, help_text="Incremental: parties changed after this")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    parties = models.PositiveIntegerField(default=0, help_text="Parties looked at")
    pairs = models.PositiveIntegerField(default=0, help_text="Pairs found")
    # Groups too large to be one person (an address shared by hundreds): left out, and counted here.
    skipped_groups = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["-started_at", "-id"], name="duplicate_scan_recent_idx")]

    def __str__(self) -> str:
        return f"{'full' if self.full else 'incremental'} scan at {self.started_at:%Y-%m-%d %H:%M}"


class PartyMerge(models.Model):
    """The audit record of a merge: who merged what into what, the values chosen, what the merged-away party
    was (so nothing is lost beyond recall) and how many records of each kind moved."""

    survivor = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="merges"
    )
    survivor_name = models.CharField(max_length=220)
    other_id = models.BigIntegerField()
    other_name = models.CharField(max_length=220)
    # The merged-away party as it was: fields, contact points, roles, tags, custom values.
    other_snapshot = models.JSONField(default=dict)
    # field → "survivor" | "other" | "both" as applied (defaults included); primary email and phone.
    choices = models.JSONField(default=dict)
    # What moved to the survivor: "deals" → 3, … (only kinds with at least one row).
    moved = models.JSONField(default=dict)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["-at", "-id"], name="party_merge_recent_idx"),
            models.Index(fields=["other_id"], name="party_merge_other_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.other_name} (#{self.other_id}) → {self.survivor_name}"
