"""Feedback: surveys (NPS 0–10, CSAT 1–5), the tokenised requests that ask a party to answer one, and their
answers. Only a SHA-256 of a request's token is kept: the link itself exists in the message that carried it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SurveyKind(models.TextChoices):
    NPS = "nps", "Net Promoter Score (0–10)"
    CSAT = "csat", "Customer satisfaction (1–5)"


# The scale of each kind: the lowest and highest score an answer may give.
SCALES: dict[str, tuple[int, int]] = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}


class Category(models.TextChoices):
    """How an answer counts in the report: NPS detractor / passive / promoter; CSAT unsatisfied / neutral /
    satisfied (4–5, the share CSAT reports)."""

    DETRACTOR = "detractor", "Detractor (0–6)"
    PASSIVE = "passive", "Passive (7–8)"
    PROMOTER = "promoter", "Promoter (9–10)"
    UNSATISFIED = "unsatisfied", "Unsatisfied (1–2)"
    NEUTRAL = "neutral", "Neutral (3)"
    SATISFIED = "satisfied", "Satisfied (4–5)"


def category_for(kind: str, score: int) -> str:
    if kind == SurveyKind.NPS:
        return Category.DETRACTOR if score <= 6 else Category.PASSIVE if score <= 8 else Category.PROMOTER
    return Category.UNSATISFIED if score <= 2 else Category.NEUTRAL if score == 3 else Category.SATISFIED


class Survey(models.Model):
    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    question = models.CharField(max_length=300)
    comment_prompt = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True, help_text="Switched off, no new requests are made")
    valid_days = models.PositiveSmallIntegerField(default=14, help_text="How long a link can be answered")
    # The message template (messaging, by key) that carries the link when automation asks for feedback.
    template_key = models.CharField(max_length=60, default="feedback_request")
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> range:
        low, high = SCALES[self.kind]
        return range(low, high + 1)


class FeedbackRequest(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="requests")
    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="feedback_requests")
    # What it asks about, by type and id (a job, a deal): this app does not depend on those apps.
    record_type = models.CharField(max_length=16, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # Idempotency: automation asks once per action run (`run:<id>`); requests made by hand have none.
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["party", "-created_at"], name="feedback_request_party_idx")]

    def __str__(self) -> str:
        return f"{self.survey_id} for {self.party_id}"


class Response(models.Model):
    request = models.OneToOneField(FeedbackRequest, on_delete=models.CASCADE, related_name="response")
    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="feedback_responses")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    score = models.SmallIntegerField()
    category = models.CharField(max_length=12, choices=Category.choices)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The report and the list: one survey's answers over a time range (newest first for the list).
            models.Index(fields=["survey", "-answered_at", "-id"], name="response_survey_time_idx"),
            models.Index(fields=["survey", "category", "-answered_at"], name="response_category_idx"),
            models.Index(fields=["-answered_at", "-id"], name="response_recent_idx"),
            models.Index(fields=["party", "-answered_at"], name="response_party_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=10), name="response_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}: {self.score}"
