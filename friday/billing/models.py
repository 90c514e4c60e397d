"""Billing: invoices and their lines, payments against them, credit notes that void them, and the per-year
counters that number them without gaps."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


# An invoice that still has money owing on it: what the overdue sweep and the reminder rules look at.
OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
# The open-invoice partial index's condition, as literal SQL. SQLite uses a partial index only when the query
# repeats its condition in a form it can prove, and Django sends the values as parameters, which it cannot: the
# overdue list took 0.5–1 s over 200k invoices without it. Queries on open invoices add this (`open_invoices`).
OPEN_INVOICE_SQL = '"billing_invoice"."status" IN (\'issued\', \'partially_paid\') AND "billing_invoice"."kind" = \'invoice\''


def open_invoices(qs: Any) -> Any:
    """`qs` narrowed to open invoices (issued or partly paid, not credit notes), in the index's own words."""
    return qs.extra(where=[OPEN_INVOICE_SQL])  # noqa: S610 (a constant, no input)


class Invoice(models.Model):
    """An invoice (or a credit note voiding one) to a party, moved only by the services in billing.services.

    Totals are stored, computed by `billing.totals` from the lines: each line's net rounded half up to the
    currency's minor unit, the tax per rate rounded half up, the total the sum of both."""

    party = models.ForeignKey("parties.Party", on_delete=models.PROTECT, related_name="invoices")
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    # A credit note names the invoice it credits (voids).
    credits = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    # Given when issued, from the year's counter: never reused, never skipped.
    number = models.CharField(max_length=40, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(null=True, blank=True)
    terms_days = models.PositiveIntegerField(default=30)
    due_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    void_reason = models.TextField(blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The issued document, kept so every download and every email attaches the same bytes.
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    # Set when the overdue sweep has emitted `invoice.overdue` for it (once per invoice).
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # What made it, when that must happen once (an automation run: "run:<id>").
    key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="invoice_recent_idx"),
            # The list filtered by status, newest first (keyset pages).
            models.Index(fields=["status", "-created_at", "-id"], name="invoice_status_idx"),
            # Open invoices by due date: the overdue list, the overdue sweep and the reminder rules.
            models.Index(
                fields=["due_date", "id"],
                condition=Q(status__in=["issued", "partially_paid"], kind="invoice"),
                name="invoice_open_due_idx",
            ),
            # What is owed and overdue (the dashboard's tile, per currency), added up from the index alone.
            models.Index(
                fields=["currency", "due_date", "balance", "party"],
                condition=Q(status__in=["issued", "partially_paid"], kind="invoice"),
                name="invoice_open_owed_idx",
            ),
            models.Index(fields=["party", "-created_at"], name="invoice_party_idx"),
            # Revenue by the day it was paid in full (the four corners).
            models.Index(fields=["paid_at"], name="invoice_paid_at_idx"),
            models.Index(fields=["job", "status"], name="invoice_job_idx"),
            # Who bought when (paid invoices by issue date, with the party): the retention goal's buyers per
            # period, read from the index alone.
            # (Not partial: SQLite would use a partial index only with its condition written as literal SQL. The
            # date leads: led by status and kind, SQLite took it for the revenue by `paid_at` and read every paid
            # invoice, 5 → 190 ms on the dashboard.)
            models.Index(fields=["issue_date", "status", "kind", "party"], name="invoice_issued_buyer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(paid__gte=0) & Q(balance__gte=0), name="invoice_paid_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="credit_note") | Q(total__gte=0), name="invoice_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    # quantity × unit price, rounded half up to the currency's minor unit (negative on a credit note).
    net = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="invoice_line_tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class Payment(models.Model):
    """Money received against an invoice. The idempotency key makes a double submit record one payment."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    received_on = models.DateField()
    reference = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["received_on", "id"]
        indexes = [models.Index(fields=["invoice", "received_on"], name="payment_invoice_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.received_on}"


class InvoiceCounter(models.Model):
    """The last number given in a series (invoices, credit notes) for a year. Issuing locks this row
    (SELECT … FOR UPDATE), so two issuers take turns: no gap, no duplicate."""

    series = models.CharField(max_length=12)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="invoice_counter_unique")]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last}"
