"""Invoices over HTTP: parse, authorise, call a service or selector, return."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from friday.billing import documents, selectors, services
from friday.billing.models import Invoice, InvoiceLine, Payment
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str3, Str30, Str100, Str200, Str500, Str2000

router = Router(tags=["invoices"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class Ref(Schema):
    id: int
    name: str


class LineIn(InSchema):
    description: Str500
    quantity: Str30 = Field("1", description="A number > 0, up to 3 decimals, e.g. 1.5")
    unit_price: Str30 = Field(description="A number ≥ 0, up to 4 decimals, e.g. 120.00")
    tax_rate: Str30 | None = Field(None, description="Percent, e.g. 20 (default: the business's rate)")


class InvoiceIn(InSchema):
    party_id: Id | None = Field(None, description="The client (or give job_id: its client)")
    job_id: Id | None = None
    currency: Str3 = ""
    terms_days: int | None = Field(None, ge=0, le=365)
    notes: Str2000 = ""
    lines: list[LineIn] = Field(default_factory=list, max_length=200)
    from_job: bool = Field(False, description="Make the lines from the job (its quoted price)")


class InvoicePatchIn(InSchema):
    currency: Str3 | None = None
    terms_days: int | None = Field(None, ge=0, le=365)
    notes: Str2000 | None = None
    lines: list[LineIn] | None = Field(None, max_length=200)


class IssueIn(InSchema):
    send: bool = Field(True, description="Email the invoice to the client with the PDF attached")


class PaymentIn(InSchema):
    amount: Str30
    method: str = Field("bank_transfer", pattern="^(bank_transfer|card|cash|cheque|other)$")
    received_on: dt.date | None = None
    reference: Str200 = ""
    idempotency_key: Str100 = Field(
        "", description="Or the Idempotency-Key header: the same key records the payment once"
    )


class VoidIn(InSchema):
    reason: Str2000


class LineOut(Schema):
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net: Decimal


class TaxBandOut(Schema):
    rate: Decimal
    net: Decimal
    tax: Decimal


class PaymentOut(Schema):
    id: int
    amount: Decimal
    method: str
    received_on: dt.date
    reference: str
    idempotency_key: str
    created_at: dt.datetime


class InvoiceOut(Schema):
    id: int
    number: str | None
    kind: str
    status: str
    party: Ref
    job_id: int | None
    credits_id: int | None
    currency: str
    issue_date: dt.date | None
    terms_days: int
    due_date: dt.date | None
    notes: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    balance: Decimal
    void_reason: str
    voided_at: dt.datetime | None
    created_at: dt.datetime
    issued_at: dt.datetime | None

    @staticmethod
    def resolve_party(obj: Invoice) -> dict:
        return {"id": obj.party_id, "name": obj.party.display_name}


class InvoiceDetailOut(InvoiceOut):
    lines: list[LineOut]
    tax_bands: list[TaxBandOut]
    payments: list[PaymentOut]

    @staticmethod
    def resolve_lines(obj: Invoice) -> list[InvoiceLine]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_tax_bands(obj: Invoice) -> list:
        return selectors.invoice_totals(obj).bands

    @staticmethod
    def resolve_payments(obj: Invoice) -> list[Payment]:
        return list(selectors.invoice_payments(obj))


class InvoicePage(Schema):
    items: list[InvoiceOut]
    next_cursor: str | None


class ListParams(Schema):
    status: str = Field("", pattern="^(|draft|issued|partially_paid|paid|void|overdue)$")
    kind: str = Field("", pattern="^(|invoice|credit_note)$")
    party_id: Id | None = None
    job_id: Id | None = None
    sort: str = Field("", pattern="^(|recent|due)$")
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


def _invoice(request: AuthedRequest, invoice_id: int) -> Invoice:
    return selectors.invoice_get(user=request.user, invoice_id=invoice_id)


def _lines(lines: list[LineIn]) -> list[services.LineIn]:
    return [services.LineIn(x.description, x.quantity, x.unit_price, x.tax_rate) for x in lines]


@router.get("", response={200: InvoicePage, **ERRORS}, summary="List invoices (keyset-paginated)")
def invoice_list(request: AuthedRequest, params: Query[ListParams]):
    filters = selectors.InvoiceFilters(
        status=params.status, kind=params.kind, party_id=params.party_id, job_id=params.job_id
    )
    page = selectors.invoice_list(
        user=request.user, filters=filters, sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("", response={201: InvoiceDetailOut, **ERRORS}, summary="Create a draft invoice")
def invoice_create(request: AuthedRequest, payload: InvoiceIn):
    from friday.jobs.selectors import job_get
    from friday.parties.selectors import party_get

    job = None
    if payload.job_id is not None:
        try:
            job = job_get(user=request.user, job_id=payload.job_id)
        except NotFound as exc:
            exc.field = "job_id"
            raise
    if payload.from_job:
        if job is None:
            raise NotFound("Give the job to invoice.", code="invoice.no_job", field="job_id")
        invoice = services.invoice_from_job(by=request.user, job=job)
    else:
        party_id = payload.party_id or (job.party_id if job else None)
        if party_id is None:
            raise NotFound("Give the client (party_id) or a job.", code="party.not_found", field="party_id")
        try:
            party = party_get(user=request.user, party_id=party_id)
        except NotFound as exc:
            exc.field = "party_id"
            raise
        invoice = services.invoice_create(
            by=request.user,
            party=party,
            job=job,
            data=services.InvoiceIn(
                currency=payload.currency,
                terms_days=payload.terms_days,
                notes=payload.notes,
                lines=_lines(payload.lines),
            ),
        )
    return Status(201, _invoice(request, invoice.pk))


@router.get("/{invoice_id}", response={200: InvoiceDetailOut, **ERRORS})
def invoice_get(request: AuthedRequest, invoice_id: Id):
    return _invoice(request, invoice_id)


@router.patch("/{invoice_id}", response={200: InvoiceDetailOut, **ERRORS}, summary="Change a draft")
def invoice_update(request: AuthedRequest, invoice_id: Id, payload: InvoicePatchIn):
    given = payload.model_fields_set
    data = services.InvoiceIn()
    for name in ("currency", "terms_days", "notes"):
        if name in given:
            setattr(data, name, getattr(payload, name))
    if "lines" in given:
        data.lines = _lines(payload.lines or [])
    services.invoice_update(by=request.user, invoice=_invoice(request, invoice_id), data=data)
    return _invoice(request, invoice_id)


@router.delete("/{invoice_id}", response={204: None, **ERRORS}, summary="Delete a draft")
def invoice_delete(request: AuthedRequest, invoice_id: Id):
    services.invoice_delete(by=request.user, invoice=_invoice(request, invoice_id))
    return Status(204, None)


@router.post("/{invoice_id}/issue", response={200: InvoiceDetailOut, **ERRORS}, summary="Issue a draft")
def invoice_issue(request: AuthedRequest, invoice_id: Id, payload: IssueIn):
    services.invoice_issue(by=request.user, invoice=_invoice(request, invoice_id), send=payload.send)
    return _invoice(request, invoice_id)


@router.post(
    "/{invoice_id}/payments",
    response={201: PaymentOut, **ERRORS},
    summary="Record a payment",
    description="Idempotent by `Idempotency-Key` (header) or `idempotency_key`: the same key returns the "
    "payment it recorded. More than the balance is refused (422 payment.overpayment).",
)
def payment_record(
    request: AuthedRequest,
    invoice_id: Id,
    payload: PaymentIn,
):
    payment = services.payment_record(
        by=request.user,
        invoice=_invoice(request, invoice_id),
        data=services.PaymentIn(
            amount=payload.amount,
            key=request.headers.get("Idempotency-Key", "") or payload.idempotency_key,
            method=payload.method,
            received_on=payload.received_on,
            reference=payload.reference,
        ),
    )
    return Status(201, payment)


@router.post(
    "/{invoice_id}/void",
    response={201: InvoiceDetailOut, **ERRORS},
    summary="Void an invoice: returns the credit note that cancels it",
)
def invoice_void(request: AuthedRequest, invoice_id: Id, payload: VoidIn):
    credit = services.invoice_void(
        by=request.user, invoice=_invoice(request, invoice_id), reason=payload.reason
    )
    return Status(201, _invoice(request, credit.pk))


@router.get("/{invoice_id}/pdf", response={200: None, **ERRORS}, summary="The invoice as PDF")
def invoice_pdf(request: AuthedRequest, invoice_id: Id):
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(documents.pdf_bytes(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{documents.pdf_filename(invoice)}"'
    return response
