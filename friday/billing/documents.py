"""The invoice document: one Django template (billing/invoice_document.html) shown inside the invoice page and
rendered on its own to PDF by WeasyPrint; the issued PDF is stored through Django's storage API, so a download
and every email attach the same bytes. A signed link lets the client download it without signing in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.urls import reverse

from friday.billing.models import Invoice
from friday.billing.selectors import invoice_totals
from friday.core.business import name as business_name
from friday.core.errors import FridayError

SALT = "friday.billing.invoice-pdf"


def business() -> dict[str, Any]:
    return {
        "name": business_name(),
        "address": [line.strip() for line in settings.FRIDAY_BUSINESS_ADDRESS.split("\n") if line.strip()],
        "email": settings.FRIDAY_BUSINESS_EMAIL,
        "phone": settings.FRIDAY_BUSINESS_PHONE,
        "website": settings.FRIDAY_BUSINESS_WEBSITE,
        "tax_id": settings.FRIDAY_BUSINESS_TAX_ID,
        "payment_details": settings.FRIDAY_PAYMENT_DETAILS,
    }


def document_context(invoice: Invoice) -> dict[str, Any]:
    party = invoice.party
    address = next(iter(party.addresses.all()), None)
    email = next(iter(party.emails.all()), None)
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "totals": invoice_totals(invoice),
        "business": business(),
        "client": {
            "name": party.display_name,
            "address": address,
            "email": email.address if email else "",
        },
    }


def document_html(invoice: Invoice, *, standalone: bool = True) -> str:
    return render_to_string(
        "billing/invoice_document.html", {**document_context(invoice), "standalone": standalone}
    )


class PdfUnavailable(FridayError):
    code = "pdf.unavailable"
    status = 503


def render_pdf(invoice: Invoice) -> bytes:
    try:
        from weasyprint import HTML  # imported when needed: the import takes most of a second
    except OSError as exc:  # WeasyPrint loads Pango when imported; a machine without it cannot render
        raise PdfUnavailable(
            "Invoice PDFs need the Pango text library, which this machine lacks: install it (Debian and "
            "Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0), then try again. Nothing was changed."
        ) from exc
    return HTML(string=document_html(invoice), base_url=str(settings.BASE_DIR)).write_pdf()


def pdf_filename(invoice: Invoice) -> str:
    label = "credit-note" if invoice.kind == "credit_note" else "invoice"
    return f"{label}-{invoice.number or f'draft-{invoice.pk}'}.pdf"


def pdf_store(invoice: Invoice, content: bytes) -> None:
    """Keep the issued document (called by the services while issuing)."""
    invoice.pdf.save(pdf_filename(invoice), ContentFile(content), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)


def pdf_bytes(invoice: Invoice) -> bytes:
    """The stored document of an issued invoice; a draft's is rendered afresh (it can still change)."""
    if invoice.pdf:
        with invoice.pdf.open("rb") as handle:
            return handle.read()
    return render_pdf(invoice)


def public_token(invoice: Invoice) -> str:
    return signing.dumps(invoice.pk, salt=SALT)


def public_invoice_id(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def public_pdf_url(invoice: Invoice) -> str:
    """For the client (in emails): the PDF, by a signed link that needs no sign-in."""
    path = reverse("billing:public_pdf", args=[public_token(invoice)])
    return settings.FRIDAY_BASE_URL.rstrip("/") + path


def page_url(invoice: Invoice) -> str:
    """For staff: the invoice's page."""
    return settings.FRIDAY_BASE_URL.rstrip("/") + reverse("billing:detail", args=[invoice.pk])
