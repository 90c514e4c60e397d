"""Billing's parts of automation, registered when the app loads: the `issue_invoice` action and the
`invoice_overdue` time trigger.

    {"type": "issue_invoice", "send": true}          for a job's firing: invoice the job and issue it
    {"type": "invoice_overdue", "days": 7, "at": "09:00"}
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from friday.automation import actions, triggers
from friday.billing.models import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from friday.core import clock
from friday.core.errors import Collector, FridayError
from friday.core.money import money

TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_DAYS = 3650


class IssueInvoice(actions.Action):
    type, label, fields = "issue_invoice", "Issue the job's invoice", {"send"}
    needs_party = False

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        send = data.get("send", True)
        if not isinstance(send, bool):
            errors.add(f"{path}.send", "Send is true or false.", code="invalid.boolean")
            send = True
        return {"send": send}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.billing import services
        from friday.jobs.selectors import job_get

        if firing.record_type != "job" or not firing.record_id:
            raise actions.Permanent("Only a job's firing can issue an invoice (use a job trigger).")
        try:
            job = job_get(user=rule.owner, job_id=firing.record_id)  # within the rule owner's scope
        except FridayError as exc:
            raise actions.Permanent(
                f"The job is gone or out of the rule owner's sight: {exc.detail}"
            ) from exc
        # Once per job: a job that has an invoice (not void) is not invoiced again — its draft is issued.
        existing = (
            job.invoices.filter(kind=InvoiceKind.INVOICE)
            .exclude(status=InvoiceStatus.VOID)
            .order_by("id")
            .first()
        )
        if existing is not None and existing.status != InvoiceStatus.DRAFT:
            return {"invoice_id": existing.pk, "already": existing.number}
        try:
            invoice = existing or services.invoice_from_job(by=rule.owner, job=job, key=f"run:{run.pk}")
            invoice = services.invoice_issue(by=rule.owner, invoice=invoice, send=settings.get("send", True))
        except FridayError as exc:
            raise actions.Permanent(exc.detail) from exc
        return {"invoice_id": invoice.pk, "number": invoice.number}

    def describe(self, settings: dict[str, Any]) -> str:
        return "Issue the job's invoice" + (" and email it" if settings.get("send", True) else "")


def _clean_overdue(data: dict[str, Any], errors: Collector, prefix: str) -> dict[str, Any]:
    days = data.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_DAYS:
        errors.add(f"{prefix}.days", f"Give a whole number from 0 to {MAX_DAYS}.", code="invalid.number")
        days = 0
    at = data.get("at", "09:00")
    if not isinstance(at, str) or not TIME_RE.match(at):
        errors.add(f"{prefix}.at", "Give a time of day as HH:MM, e.g. 09:00.", code="invalid.time")
        at = "09:00"
    return {"days": days, "at": at}


def _moment(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.business_tz())


def overdue_matches(
    trigger: dict[str, Any], start: dt.datetime, end: dt.datetime
) -> Iterator[triggers.Match]:
    """Open invoices whose due date + `days`, at `at` (business time), falls in (start, end]. The occurrence
    holds the due date and the days, so each reminder fires once; a paid or void invoice never matches."""
    from friday.billing.documents import public_pdf_url

    late = dt.timedelta(days=trigger["days"])
    tz = clock.business_tz()
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    fire_days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    due_dates = [d - late for d in fire_days if start < _moment(d, trigger["at"]) <= end]
    if not due_dates:
        return
    rows = (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, due_date__in=due_dates)
        .order_by("due_date", "id")
        .only("pk", "party_id", "number", "total", "balance", "currency", "due_date", "issue_date")
    )
    for invoice in rows.iterator(chunk_size=2000):
        due = invoice.due_date
        assert due is not None  # filtered by it
        yield triggers.Match(
            record_type="invoice",
            record_id=invoice.pk,
            party_id=invoice.party_id,
            occurrence=f"due:{due.isoformat()}:+{trigger['days']}",
            due_at=_moment(due + late, trigger["at"]),
            snapshot={
                "number": invoice.number or "",
                "total": money(invoice.total, invoice.currency),
                "balance": money(invoice.balance, invoice.currency),
                "currency": invoice.currency,
                "due_date": due.isoformat(),
                "due_date_text": f"{due:%-d %B %Y}",
                "days_overdue": trigger["days"],
                "pdf_url": public_pdf_url(invoice),
            },
        )


def still_overdue(firing: Any) -> str:
    """A reminder queued before the invoice was paid (or voided) is not sent."""
    if firing.record_type != "invoice":
        return ""
    status = Invoice.objects.filter(pk=firing.record_id).values_list("status", flat=True).first()
    if status is None:
        return "The invoice no longer exists."
    if status not in OPEN_STATUSES:
        return f"The invoice is {InvoiceStatus(status).label.lower()} now: no reminder."
    return ""


def _describe(trigger: dict[str, Any]) -> str:
    days = trigger["days"]
    when = "on its due date" if days == 0 else f"{days} day{'s' if days != 1 else ''} after its due date"
    return f"An unpaid invoice, {when}, at {trigger['at']}"


actions.register(IssueInvoice())
triggers.register(
    triggers.TimeTrigger(
        type="invoice_overdue",
        label="An invoice is overdue",
        fields=frozenset({"days", "at"}),
        clean=_clean_overdue,
        matches=overdue_matches,
        describe=_describe,
        record_fields=frozenset(
            {"number", "total", "balance", "currency", "due_date", "due_date_text", "days_overdue", "pdf_url"}
        ),
        still_due=still_overdue,
    )
)

from friday.billing import starters as billing_starters  # noqa: E402  (after the action and trigger exist)

billing_starters.add()
