"""People and organisations, how to reach them, what they are to the business, and their shared history."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PartyKind(models.TextChoices):
    PERSON = "person", "Person"
    ORGANISATION = "organisation", "Organisation"


class RoleName(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    SUPPLIER = "supplier", "Supplier"
    EMPLOYEE = "employee", "Employee"
    PARTNER = "partner", "Partner"


class Party(models.Model):
    kind = models.CharField(max_length=16, choices=PartyKind.choices)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    # For organisations the name; for people "given family", kept in step by the services.
    display_name = models.CharField(max_length=220)
    sort_name = models.CharField(max_length=220, help_text="Case- and accent-folded name, for ordering")
    birthday = models.DateField(null=True, blank=True)
    customer_since = models.DateField(null=True, blank=True)
    # Their own clock, for messages on their dates (a birthday at 9:00 where they live); blank: the business's.
    time_zone = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_parties",
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="parties"
    )
    email_consent = models.BooleanField(default=False, help_text="Agreed to receive marketing email")
    do_not_contact = models.BooleanField(default=False, help_text="Never contact, by any channel")
    notes = models.TextField(blank=True)
    custom = models.JSONField(default=dict, blank=True)
    # Names, emails and phone digits in one column: FTS5 trigram (SQLite) or pg_trgm (PostgreSQL) index it.
    search_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "parties"
        indexes = [
            models.Index(fields=["sort_name", "id"], name="party_sort_name_idx"),
            models.Index(fields=["created_at", "id"], name="party_created_idx"),
            models.Index(fields=["updated_at", "id"], name="party_updated_idx"),
            models.Index(fields=["owner", "sort_name", "id"], name="party_owner_name_idx"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="party_owner_recent_idx"),
            models.Index(fields=["team", "sort_name", "id"], name="party_team_name_idx"),
            models.Index(fields=["kind", "sort_name", "id"], name="party_kind_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["person", "organisation"]), name="party_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_person(self) -> bool:
        return self.kind == PartyKind.PERSON


class PartyRole(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=RoleName.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "role"], name="party_role_unique")]
        indexes = [models.Index(fields=["role", "party"], name="party_role_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.role}"


class Tag(models.Model):
    name = models.CharField(max_length=60)
    slug = models.CharField(
        max_length=60, unique=True, help_text="Lower-cased name; tags are case-insensitive"
    )

    def __str__(self) -> str:
        return self.name


class PartyTag(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="party_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="party_tags")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "tag"], name="party_tag_unique")]
        indexes = [models.Index(fields=["tag", "party"], name="party_tag_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.tag_id}"


class Affiliation(models.Model):
    """A person's link to an organisation (employer, client company), with their job title there."""

    person = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="affiliations")
    organisation = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="members")
    job_title = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "organisation"], name="affiliation_unique")]
        indexes = [models.Index(fields=["organisation", "person"], name="affiliation_org_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} at {self.organisation_id}"


class EmailAddress(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="emails")
    address = models.CharField(max_length=254, help_text="Validated and normalised")
    label = models.CharField(max_length=30, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["address"], name="email_address_idx")]

    def __str__(self) -> str:
        return self.address


class Phone(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, help_text="E.164, e.g. +441234567890")
    label = models.CharField(max_length=30, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["number"], name="phone_number_idx")]

    def __str__(self) -> str:
        return self.number


class Address(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=30, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. GB")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, self.city, self.postcode, self.country) if p)


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    YES_NO = "yes_no", "Yes/no"


class CustomField(models.Model):
    """An admin-defined field. Values live in Party.custom[key] and are validated on every write."""

    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=10, choices=FieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    applies_to = models.CharField(
        max_length=16, blank=True, choices=PartyKind.choices, help_text="Blank: both"
    )
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class ActivityKind(models.TextChoices):
    NOTE = "note", "Note"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL_IN = "email_in", "Email received"
    EMAIL_OUT = "email_out", "Email sent"
    SYSTEM = "system", "System"


class Activity(models.Model):
    """One entry in a party's shared history. Written only by services."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # System events say what happened in `event` (party.created, party.owner_changed …) with details in `data`.
    event = models.CharField(max_length=60, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["party", "-occurred_at", "-id"], name="activity_timeline_idx"),
            # "What happened lately" across parties (the home page) walks this, newest first.
            models.Index(fields=["-occurred_at", "-id"], name="activity_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"
