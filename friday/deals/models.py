"""Sales opportunities: what a party might buy, for how much, where it stands in a sales pipeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from friday.processes.models import StagedRecord


class LostReason(models.Model):
    """The business's own list of why deals are lost ("price", "went with a competitor", "no response")."""

    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="lost_reason_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Deal(StagedRecord):
    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="deals")
    title = models.CharField(max_length=200)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    expected_close = models.DateField(null=True, blank=True)
    process = models.ForeignKey("processes.Process", on_delete=models.PROTECT, related_name="deals")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_deals"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    lost_note = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # Set when the deal enters a won or lost stage, cleared if it is reopened; with the stage it was closed from
    # (where lost deals were lost: the four corners break them down by it).
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_from_stage = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # A board column: the deals in one stage of one pipeline, longest-waiting first, paged.
            models.Index(fields=["process", "stage", "stage_entered_at", "id"], name="deal_board_idx"),
            # The board's counts and totals, read from indexes alone: open deals (a partial index of just them;
            # with the id, which PostgreSQL's count needs), and those closed lately (a closed_at range).
            models.Index(
                fields=["process", "stage", "currency", "value", "id"],
                condition=models.Q(closed_at__isnull=True),
                name="deal_open_count_idx",
            ),
            # Closed deals by pipeline and day, with what the board's counts and the four corners' lost-deal
            # breakdowns (by reason, owner, stage lost from; scoped by owner and team) read — from the index alone.
            models.Index(
                fields=[
                    "process",
                    "closed_at",
                    "stage",
                    "currency",
                    "value",
                    "lost_reason",
                    "owner",
                    "team",
                    "closed_from_stage",
                ],
                name="deal_closed_idx",
            ),
            models.Index(
                fields=["owner", "process", "stage", "stage_entered_at", "id"], name="deal_owner_board_idx"
            ),
            models.Index(
                fields=["team", "process", "stage", "stage_entered_at", "id"], name="deal_team_board_idx"
            ),
            models.Index(fields=["-updated_at", "-id"], name="deal_recent_idx"),
            models.Index(fields=["party", "-created_at"], name="deal_party_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value__gte=0) | models.Q(value__isnull=True),
                name="deal_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.title
