"""Invoice pages: the list (status tabs, overdue included), the detail (lines, tax per rate, payments, history,
the document itself; issue, record a payment, void, PDF), the draft form with its lines, a party's card."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.billing import documents, selectors, services
from friday.billing.forms import LINE_FIELDS, InvoiceForm, PaymentForm, VoidForm, line_rows
from friday.billing.models import Invoice, InvoiceKind, InvoiceStatus
from friday.core import clock, export
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.core.money import money
from friday.core.pagination import Page
from friday.parties.models import Activity
from friday.parties.selectors import party_get

TABS = [
    ("", "All"),
    ("draft", "Drafts"),
    ("issued", "Issued"),
    ("partially_paid", "Partially paid"),
    ("overdue", "Overdue"),
    ("paid", "Paid"),
    ("void", "Void"),
    ("credit_notes", "Credit notes"),
]


def _errors(exc: FridayError) -> list[FridayError]:
    return exc.errors if isinstance(exc, ValidationFailed) else [exc]


def _export(
    request: AuthedRequest, fmt: str, filters: selectors.InvoiceFilters
) -> HttpResponse | StreamingHttpResponse:
    """Every invoice of the list as filtered (its own pages, so its own scope)."""
    columns = [
        export.Column("number", lambda i: i.number or "draft"),
        export.Column("kind", lambda i: i.get_kind_display()),
        export.Column("status", lambda i: i.get_status_display()),
        export.Column("party", lambda i: i.party.display_name),
        export.Column("party id", lambda i: i.party_id),
        export.Column("issued", lambda i: i.issue_date),
        export.Column("due", lambda i: i.due_date),
        export.Column("currency", lambda i: i.currency),
        export.Column("net", lambda i: i.subtotal),
        export.Column("tax", lambda i: i.tax),
        export.Column("total", lambda i: i.total),
        export.Column("paid", lambda i: i.paid),
        export.Column("balance", lambda i: i.balance),
        export.Column("paid in full", lambda i: i.paid_at),
        export.Column("void reason", lambda i: i.void_reason),
    ]

    def fetch(cursor: str | None) -> Page:
        return selectors.invoice_list(
            user=request.user, filters=filters, cursor=cursor, limit=selectors.MAX_LIMIT
        )

    return export.export_response(fmt, "invoices", columns, export.rows_of(fetch))


@login_required
def invoice_list(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    party = request.GET.get("party", "")
    status = request.GET.get("status", "")[:20]
    filters = selectors.InvoiceFilters(
        status="" if status == "credit_notes" else status,
        kind=InvoiceKind.CREDIT_NOTE if status == "credit_notes" else "",
        party_id=int(party) if party.isdigit() and len(party) < 19 else None,
    )
    error, page = None, None
    try:
        page = selectors.invoice_list(
            user=request.user, filters=filters, cursor=request.GET.get("cursor"), limit=50
        )
    except FridayError as exc:
        error = exc
    fmt = export.requested(request)
    if fmt and error is None:
        return _export(request, fmt, filters)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("format", None)
    return render(
        request,
        "billing/list.html",
        {
            "page": page,
            "error": error,
            "filters": filters,
            "tabs": TABS,
            "query": query.urlencode(),
            "today": clock.today(),
        },
        status=400 if error else 200,
    )


def _detail(
    request: AuthedRequest,
    invoice: Invoice,
    *,
    payment_form: PaymentForm | None = None,
    void_form: VoidForm | None = None,
    status: int = 200,
) -> HttpResponse:
    history = Activity.objects.filter(party_id=invoice.party_id, data__invoice_id=invoice.pk).order_by(
        "-occurred_at", "-id"
    )[:50]
    if payment_form is None:
        payment_form = PaymentForm(
            initial={
                "amount": invoice.balance,
                "received_on": clock.today(),
                "key": uuid.uuid4().hex,  # one key per rendered form: a double submit records one payment
            }
        )
    return render(
        request,
        "billing/detail.html",
        {
            "invoice": invoice,
            "payments": selectors.invoice_payments(invoice),
            "credit_notes": invoice.credit_notes.all(),
            "history": history,
            "payment_form": payment_form,
            "void_form": void_form or VoidForm(),
            "days_overdue": selectors.days_overdue(invoice),
            "document": documents.document_html(invoice, standalone=False),
        },
        status=status,
    )


@login_required
def invoice_detail(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    return _detail(request, selectors.invoice_get(user=request.user, invoice_id=invoice_id))


@login_required
@require_GET
def invoice_pdf(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    return _pdf_response(invoice)


def _pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(documents.pdf_bytes(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{documents.pdf_filename(invoice)}"'
    return response


@require_GET
def public_pdf(request: AuthedRequest, token: str) -> HttpResponse:
    """The client's link from the invoice email: the signed token is the permission; issued documents only."""
    invoice_id = documents.public_invoice_id(token)
    invoice = Invoice.objects.filter(pk=invoice_id).first() if invoice_id else None
    if invoice is None or not invoice.pdf:
        raise NotFound(
            "This invoice link is not valid — it may be cut short or changed. Ask the sender for the invoice again.",
            code="invoice.link_invalid",
        )
    return _pdf_response(invoice)


@login_required
@require_POST
def invoice_issue(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    try:
        invoice = services.invoice_issue(
            by=request.user, invoice=invoice, send=request.POST.get("send") == "on"
        )
    except FridayError as exc:
        messages.error(request, exc.detail)
    else:
        sent = ""
        if request.POST.get("send") == "on":
            from friday.messaging.models import OutboundMessage
            from friday.messaging.services import mail_configured

            message = OutboundMessage.objects.filter(key=f"invoice:{invoice.pk}:issued").first()
            if message is None or message.status in ("skipped", "failed"):
                reason = message.reason if message is not None else "no message was written"
                sent = f"; its email was not sent: {reason}"
            elif not mail_configured():
                sent = "; its email (with the PDF) is kept in the Outbox until a mail server is set (FRIDAY_EMAIL_URL)"
            else:
                sent = f"; its email with the PDF is on its way to {message.to_email}"
        messages.success(request, f"Invoice {invoice.number} was issued{sent}.")
    return redirect("billing:detail", invoice.pk)


@login_required
@require_POST
def payment_record(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    form = PaymentForm(request.POST)
    if form.is_valid():
        c = form.cleaned_data
        try:
            payment = services.payment_record(
                by=request.user,
                invoice=invoice,
                data=services.PaymentIn(
                    amount=c["amount"],
                    key=c["key"],
                    method=c["method"],
                    received_on=c["received_on"],
                    reference=c["reference"],
                ),
            )
        except FridayError as exc:
            for e in _errors(exc):
                form.add_error(e.field if e.field in form.fields else None, e.detail)
        else:
            invoice.refresh_from_db()
            messages.success(
                request,
                f"Payment of {money(payment.amount, invoice.currency)} recorded"
                + (": paid in full." if invoice.status == InvoiceStatus.PAID else "."),
            )
            return redirect("billing:detail", invoice.pk)
    return _detail(request, invoice, payment_form=form, status=422)


@login_required
@require_POST
def invoice_void(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            credit = services.invoice_void(
                by=request.user, invoice=invoice, reason=form.cleaned_data["reason"]
            )
        except FridayError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.detail)
        else:
            messages.success(
                request, f"Invoice {invoice.number} is void; credit note {credit.number} cancels it."
            )
            return redirect("billing:detail", invoice.pk)
    return _detail(request, invoice, void_form=form, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def invoice_delete(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    if request.method == "POST":
        try:
            services.invoice_delete(by=request.user, invoice=invoice)
        except FridayError as exc:
            messages.error(request, exc.detail)
            return redirect("billing:detail", invoice.pk)
        messages.success(request, "The draft was deleted.")
        return redirect("billing:list")
    return render(request, "billing/confirm_delete.html", {"invoice": invoice})


def _job_for(request: AuthedRequest, value: str) -> Any:
    if not value.isdigit() or len(value) > 18:
        return None
    from friday.jobs.selectors import job_get

    try:
        return job_get(user=request.user, job_id=int(value))
    except NotFound:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def invoice_create(request: AuthedRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def invoice_edit(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        messages.error(request, f"Invoice {invoice.number} is issued: it can no longer be changed.")
        return redirect("billing:detail", invoice.pk)
    return _edit(request, invoice)


def _edit(request: AuthedRequest, invoice: Invoice | None) -> HttpResponse:
    """The draft form: the client (fixed for a job's or an existing invoice), currency, terms, notes and the
    lines. "Add a line" sends the form back with one more empty row; empty rows are ignored."""
    require_write(request.user)
    job = invoice.job if invoice else _job_for(request, request.POST.get("job") or request.GET.get("job", ""))
    party = invoice.party if invoice else (job.party if job else None)
    if invoice is None and party is None and request.GET.get("party", "").isdigit():
        try:
            chosen = party_get(user=request.user, party_id=int(request.GET["party"]))
        except FridayError:
            chosen = None
        initial_party = f"{chosen.display_name} · #{chosen.pk}" if chosen else ""
    else:
        initial_party = ""
    initial = {
        "party": initial_party,
        "currency": invoice.currency if invoice else (job.currency if job else ""),
        "terms_days": invoice.terms_days if invoice else None,
        "notes": invoice.notes if invoice else "",
    }
    form = InvoiceForm(request.POST or None, initial=initial, fixed_party=party is not None)
    if request.method == "POST":
        count = max(1, min(services.MAX_LINES, int(request.POST.get("line_count", "1") or 1)))
        rows = line_rows(request.POST, count)
    elif invoice is not None:
        rows = [
            {
                "description": line.description,
                "quantity": f"{line.quantity.normalize():f}",
                "unit_price": f"{line.unit_price.normalize():f}",
                "tax_rate": f"{line.tax_rate.normalize():f}",
            }
            for line in invoice.lines.all()
        ]
    elif job is not None and job.quoted_price is not None:
        rows = [
            {
                "description": job.title,
                "quantity": "1",
                "unit_price": f"{job.quoted_price:f}",
                "tax_rate": f"{services.default_tax_rate().normalize():f}",
            }
        ]
    else:
        rows = []
    line_errors: dict[tuple[int, str], str] = {}
    if request.method == "POST" and "add_line" in request.POST:
        rows.append({})
        form.is_valid()
        form.errors.clear()
    elif request.method == "POST" and form.is_valid():
        kept = [i for i, r in enumerate(rows) if any(str(r.get(n, "")).strip() for n in LINE_FIELDS)]
        lines = [
            services.LineIn(
                description=rows[i]["description"],
                quantity=rows[i]["quantity"],
                unit_price=rows[i]["unit_price"],
                tax_rate=rows[i]["tax_rate"] or None,
            )
            for i in kept
        ]
        c = form.cleaned_data
        data = services.InvoiceIn(
            currency=c["currency"] or (invoice.currency if invoice else ""),
            terms_days=c["terms_days"],
            notes=c["notes"],
            lines=lines,
        )
        try:
            if invoice is None:
                target = party
                if target is None:
                    party_id = form.party_id()
                    if party_id is None:
                        raise ValidationFailed(
                            [FridayError("Pick the client from the list as you type.", field="party")]
                        )
                    try:
                        target = party_get(user=request.user, party_id=party_id)
                    except NotFound as exc:
                        exc.field = "party"
                        raise
                saved = services.invoice_create(by=request.user, party=target, data=data, job=job)
            else:
                saved = services.invoice_update(by=request.user, invoice=invoice, data=data)
        except FridayError as exc:
            for e in _errors(exc):
                field = e.field or ""
                if field.startswith("lines.") and field.count(".") == 2:
                    _, index, name = field.split(".")
                    row = kept[int(index)] if int(index) < len(kept) else 0
                    line_errors[(row, name)] = e.detail
                else:
                    form.add_error(field if field in form.fields else None, e.detail)
        else:
            messages.success(request, "The draft was saved." if invoice else "The draft invoice was made.")
            return redirect("billing:detail", saved.pk)
    while len(rows) < 1:
        rows.append({})
    line_table = [
        {
            "index": i,
            "cells": [
                {"name": n, "value": row.get(n, ""), "error": line_errors.get((i, n), "")}
                for n in LINE_FIELDS
            ],
        }
        for i, row in enumerate(rows)
    ]
    return render(
        request,
        "billing/form.html",
        {
            "form": form,
            "invoice": invoice,
            "job": job,
            "party": party,
            "lines": line_table,
            "line_count": len(rows),
            "default_tax_rate": services.default_tax_rate(),
        },
        status=422 if request.method == "POST" and "add_line" not in request.POST else 200,
    )


def party_section(user: User, party: Any) -> dict[str, Any]:
    """The Invoices card on a party page: the party's latest invoices and what it owes."""
    qs = selectors.invoices_visible(user).filter(party=party).order_by("-created_at", "-id")
    invoices = list(qs[:10])
    return {"invoices": invoices, "more": len(invoices) == 10}
