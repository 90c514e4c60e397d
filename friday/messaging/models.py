"""Message templates the business writes, and the outbox: every message Friday sends, before and after."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class MessageTemplate(models.Model):
    key = models.SlugField(max_length=60, unique=True, help_text="How rules name it, e.g. birthday")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Marketing messages need the party's email consent; service messages (job updates, invoices) do not.
    marketing = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    HELD = "held", "Kept (no mail server)"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class OutboundMessage(models.Model):
    """One message, written in the same transaction as what caused it; a sender claims it, sends it, records it.

    `key` makes a cause produce one message however often it runs (a rule firing, a retried task). The
    Message-ID is derived from the key, so the one resend no system can rule out — a crash after the mail
    server accepted it and before this row said so — carries the same Message-ID and mail clients fold it.
    """

    key = models.CharField(max_length=200, unique=True)
    message_id = models.CharField(max_length=200, unique=True)
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    party = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    to_email = models.CharField(max_length=254, blank=True)
    to_name = models.CharField(max_length=220, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it was skipped, or the last error")
    # What a template was given besides the party (the record's details, links), kept for a message that could
    # not be written, so that retrying it after the template is fixed writes it with the same details.
    render_context = models.JSONField(default=dict, blank=True)
    # Extra headers Friday sets itself ({"List-Unsubscribe": …} on the daily digest); never from user input.
    headers = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # The sender's queue: what is due to be (re)sent, oldest first.
            models.Index(fields=["status", "next_attempt_at", "id"], name="outbox_due_idx"),
            models.Index(fields=["party", "-created_at"], name="outbox_party_idx"),
            models.Index(fields=["-created_at", "-id"], name="outbox_recent_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(key=""), name="outbox_has_key")]

    def __str__(self) -> str:
        return f"{self.to_email}: {self.subject}"


class OutboundAttachment(models.Model):
    """A file sent with an outbound message (an invoice's PDF), kept through the storage API so a resend
    attaches the same bytes."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = models.FileField(upload_to="outbox/%Y/%m/")

    def __str__(self) -> str:
        return self.filename


class InboundStatus(models.TextChoices):
    FILED = "filed", "Filed"
    UNMATCHED = "unmatched", "Not matched yet"
    ERROR = "error", "Could not be read"


class InboundMessage(models.Model):
    """A mail received by `friday mailgate` (a BCC or forwarding address): filed on the timelines of the parties
    it was from, to or copied to; kept, with its reason, when it matches nobody or cannot be read."""

    message_id = models.CharField(max_length=300, unique=True)
    subject = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)  # ["address", …]
    cc = models.JSONField(default=list, blank=True)
    # Every address it went to, one per line: who may see an unmatched mail is decided by a lookup on this.
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="The Date header")
    received_at = models.DateTimeField()
    body_text = models.TextField(blank=True)
    in_reply_to = models.CharField(max_length=300, blank=True)
    thread = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    status = models.CharField(max_length=10, choices=InboundStatus.choices)
    reason = models.TextField(blank=True)
    raw = models.FileField(upload_to="mail/%Y/%m/", blank=True, help_text="The message exactly as received")
    parties = models.ManyToManyField("parties.Party", blank=True, related_name="inbound_messages")

    class Meta:
        indexes = [
            models.Index(fields=["status", "-received_at"], name="inbound_status_idx"),
            models.Index(fields=["-received_at", "-id"], name="inbound_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"


class InboundAttachment(models.Model):
    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = models.FileField(upload_to="mail/attachments/%Y/%m/")

    def __str__(self) -> str:
        return self.filename
