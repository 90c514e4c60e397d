"""Invoices: rounding with known totals, gap-free numbering (also two issuers at once), payments once per key and
never more than the balance, void with a credit note, bad input refused by field path with nothing changed."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from friday.billing import services
from friday.billing.models import Invoice, InvoiceCounter, InvoiceStatus, Payment
from friday.billing.totals import line_net, totals_of
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.models import DomainEvent
from friday.jobs.models import Job
from friday.jobs.services import JobIn, job_create
from tests.billing.conftest import line

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "price", "currency", "net"),
    [
        ("3", "0.335", "GBP", "1.01"),  # 1.005 → 1.01 (half up, not banker's 1.00)
        ("1", "2.345", "GBP", "2.35"),
        ("0.5", "0.01", "GBP", "0.01"),  # 0.005 → 0.01
        ("3", "333.5", "JPY", "1001"),  # 1000.5 → 1001: yen have no minor unit
        ("1.5", "80", "GBP", "120.00"),
    ],
)
def test_a_line_net_is_rounded_half_up_to_the_minor_unit(quantity, price, currency, net):
    assert line_net(D(quantity), D(price), currency) == D(net)


def test_tax_is_rounded_once_per_rate_not_per_line():
    # Three lines at 20 % of 0.05 each: per line 0.01 × 3 = 0.03; per rate 0.15 × 20 % = 0.03 … and
    # three at 5 % of 0.10 each: per line 0.005→0.01 ×3 = 0.03, per rate 0.30 × 5 % = 0.015 → 0.02.
    lines = [(D("0.05"), D(20))] * 3 + [(D("0.10"), D(5))] * 3 + [(D("10.00"), D(0))]
    totals = totals_of(lines, "GBP")
    assert [(b.rate, b.net, b.tax) for b in totals.bands] == [
        (D(20), D("0.15"), D("0.03")),
        (D(5), D("0.30"), D("0.02")),
        (D(0), D("10.00"), D("0.00")),
    ]
    assert (totals.subtotal, totals.tax, totals.total) == (D("10.45"), D("0.05"), D("10.50"))


def test_a_draft_stores_its_totals(draft):
    # 100.00 + 2 × 25.50 = 151.00; 20 % tax 30.20; total 181.20
    assert (draft.subtotal, draft.tax, draft.total, draft.balance) == (
        D("151.00"),
        D("30.20"),
        D("181.20"),
        0,
    )
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None


def test_a_yen_invoice_has_whole_totals(cast, client_party):
    invoice = services.invoice_create(
        by=cast.alice,
        party=client_party,
        data=services.InvoiceIn(currency="JPY", lines=[line("Work", "3", "333.5", "10")]),
    )
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D(1001), D(100), D(1101))


def test_issuing_numbers_per_year_without_gaps(cast, client_party, draft):
    with time_machine.travel(dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC), tick=False):
        first = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
        second = services.invoice_issue(
            by=cast.alice,
            invoice=services.invoice_create(
                by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()])
            ),
            send=False,
        )
    with time_machine.travel(dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        third = services.invoice_issue(
            by=cast.alice,
            invoice=services.invoice_create(
                by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()])
            ),
            send=False,
        )
    assert [first.number, second.number, third.number] == ["2026-0001", "2026-0002", "2027-0001"]
    assert first.due_date == dt.date(2027, 1, 30) and first.issue_date == dt.date(2026, 12, 31)
    assert first.balance == first.total and first.pdf.name.endswith(".pdf")
    assert first.pdf.open("rb").read().startswith(b"%PDF")
    assert DomainEvent.objects.filter(name="invoice.issued", subject_id=first.pk).exists()
    with pytest.raises(FridayError) as refused:
        services.invoice_issue(by=cast.alice, invoice=first, send=False)
    assert refused.value.code == "invoice.not_draft"


def test_a_failed_issue_gives_its_number_back(cast, client_party, draft, monkeypatch):
    from friday.billing import documents

    def broken(invoice):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(documents, "render_pdf", broken)
    with pytest.raises(RuntimeError):
        services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    monkeypatch.undo()
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None
    issued = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    assert issued.number.endswith("-0001")


@pytest.mark.django_db(transaction=True)
def test_two_issuers_at_once_get_consecutive_numbers(cast, client_party):
    drafts = [
        services.invoice_create(by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()]))
        for _ in range(6)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def issue(mine) -> None:
        try:
            barrier.wait()
            for invoice in mine:
                services.invoice_issue(by=cast.alice, invoice=invoice, send=False)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(drafts[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    year = Invoice.objects.get(pk=drafts[0].pk).issue_date.year
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"{year}-{n:04d}" for n in range(1, 7)]
    assert InvoiceCounter.objects.get(series="invoice", year=year).last == 6


def test_payments_partial_then_full_mark_it_paid_and_the_job(cast, client_party, job_process):
    job = job_create(
        by=cast.alice, party=client_party, data=JobIn(title="Boiler swap", quoted_price="500.00")
    )
    invoice = services.invoice_issue(
        by=cast.alice, invoice=services.invoice_from_job(by=cast.alice, job=job), send=False
    )
    assert invoice.total == D("600.00") and invoice.job_id == job.pk  # 500 + 20 % tax
    services.payment_record(by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="100", key="k1"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid, invoice.balance) == ("partially_paid", D(100), D(500))
    assert Job.objects.get(pk=job.pk).paid_at is None
    services.payment_record(
        by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="500.00", key="k2")
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", 0)
    assert Job.objects.get(pk=job.pk).paid_at is not None
    assert DomainEvent.objects.filter(name="invoice.paid", subject_id=invoice.pk).count() == 1


def test_a_double_submitted_payment_is_recorded_once(cast, draft):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    first = services.payment_record(
        by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="50", key="same")
    )
    again = services.payment_record(
        by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="50", key="same")
    )
    assert first.pk == again.pk and Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid == D(50)


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_racing_on_two_connections_records_one_payment(cast, client_party):
    invoice = services.invoice_issue(
        by=cast.alice,
        invoice=services.invoice_create(
            by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()])
        ),
        send=False,
    )
    barrier = threading.Barrier(2)
    got: list[int] = []
    lock = threading.Lock()

    def pay() -> None:
        try:
            barrier.wait()
            p = services.payment_record(
                by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="10", key="dbl")
            )
            with lock:
                got.append(p.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 2 and got[0] == got[1]
    assert Invoice.objects.get(pk=invoice.pk).paid == D(10)


def test_an_overpayment_is_refused_saying_the_balance_and_changes_nothing(cast, draft):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    with pytest.raises(ValidationFailed) as refused:
        services.payment_record(
            by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="181.21", key="x")
        )
    assert refused.value.field == "amount" and refused.value.code == "payment.overpayment"
    assert "£181.20" in refused.value.detail
    invoice.refresh_from_db()
    assert (invoice.paid, invoice.status, Payment.objects.count()) == (0, "issued", 0)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-5", "invalid.negative"),
        ("0", "invalid.zero"),
        ("1.005", "invalid.decimal"),
        ("x", "invalid.decimal"),
    ],
)
def test_bad_payment_amounts_are_refused_by_field(cast, draft, amount, code):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    with pytest.raises(ValidationFailed) as refused:
        services.payment_record(
            by=cast.alice, invoice=invoice, data=services.PaymentIn(amount=amount, key="b")
        )
    assert (refused.value.field, refused.value.code) == ("amount", code)
    assert Payment.objects.count() == 0


def test_a_draft_takes_no_payment(cast, draft):
    with pytest.raises(FridayError) as refused:
        services.payment_record(by=cast.alice, invoice=draft, data=services.PaymentIn(amount="1", key="d"))
    assert refused.value.code == "payment.draft"


def test_bad_lines_are_refused_each_by_its_path_and_nothing_is_written(cast, client_party):
    with pytest.raises(ValidationFailed) as refused:
        services.invoice_create(
            by=cast.alice,
            party=client_party,
            data=services.InvoiceIn(
                lines=[
                    line(),
                    line(quantity="1"),
                    line(quantity="-2"),
                    line(quantity="0"),
                    line("", unit_price="-1"),
                    line(tax_rate="120"),
                ]
            ),
        )
    fields = {(e.field, e.code) for e in refused.value.errors}
    assert ("lines.2.quantity", "invalid.negative") in fields
    assert ("lines.3.quantity", "invalid.zero") in fields
    assert ("lines.4.description", "invalid.required") in fields
    assert ("lines.4.unit_price", "invalid.negative") in fields
    assert ("lines.5.tax_rate", "invalid.too_large") in fields
    assert Invoice.objects.count() == 0


def test_an_invoice_for_a_job_is_in_the_jobs_currency(cast, client_party, job_process):
    job = job_create(
        by=cast.alice, party=client_party, data=JobIn(title="Swap", quoted_price="10", currency="EUR")
    )
    with pytest.raises(ValidationFailed) as refused:
        services.invoice_create(
            by=cast.alice,
            party=client_party,
            job=job,
            data=services.InvoiceIn(currency="GBP", lines=[line()]),
        )
    assert (refused.value.field, refused.value.code) == ("currency", "invoice.currency_mismatch")
    assert Invoice.objects.count() == 0
    made = services.invoice_create(
        by=cast.alice, party=client_party, job=job, data=services.InvoiceIn(lines=[line()])
    )
    assert made.currency == "EUR"


def test_void_issues_a_credit_note_with_its_own_number(cast, draft):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    with pytest.raises(FridayError) as refused:
        services.invoice_void(by=cast.alice, invoice=invoice, reason="  ")
    assert refused.value.field == "reason"
    credit = services.invoice_void(by=cast.alice, invoice=invoice, reason="Wrong client")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason, invoice.balance) == ("void", "Wrong client", 0)
    assert credit.kind == "credit_note" and credit.credits_id == invoice.pk
    assert credit.number == f"CN-{invoice.issue_date.year}-0001"
    assert (credit.subtotal, credit.tax, credit.total) == (D("-151.00"), D("-30.20"), D("-181.20"))
    assert [line.net for line in credit.lines.all()] == [D("-100.00"), D("-51.00")]
    assert credit.pdf.name
    # Nothing is owed on a credit note: no due date, and it is listed as a credit note, not as owing.
    assert credit.due_date is None
    from friday.billing.selectors import InvoiceFilters, invoice_list

    issued = invoice_list(user=cast.alice, filters=InvoiceFilters(status="issued")).items
    credits = invoice_list(user=cast.alice, filters=InvoiceFilters(kind="credit_note")).items
    assert credit not in issued and [c.pk for c in credits] == [credit.pk]


def test_a_paid_invoice_cannot_be_voided(cast, draft):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    services.payment_record(by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="181.20", key="p"))
    with pytest.raises(FridayError) as refused:
        services.invoice_void(by=cast.alice, invoice=invoice, reason="Oops")
    assert refused.value.code == "invoice.void_paid" and "refund" in refused.value.detail
    assert Invoice.objects.get(pk=invoice.pk).status == "paid" and Invoice.objects.count() == 1


def test_drafts_change_and_delete_issued_ones_do_not(cast, draft):
    services.invoice_update(
        by=cast.alice, invoice=draft, data=services.InvoiceIn(lines=[line(unit_price="10")])
    )
    draft.refresh_from_db()
    assert draft.total == D("12.00")
    issued = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    for call in (
        lambda: services.invoice_update(by=cast.alice, invoice=issued, data=services.InvoiceIn(notes="x")),
        lambda: services.invoice_delete(by=cast.alice, invoice=issued),
    ):
        with pytest.raises(FridayError) as refused:
            call()
        assert refused.value.code == "invoice.not_draft"


def test_invoices_are_scoped_through_their_party(cast, draft):
    with pytest.raises(NotFound):
        services.invoice_issue(by=cast.bob, invoice=draft, send=False)  # Blue team: cannot see Red's client
    with pytest.raises(FridayError):
        services.invoice_issue(by=cast.reader, invoice=draft, send=False)
    assert Invoice.objects.get(pk=draft.pk).status == "draft"


def test_the_overdue_sweep_emits_one_event_per_invoice(cast, draft):
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    with time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False):
        assert services.overdue_sweep() == 0  # due today: not overdue yet
    with time_machine.travel(dt.datetime(2026, 4, 3, 12, tzinfo=dt.UTC), tick=False):
        assert services.overdue_sweep() == 1
        assert services.overdue_sweep() == 0
    event = DomainEvent.objects.get(name="invoice.overdue", subject_id=invoice.pk)
    assert event.payload["days_overdue"] == 3 and event.payload["number"] == invoice.number
    assert event.payload["party_id"] == invoice.party_id and event.payload["balance"] == "181.20"


def test_without_pango_issuing_says_what_to_install_and_changes_nothing(cast, draft, monkeypatch):
    import sys
    import types

    class NoPango(types.ModuleType):
        def __getattr__(self, name):
            raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setitem(sys.modules, "weasyprint", NoPango("weasyprint"))
    with pytest.raises(FridayError) as exc:
        services.invoice_issue(by=cast.alice, invoice=draft)
    assert exc.value.code == "pdf.unavailable" and "apt-get install libpango" in exc.value.detail
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None
    assert not InvoiceCounter.objects.filter(last__gt=0).exists()
