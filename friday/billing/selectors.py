"""Reads of invoices for the pages and the API, scoped through the invoice's party: a user sees the invoices of
the parties they may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.billing.models import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus, Payment, open_invoices
from friday.billing.totals import Totals, totals_of
from friday.core import clock
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page, page_order

MAX_LIMIT = 200
# The status filter: a stored status, or "overdue" (open and past its due date).
STATUSES = (*InvoiceStatus.values, "overdue")
SORTS: dict[str, list[str]] = {
    "recent": ["-created_at", "-id"],
    "due": ["due_date", "id"],
}


def invoices_visible(user: User) -> QuerySet[Invoice]:
    if not user.is_active:
        return Invoice.objects.none()
    if user.sees_all:
        return Invoice.objects.all()
    return Invoice.objects.filter(visible_q(user, owner="party__owner", team="party__team"))


def invoice_get(*, user: User, invoice_id: int, for_update: bool = False) -> Invoice:
    """The invoice if `user` may see it, else NotFound; `for_update` locks its row (inside a transaction)."""
    invoice = None
    if valid_id(invoice_id):
        qs = invoices_visible(user).filter(pk=invoice_id)
        if for_update:
            # Lock the invoice first (by id), then read it with its relations: FOR UPDATE cannot cover the
            # nullable joins on PostgreSQL.
            visible = qs.exists()
            locked = list(
                Invoice.objects.select_for_update().filter(pk=invoice_id).values_list("pk", flat=True)
            )
            qs = Invoice.objects.filter(pk__in=locked if visible else [])
        invoice = qs.select_related("party", "job", "credits", "created_by", "issued_by").first()
    if invoice is None:
        raise NotFound("No such invoice.", code="invoice.not_found")
    return invoice


@dataclass
class InvoiceFilters:
    status: str = ""
    party_id: int | None = None
    job_id: int | None = None
    kind: str = ""


def invoice_queryset(*, user: User, filters: InvoiceFilters) -> QuerySet[Invoice]:
    qs = invoices_visible(user)
    if filters.status:
        if filters.status not in STATUSES:
            raise FridayError(
                f"Status is one of {', '.join(STATUSES)}.", code="invalid.status", field="status"
            )
        if filters.status == "overdue":
            qs = open_invoices(qs).filter(due_date__lt=clock.today())
        else:
            qs = qs.filter(status=filters.status)
            if filters.status in OPEN_STATUSES and not filters.kind:
                qs = qs.filter(kind=InvoiceKind.INVOICE)  # a credit note is "issued" too, but owes nothing
    if filters.kind:
        if filters.kind not in InvoiceKind.values:
            raise FridayError("Kind is invoice or credit_note.", code="invalid.kind", field="kind")
        qs = qs.filter(kind=filters.kind)
    for name in ("party_id", "job_id"):
        value = getattr(filters, name)
        if value is not None:
            if not valid_id(value):
                raise FridayError("No such id.", code="invalid.id", field=name)
            qs = qs.filter(**{name: value})
    return qs


def invoice_list(
    *, user: User, filters: InvoiceFilters, sort: str = "", cursor: str | None = None, limit: int = 50
) -> Page:
    """A keyset page of invoices; overdue ones oldest due first, the rest newest first."""
    sort = sort or ("due" if filters.status == "overdue" else "recent")
    order = page_order(SORTS, sort, limit, MAX_LIMIT)
    qs = invoice_queryset(user=user, filters=filters).select_related("party")
    if sort == "due":
        qs = qs.filter(due_date__isnull=False)
    return keyset_page(qs, order=order, cursor=cursor, limit=limit)


def invoice_totals(invoice: Invoice) -> Totals:
    """The invoice's totals with the tax per rate (the stored totals are these)."""
    return totals_of(((line.net, line.tax_rate) for line in invoice.lines.all()), invoice.currency)


def invoice_payments(invoice: Invoice) -> QuerySet[Payment]:
    return invoice.payments.select_related("created_by").order_by("received_on", "id")


def days_overdue(invoice: Invoice) -> int:
    if invoice.due_date is None or not invoice.is_open or invoice.kind != InvoiceKind.INVOICE:
        return 0
    return max(0, (clock.today() - invoice.due_date).days)
