"""Billing in a real browser: a job is completed, the starter rule issues its invoice, the client's email with
the PDF attached arrives at the SMTP server; a payment is recorded on the page, the invoice shows paid and the
reminder rules no longer fire for it."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from friday.accounts import services as account_services
from friday.automation import starters
from friday.automation.models import Rule
from friday.automation.services import rule_set_enabled, sweep
from friday.billing.models import Invoice
from friday.core import clock
from friday.jobs.services import JobIn, job_create, job_move
from friday.processes.services import process_import
from friday.processes.templates import starter_text
from tests.conftest import PASSWORD, make_person
from tests.e2e.test_processes import shot, sign_in


@pytest.fixture
def admin(transactional_db):
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user


def test_a_completed_job_is_invoiced_emailed_paid_and_reminders_stop(
    page: Page, live_server, admin, smtp_server, run_worker
):
    process_import(by=admin, source=starter_text("jobs"))
    starters.install(by=admin)
    for name in (
        "Issue the invoice when a job is complete",
        "Invoice reminder: polite",
        "Invoice reminder: firm",
        "Invoice reminder: final",
    ):
        rule_set_enabled(by=admin, rule=Rule.objects.get(name=name), enabled=True)
    client = make_person(admin, "Grace", "Hopper", emails=["grace@example.com"])
    job = job_create(
        by=admin,
        party=client,
        data=JobIn(title="Boiler swap", quoted_price="850.00", scheduled_for=clock.now(), staff=[admin]),
    )
    for stage in ("scheduled", "in_progress", "quality_check", "complete"):
        job.refresh_from_db()
        target = job.stage_version.definition.stage(stage)
        job_move(by=admin, job=job, to=stage, checked=list(target.checklist) if target else [])
    sweep()
    run_worker()
    invoice = Invoice.objects.get(job=job)
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    (attachment,) = mail.iter_attachments()
    assert attachment.get_filename() == f"invoice-{invoice.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF")

    sign_in(page, live_server.url, "/billing/invoices/?status=issued")
    expect(page.locator("#invoices")).to_contain_text(invoice.number)
    page.get_by_role("link", name=invoice.number).click()
    expect(page.locator("#invoice-status")).to_have_text("Issued")
    expect(page.locator("#invoice-document")).to_contain_text("Boiler swap")
    expect(page.locator("#invoice-document")).to_contain_text("£1,020.00")
    shot(page, "invoice-issued")
    page.get_by_label("Amount").fill("1020.00")
    page.get_by_label("Reference").fill("BACS 1234")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator(".msg.success")).to_contain_text("£1,020.00 recorded: paid in full")
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    expect(page.locator("#payments")).to_contain_text("BACS 1234")
    shot(page, "invoice-paid")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.job.paid_at is not None
    # A month and more after the due date: the reminder rules find nothing to remind about.
    assert invoice.due_date is not None
    later = dt.datetime.combine(
        invoice.due_date + dt.timedelta(days=31), dt.time(12), tzinfo=clock.business_tz()
    )
    assert sweep(now=later).fired == 0
    run_worker()
    assert len(smtp_server.messages) == 1
