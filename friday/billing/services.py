"""The only write path for billing: draft invoices (by hand or from a job), issue them (a gap-free number, the
PDF, the email), record payments (once per idempotency key, never more than the balance), void them with a
credit note. Each is one transaction: a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.billing import documents
from friday.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    open_invoices,
)
from friday.billing.selectors import invoice_get
from friday.billing.totals import HUNDRED, line_net, totals_of
from friday.core import business, clock
from friday.core.errors import Collector, Conflict, FridayError
from friday.core.events import event_emit
from friday.core.money import amount_parse, currency_clean, money
from friday.jobs.models import Job
from friday.parties.models import Party
from friday.parties.selectors import party_get
from friday.parties.services import timeline_add

UNSET: Any = object()
MAX_LINES = 200
MAX_TERMS_DAYS = 365
MAX_QUANTITY = Decimal("999999999.999")
MAX_UNIT_PRICE = Decimal("9999999999.9999")


@dataclass
class LineIn:
    description: Any = ""
    quantity: Any = "1"
    unit_price: Any = "0"
    tax_rate: Any = None  # None: the business's default rate


@dataclass
class InvoiceIn:
    """What a form or API call may set on a draft. Fields left UNSET are not changed (on update)."""

    currency: Any = UNSET
    terms_days: Any = UNSET
    notes: Any = UNSET
    lines: Any = UNSET  # list of LineIn (replaces every line)


@dataclass
class _Clean:
    fields: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] | None = None


def default_tax_rate() -> Decimal:
    return Decimal(str(settings.FRIDAY_TAX_RATE))


def _clean(errors: Collector, data: InvoiceIn, *, creating: bool, currency_now: str = "") -> _Clean:
    out = _Clean()
    if data.currency is not UNSET or creating:
        currency = data.currency if data.currency not in (UNSET, None, "") else business.currency()
        try:
            out.fields["currency"] = currency_clean(currency)
        except FridayError as exc:
            errors.add("currency", exc.detail, code=exc.code)
    currency = out.fields.get("currency") or currency_now
    if data.terms_days is not UNSET or creating:
        terms = (
            settings.FRIDAY_INVOICE_TERMS_DAYS if data.terms_days in (UNSET, None, "") else data.terms_days
        )
        try:
            terms = int(str(terms).strip())
        except ValueError:
            terms = -1
        if not 0 <= terms <= MAX_TERMS_DAYS:
            errors.add(
                "terms_days",
                f"Payment terms are a number of days from 0 to {MAX_TERMS_DAYS}.",
                code="invalid.terms",
            )
        out.fields["terms_days"] = terms
    if data.notes is not UNSET:
        notes = str(data.notes or "").strip()
        if len(notes) > 5000:
            errors.add("notes", "Notes have at most 5,000 characters.", code="invalid.too_long")
        elif "\x00" in notes:
            errors.add("notes", "Null characters are not allowed.", code="invalid.null_character")
        out.fields["notes"] = notes
    if data.lines is not UNSET or creating:
        lines = list(data.lines if data.lines not in (UNSET, None) else [])
        if not lines:
            errors.add("lines", "An invoice needs at least one line.", code="invalid.required")
        elif len(lines) > MAX_LINES:
            errors.add("lines", f"An invoice has at most {MAX_LINES} lines.", code="invalid.too_many")
        out.lines = [_clean_line(errors, line, f"lines.{i}", currency) for i, line in enumerate(lines)]
    return out


def _clean_line(errors: Collector, line: LineIn, path: str, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    description = " ".join(str(line.description or "").split())
    if not description:
        errors.add(f"{path}.description", "Say what the line is for.", code="invalid.required")
    elif len(description) > 500 or "\x00" in description:
        errors.add(
            f"{path}.description", "A description has at most 500 characters.", code="invalid.too_long"
        )
    out["description"] = description
    try:
        out["quantity"] = amount_parse(
            line.quantity,
            field=f"{path}.quantity",
            places=3,
            allow_zero=False,
            maximum=MAX_QUANTITY,
            what="The quantity",
        )
    except FridayError as exc:
        errors.add(exc.field or f"{path}.quantity", exc.detail, code=exc.code)
    try:
        out["unit_price"] = amount_parse(
            line.unit_price,
            field=f"{path}.unit_price",
            places=4,
            maximum=MAX_UNIT_PRICE,
            what="The unit price",
        )
    except FridayError as exc:
        errors.add(exc.field or f"{path}.unit_price", exc.detail, code=exc.code)
    rate = default_tax_rate() if line.tax_rate in (None, "") else line.tax_rate
    try:
        out["tax_rate"] = amount_parse(
            rate, field=f"{path}.tax_rate", places=2, maximum=HUNDRED, what="The tax rate"
        )
    except FridayError as exc:
        errors.add(exc.field or f"{path}.tax_rate", exc.detail, code=exc.code)
    if "quantity" in out and "unit_price" in out and currency:
        out["net"] = line_net(out["quantity"], out["unit_price"], currency)
        if out["net"] > Decimal("999999999999.99"):
            errors.add(f"{path}.unit_price", "The line's amount is too large.", code="invalid.too_large")
    return out


def _write_lines(invoice: Invoice, lines: list[dict[str, Any]]) -> None:
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(
        [InvoiceLine(invoice=invoice, position=i, **line) for i, line in enumerate(lines)]
    )
    totals = totals_of(((line["net"], line["tax_rate"]) for line in lines), invoice.currency)
    invoice.subtotal, invoice.tax, invoice.total = totals.subtotal, totals.tax, totals.total
    invoice.balance = invoice.total if invoice.status != InvoiceStatus.DRAFT else Decimal(0)


@transaction.atomic
def invoice_create(
    *, by: User | None, party: Party, data: InvoiceIn, job: Job | None = None, key: str | None = None
) -> Invoice:
    """A draft invoice for `party` (optionally for one of its jobs: then in the job's currency)."""
    if by is not None:
        require_write(by)
        party = party_get(user=by, party_id=party.pk)
    errors = Collector()
    if job is not None:
        if job.party_id != party.pk:
            errors.add("job", "The job is for another party.", code="invoice.job_party")
        if data.currency in (UNSET, None, ""):
            data.currency = job.currency
    clean = _clean(errors, data, creating=True)
    if job is not None and clean.fields.get("currency") and clean.fields["currency"] != job.currency:
        errors.add(
            "currency",
            f"The job is priced in {job.currency}: its invoice is in {job.currency} too, "
            f"not {clean.fields['currency']}.",
            code="invoice.currency_mismatch",
        )
    errors.raise_if_any()
    now = clock.now()
    invoice = Invoice(
        party=party, job=job, key=key, created_at=now, updated_at=now, created_by=by, **clean.fields
    )
    invoice.save()
    assert clean.lines is not None
    _write_lines(invoice, clean.lines)
    invoice.save(update_fields=["subtotal", "tax", "total", "balance"])
    timeline_add(
        party,
        event="invoice.created",
        subject=f"Draft invoice for {money(invoice.total, invoice.currency)}",
        by=by,
        data={"invoice_id": invoice.pk},
    )
    event_emit(
        name="invoice.created",
        subject=invoice,
        actor=by,
        payload={"party_id": party.pk, "job_id": job.pk if job else None, "total": str(invoice.total)},
    )
    return invoice


def invoice_from_job(*, by: User | None, job: Job, key: str | None = None) -> Invoice:
    """A draft invoice for a job: one line, the job's title at its quoted price, at the business's tax rate."""
    if job.quoted_price is None:
        raise FridayError(
            f"The job {job.title!r} has no quoted price: add one, or write the invoice by hand.",
            code="invoice.job_unpriced",
            field="job",
        )
    line = LineIn(description=job.title, quantity="1", unit_price=job.quoted_price, tax_rate=None)
    return invoice_create(
        by=by, party=job.party, job=job, key=key, data=InvoiceIn(currency=job.currency, lines=[line])
    )


def _locked(by: User | None, invoice: Invoice) -> Invoice:
    if by is None:
        Invoice.objects.select_for_update().filter(pk=invoice.pk).values_list("pk").first()
        return Invoice.objects.select_related("party", "job").get(pk=invoice.pk)
    return invoice_get(user=by, invoice_id=invoice.pk, for_update=True)


def _require_draft(invoice: Invoice, doing: str) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}: only a draft can be {doing}.",
            code="invoice.not_draft",
        )


@transaction.atomic
def invoice_update(*, by: User, invoice: Invoice, data: InvoiceIn) -> Invoice:
    """Change a draft: its currency, terms, notes or lines (replaced as a whole)."""
    require_write(by)
    invoice = _locked(by, invoice)
    _require_draft(invoice, "changed")
    errors = Collector()
    clean = _clean(errors, data, creating=False, currency_now=invoice.currency)
    job = invoice.job
    if job is not None and clean.fields.get("currency", job.currency) != job.currency:
        errors.add(
            "currency",
            f"The job is priced in {job.currency}: its invoice is in {job.currency} too.",
            code="invoice.currency_mismatch",
        )
    if "currency" in clean.fields and clean.lines is None and clean.fields["currency"] != invoice.currency:
        # The lines' amounts were checked against the old currency's minor unit: check them again.
        old = [LineIn(x.description, x.quantity, x.unit_price, x.tax_rate) for x in invoice.lines.all()]
        clean.lines = [
            _clean_line(errors, line, f"lines.{i}", clean.fields["currency"]) for i, line in enumerate(old)
        ]
    errors.raise_if_any()
    for name, value in clean.fields.items():
        setattr(invoice, name, value)
    if clean.lines is not None:
        _write_lines(invoice, clean.lines)
    invoice.updated_at = clock.now()
    invoice.save()
    event_emit(name="invoice.updated", subject=invoice, actor=by, payload={"party_id": invoice.party_id})
    return invoice


@transaction.atomic
def invoice_delete(*, by: User, invoice: Invoice) -> None:
    """Delete a draft (an issued invoice is voided instead: its number stays used)."""
    require_write(by)
    invoice = _locked(by, invoice)
    _require_draft(invoice, "deleted")
    timeline_add(invoice.party, event="invoice.deleted", subject="Draft invoice deleted", by=by)
    event_emit(name="invoice.deleted", subject=invoice, actor=by, payload={"party_id": invoice.party_id})
    invoice.delete()


def _next_number(series: str, prefix: str, year: int) -> str:
    """The series' next number for the year, taken under a row lock on its counter: whoever locks second waits
    for the first to commit (or roll back, giving the number back), so numbers have no gaps and no twins."""
    InvoiceCounter.objects.get_or_create(series=series, year=year)
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}{year}-{counter.last:04d}"


def invoice_record(invoice: Invoice) -> dict[str, Any]:
    """What a message template reads as `record` about an invoice."""
    return {
        "number": invoice.number or "",
        "total": money(invoice.total, invoice.currency),
        "balance": money(invoice.balance, invoice.currency),
        "paid": money(invoice.paid, invoice.currency),
        "currency": invoice.currency,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "due_date_text": f"{invoice.due_date:%-d %B %Y}" if invoice.due_date else "",
        "pdf_url": documents.public_pdf_url(invoice) if invoice.pk else "",
        "invoice_id": invoice.pk,
        "job_title": invoice.job.title if invoice.job_id and invoice.job else "",
    }


INVOICE_SUBJECT = "Invoice {{ record.number }} from {{ business.name }}"
INVOICE_BODY = (
    "Dear {{ party.first_name }},\n\n"
    "Please find attached invoice {{ record.number }} for {{ record.total }}, due on {{ record.due_date_text }}.\n"
    "You can also download it here: {{ record.pdf_url }}\n\n"
    "Thank you,\n{{ business.name }}\n"
)


def _send_invoice(invoice: Invoice, pdf: bytes, by: User | None) -> Any:
    from friday.messaging.models import MessageTemplate
    from friday.messaging.services import message_queue

    template = MessageTemplate.objects.filter(key=settings.FRIDAY_INVOICE_TEMPLATE).first()
    return message_queue(
        key=f"invoice:{invoice.pk}:issued",
        party=invoice.party,
        template=template,
        subject=INVOICE_SUBJECT,
        body_text=INVOICE_BODY,
        record=invoice_record(invoice),
        attachments=[(documents.pdf_filename(invoice), pdf, "application/pdf")],
        by=by,
    )


@transaction.atomic
def invoice_issue(*, by: User | None, invoice: Invoice, send: bool = True) -> Invoice:
    """Issue a draft: its number (gap-free for the year), issue and due dates, the stored PDF; the timeline and
    `invoice.issued`; with `send`, the email to the client with the PDF attached (queued once per invoice)."""
    if by is not None:
        require_write(by)
    invoice = _locked(by, invoice)
    _require_draft(invoice, "issued")
    if not invoice.lines.exists():
        raise FridayError("An invoice needs at least one line.", code="invalid.required", field="lines")
    now = clock.now()
    today = clock.local_date(now)
    invoice.number = _next_number("invoice", settings.FRIDAY_INVOICE_PREFIX, today.year)
    invoice.status = InvoiceStatus.ISSUED
    invoice.issue_date = today
    invoice.due_date = today + dt.timedelta(days=invoice.terms_days)
    invoice.balance, invoice.paid = invoice.total, Decimal(0)
    invoice.issued_at = invoice.updated_at = now
    invoice.issued_by = by
    invoice.save()
    pdf = documents.render_pdf(invoice)
    documents.pdf_store(invoice, pdf)
    timeline_add(
        invoice.party,
        event="invoice.issued",
        subject=f"Invoice {invoice.number} issued: {money(invoice.total, invoice.currency)}, "
        f"due {invoice.due_date:%-d %b %Y}",
        by=by,
        data={"invoice_id": invoice.pk},
    )
    event_emit(
        name="invoice.issued",
        subject=invoice,
        actor=by,
        payload={
            "party_id": invoice.party_id,
            "job_id": invoice.job_id,
            "number": invoice.number,
            "total": str(invoice.total),
            "currency": invoice.currency,
            "due_date": invoice.due_date.isoformat(),
        },
    )
    if send:
        _send_invoice(invoice, pdf, by)
    return invoice


@dataclass
class PaymentIn:
    amount: Any
    key: str = ""
    method: Any = PaymentMethod.BANK_TRANSFER
    received_on: Any = None  # date; default today
    reference: Any = ""


def _job_paid(job: Job, at: dt.datetime) -> None:
    from friday.jobs.services import job_set_paid

    invoices = job.invoices.filter(kind=InvoiceKind.INVOICE).exclude(status=InvoiceStatus.VOID)
    all_paid = invoices.exists() and not invoices.exclude(status=InvoiceStatus.PAID).exists()
    job_set_paid(job=job, paid_at=at if all_paid else None)


@transaction.atomic
def payment_record(*, by: User | None, invoice: Invoice, data: PaymentIn) -> Payment:
    """Record money received. The same idempotency key gives back the payment it recorded, not a second one.
    More than the balance is refused (saying the balance); the full balance marks the invoice paid."""
    if by is not None:
        require_write(by)
    key = (data.key or "").strip()
    if len(key) > 100 or "\x00" in key:
        raise FridayError("An idempotency key has at most 100 characters.", code="invalid.key", field="key")
    key = key or f"auto:{uuid.uuid4()}"
    invoice = _locked(by, invoice)  # concurrent submits of one key queue here; the second finds the first
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.invoice_id != invoice.pk:
            raise Conflict(
                "This idempotency key was used for a payment on another invoice.",
                code="payment.key_reused",
                field="key",
            )
        return existing
    if invoice.kind != InvoiceKind.INVOICE:
        raise Conflict("A credit note takes no payments.", code="payment.credit_note")
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("Issue the invoice before recording a payment.", code="payment.draft")
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice.number} is void: it takes no payments.", code="payment.void")
    if invoice.status == InvoiceStatus.PAID:
        raise Conflict(f"Invoice {invoice.number} is already paid in full.", code="payment.already_paid")
    errors = Collector()
    amount = None
    try:
        amount = amount_parse(
            data.amount, field="amount", currency=invoice.currency, allow_zero=False, what="The amount"
        )
    except FridayError as exc:
        errors.add("amount", exc.detail, code=exc.code)
    if amount is not None and amount > invoice.balance:
        errors.add(
            "amount",
            f"The balance is {money(invoice.balance, invoice.currency)}: a payment of "
            f"{money(amount, invoice.currency)} would overpay it.",
            code="payment.overpayment",
        )
    if data.method not in PaymentMethod.values:
        errors.add("method", f"Method is one of {', '.join(PaymentMethod.values)}.", code="invalid.method")
    received_on = data.received_on or clock.today()
    if not isinstance(received_on, dt.date) or isinstance(received_on, dt.datetime):
        errors.add("received_on", "Give a date.", code="invalid.date")
    elif invoice.issue_date and received_on > clock.today():
        errors.add("received_on", "A payment cannot be received in the future.", code="invalid.date")
    reference = str(data.reference or "").strip()
    if len(reference) > 200 or "\x00" in reference:
        errors.add("reference", "A reference has at most 200 characters.", code="invalid.too_long")
    errors.raise_if_any()
    assert amount is not None
    now = clock.now()
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                invoice=invoice,
                amount=amount,
                method=data.method,
                received_on=received_on,
                reference=reference,
                idempotency_key=key,
                created_at=now,
                created_by=by,
            )
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=key, invoice=invoice).first()
        if existing is not None:
            return existing
        raise
    invoice.paid += amount
    invoice.balance = invoice.total - invoice.paid
    invoice.status = InvoiceStatus.PAID if invoice.balance == 0 else InvoiceStatus.PARTIALLY_PAID
    invoice.paid_at = now if invoice.status == InvoiceStatus.PAID else None
    invoice.updated_at = now
    invoice.save(update_fields=["paid", "balance", "status", "paid_at", "updated_at"])
    timeline_add(
        invoice.party,
        event="invoice.payment",
        subject=f"Payment of {money(amount, invoice.currency)} on invoice {invoice.number}"
        + (
            " — paid in full"
            if invoice.status == InvoiceStatus.PAID
            else f" — {money(invoice.balance, invoice.currency)} still due"
        ),
        by=by,
        data={"invoice_id": invoice.pk, "payment_id": payment.pk},
    )
    payload = {
        "party_id": invoice.party_id,
        "number": invoice.number,
        "amount": str(amount),
        "balance": str(invoice.balance),
        "currency": invoice.currency,
    }
    event_emit(name="invoice.payment_recorded", subject=invoice, actor=by, payload=payload)
    if invoice.status == InvoiceStatus.PAID:
        event_emit(name="invoice.paid", subject=invoice, actor=by, payload=payload)
    if invoice.job is not None:
        _job_paid(invoice.job, now)
    return payment


@transaction.atomic
def invoice_void(*, by: User, invoice: Invoice, reason: str) -> Invoice:
    """Void an issued invoice that has no payments, with a reason; a credit note (its own number, the lines and
    totals negated) cancels it. Returns the credit note."""
    require_write(by)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise FridayError("Say why the invoice is voided.", code="invalid.required", field="reason")
    if len(reason) > 2000 or "\x00" in reason:
        raise FridayError("A reason has at most 2,000 characters.", code="invalid.too_long", field="reason")
    invoice = _locked(by, invoice)
    if invoice.kind != InvoiceKind.INVOICE:
        raise Conflict("A credit note cannot be voided.", code="invoice.void_credit_note")
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("A draft is not voided: delete it instead.", code="invoice.void_draft")
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice.number} is already void.", code="invoice.already_void")
    if invoice.paid > 0:
        raise Conflict(
            f"Invoice {invoice.number} has {money(invoice.paid, invoice.currency)} paid against it: refund the "
            "payments before voiding it.",
            code="invoice.void_paid",
        )
    now = clock.now()
    today = clock.local_date(now)
    invoice.status, invoice.void_reason, invoice.voided_at = InvoiceStatus.VOID, reason, now
    invoice.balance, invoice.updated_at = Decimal(0), now
    invoice.save(update_fields=["status", "void_reason", "voided_at", "balance", "updated_at"])
    credit = Invoice.objects.create(
        party=invoice.party,
        job=invoice.job,
        kind=InvoiceKind.CREDIT_NOTE,
        credits=invoice,
        number=_next_number("credit_note", settings.FRIDAY_CREDIT_NOTE_PREFIX, today.year),
        status=InvoiceStatus.ISSUED,
        currency=invoice.currency,
        issue_date=today,
        terms_days=0,
        due_date=None,  # nothing is owed on a credit note
        notes=f"Credits invoice {invoice.number}: {reason}",
        subtotal=-invoice.subtotal,
        tax=-invoice.tax,
        total=-invoice.total,
        created_at=now,
        updated_at=now,
        created_by=by,
        issued_at=now,
        issued_by=by,
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=credit,
                position=line.position,
                description=line.description,
                quantity=line.quantity,
                unit_price=-line.unit_price,
                tax_rate=line.tax_rate,
                net=-line.net,
            )
            for line in invoice.lines.all()
        ]
    )
    documents.pdf_store(credit, documents.render_pdf(credit))
    timeline_add(
        invoice.party,
        event="invoice.voided",
        subject=f"Invoice {invoice.number} voided by credit note {credit.number}: {reason}"[:200],
        by=by,
        data={"invoice_id": invoice.pk, "credit_note_id": credit.pk},
    )
    event_emit(
        name="invoice.voided",
        subject=invoice,
        actor=by,
        payload={
            "party_id": invoice.party_id,
            "number": invoice.number,
            "credit_note": credit.number,
            "reason": reason[:500],
        },
    )
    if invoice.job is not None:
        _job_paid(invoice.job, now)
    return credit


def overdue_sweep(*, now: dt.datetime | None = None, batch: int = 1000) -> int:
    """Emit `invoice.overdue` once for each open invoice whose due date has passed (for event rules and
    webhooks), in batches; returns how many. A second sweeper skips the rows the first has locked."""
    from friday.core.models import DomainEvent

    now = now or clock.now()
    today = clock.local_date(now)
    done = 0
    while True:
        with transaction.atomic():
            rows = list(
                open_invoices(Invoice.objects.select_for_update(skip_locked=True))
                .filter(due_date__lt=today, overdue_notified_at__isnull=True)
                .order_by("due_date", "id")
                .values_list("pk", "party_id", "number", "total", "balance", "currency", "due_date")[:batch]
            )
            if not rows:
                return done
            DomainEvent.objects.bulk_create(
                [
                    DomainEvent(
                        name="invoice.overdue",
                        occurred_at=now,
                        subject_type="invoice",
                        subject_id=pk,
                        payload={
                            "party_id": party_id,
                            "number": number,
                            "total": str(total),
                            "balance": str(balance),
                            "currency": currency,
                            "due_date": due.isoformat(),
                            "days_overdue": (today - due).days,
                        },
                    )
                    for pk, party_id, number, total, balance, currency, due in rows
                    if due is not None  # filtered by it
                ]
            )
            Invoice.objects.filter(pk__in=[r[0] for r in rows]).update(overdue_notified_at=now)
            done += len(rows)
