"""Jobs: work done for a client, moved through a job process; what the work cost; the client's assets and the
service plans that say when the next visit is due."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from friday.processes.models import StagedRecord


class Asset(models.Model):
    """Something a client owns that Friday's business services: a boiler, a vehicle, a lift."""

    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="assets")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=100, blank=True, help_text="e.g. boiler, van, air conditioner")
    serial_number = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=200, blank=True)
    installed_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["party", "name"], name="asset_party_idx"),
            models.Index(fields=["serial_number"], name="asset_serial_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})" if self.serial_number else self.name


class IntervalUnit(models.TextChoices):
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"
    MONTHS = "months", "months"
    YEARS = "years", "years"


class ServicePlan(models.Model):
    """A recurring service for a party, or for one of its assets: every N units after the last service.

    The last service is the completion of the latest job done under the plan (or set by hand when the plan
    starts); the next due date follows from it and is stored, indexed, for the service-due sweep."""

    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="service_plans")
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="service_plans"
    )
    name = models.CharField(max_length=200)
    every = models.PositiveIntegerField()
    unit = models.CharField(max_length=6, choices=IntervalUnit.choices, default=IntervalUnit.MONTHS)
    last_service_on = models.DateField(null=True, blank=True)
    next_due_on = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["next_due_on", "id"], condition=Q(active=True), name="plan_due_idx"),
            models.Index(fields=["party"], name="plan_party_idx"),
            # The service-due sweep also looks at plans changed since it last looked.
            models.Index(fields=["updated_at"], name="plan_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(every__gte=1), name="plan_every_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def interval_text(self) -> str:
        """ "every year", "every 6 months"."""
        unit = str(self.unit).removesuffix("s")
        return f"every {unit}" if self.every == 1 else f"every {self.every} {unit}s"


class Job(StagedRecord):
    """Work done for a client party: booked, scheduled, done, invoiced — moved only by `stage_move`."""

    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="jobs")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    process = models.ForeignKey("processes.Process", on_delete=models.PROTECT, related_name="jobs")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_jobs"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # The staff doing the work (an engineer, a crew); they see the job whatever their scope.
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_jobs")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    quoted_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    service_plan = models.ForeignKey(
        ServicePlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    cancel_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # Set when the job first enters a stage that completes it; kept if it moves on (invoiced, paid).
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set by billing when the job's invoices are paid in full; cleared if a payment is undone.
    paid_at = models.DateTimeField(null=True, blank=True)
    # Set when the job enters a won, lost or done stage (its journey is over), cleared if it is reopened.
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["process", "stage", "stage_entered_at", "id"], name="job_board_idx"),
            # The board's counts and quoted totals from indexes alone: open jobs (a partial index), and those
            # closed lately (a closed_at range) — as for deals.
            models.Index(
                fields=["process", "stage", "currency", "quoted_price", "id"],
                condition=Q(closed_at__isnull=True),
                name="job_open_count_idx",
            ),
            models.Index(
                fields=["process", "closed_at", "stage", "currency", "quoted_price"],
                name="job_closed_count_idx",
            ),
            models.Index(
                fields=["owner", "process", "stage", "stage_entered_at", "id"], name="job_owner_idx"
            ),
            models.Index(fields=["team", "process", "stage", "stage_entered_at", "id"], name="job_team_idx"),
            models.Index(fields=["-updated_at", "-id"], name="job_recent_idx"),
            models.Index(fields=["party", "-created_at"], name="job_party_idx"),
            models.Index(fields=["party", "paid_at"], name="job_party_paid_idx"),
            models.Index(fields=["scheduled_for", "id"], name="job_scheduled_idx"),
            # Jobs completed in a period, by owner and against their due date (the staff ranking), index only.
            models.Index(fields=["completed_at", "owner", "due_on"], name="job_completed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quoted_price__gte=0) | Q(quoted_price__isnull=True), name="job_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class StaffRate(models.Model):
    """What an hour of a staff member's time costs the business: labour costs are hours × this rate."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_rate")
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(hourly_rate__gte=0), name="staff_rate_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.hourly_rate} {self.currency}/h"


class CostKind(models.TextChoices):
    LABOUR = "labour", "Labour"
    MATERIALS = "materials", "Materials"
    SUPPLIER_BILL = "supplier_bill", "Supplier bill"
    ACQUISITION = "acquisition", "Acquisition"
    SERVICING = "servicing", "Servicing"
    DISCOUNT = "discount", "Discount given"
    OTHER = "other", "Other"


JOB_COST_KINDS = (CostKind.LABOUR, CostKind.MATERIALS, CostKind.SUPPLIER_BILL, CostKind.OTHER)


class Cost(models.Model):
    """Money spent on a customer: on a job (labour, materials, a supplier's bill) or on the party itself
    (winning them, looking after them, discounts given). Profitability per job and per customer adds these."""

    party = models.ForeignKey("parties.Party", on_delete=models.CASCADE, related_name="costs")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="costs")
    kind = models.CharField(max_length=16, choices=CostKind.choices)
    description = models.CharField(max_length=200, blank=True)
    # Labour: hours and the hourly rate; materials: quantity and unit cost; a bill or other: 1 × the amount.
    quantity = models.DecimalField(max_digits=12, decimal_places=2, default=1)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="labour_costs",
    )
    supplier = models.ForeignKey(
        "parties.Party", null=True, blank=True, on_delete=models.SET_NULL, related_name="supplier_costs"
    )
    reference = models.CharField(max_length=100, blank=True, help_text="The supplier's bill number")
    incurred_on = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["job", "kind"], name="cost_job_idx"),
            models.Index(fields=["party", "incurred_on"], name="cost_party_idx"),
            # Costs by day with what the four corners add up (and scope by party): read from the index alone.
            models.Index(fields=["incurred_on", "currency", "amount", "party"], name="cost_incurred_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cost_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="cost_unit_not_negative"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="cost_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount} {self.currency}"
