"""Billing in automation: a completed job is invoiced by the starter rule through the real worker, the email with
the PDF reaches the SMTP server; the reminder rules fire on their days, once, and stop when the invoice is paid."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from friday.automation import starters
from friday.automation.models import ActionRun, Firing, Rule, RunStatus
from friday.automation.services import RuleIn, rule_save, rule_set_enabled, run_due, sweep
from friday.billing import services
from friday.billing.models import Invoice
from friday.core import clock
from friday.jobs.models import Job
from friday.jobs.services import JobIn, job_create, job_move
from friday.messaging.models import OutboundMessage
from friday.messaging.services import outbox_drain
from tests.billing.conftest import line


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


def walk_to_complete(job: Job, by) -> None:
    for stage in ("scheduled", "in_progress", "quality_check", "complete"):
        job.refresh_from_db()
        target = job.stage_version.definition.stage(stage)
        job_move(by=by, job=job, to=stage, checked=list(target.checklist) if target else [])


def enable(manager, *names: str) -> None:
    for name in names:
        rule_set_enabled(by=manager, rule=Rule.objects.get(name=name), enabled=True)


@pytest.mark.django_db(transaction=True)
def test_a_completed_job_is_invoiced_by_the_rule_and_the_pdf_is_emailed(
    cast, client_party, job_process, smtp_server, run_worker
):
    starters.install(by=cast.manager)
    enable(cast.manager, "Issue the invoice when a job is complete")
    job = job_create(
        by=cast.alice,
        party=client_party,
        data=JobIn(
            title="Boiler swap", quoted_price="1200.00", scheduled_for=clock.now(), staff=[cast.alice]
        ),
    )
    walk_to_complete(job, cast.alice)
    sweep()
    run_worker()  # the action run, then the outbox drain, as the real worker does them
    invoice = Invoice.objects.get(job=job)
    assert invoice.status == "issued" and invoice.total.to_eng_string() == "1440.00"
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"].addresses[0].addr_spec == "grace@example.com"
    assert invoice.number in mail["Subject"]
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"invoice-{invoice.number}.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == invoice.pdf.open("rb").read()
    # The rule again (a re-sweep, a second completion) does not invoice the job twice.
    sweep()
    run_worker()
    assert Invoice.objects.filter(job=job).count() == 1 and len(smtp_server.messages) == 1


def test_the_action_issues_a_jobs_existing_draft_instead_of_a_second_invoice(cast, client_party, job_process):
    rule = rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Invoice",
            trigger={"type": "event", "event": "job.completed"},
            actions=[{"type": "issue_invoice", "send": False}],
            enabled=True,
        ),
    )
    job = job_create(
        by=cast.alice,
        party=client_party,
        data=JobIn(title="Swap", quoted_price="10", scheduled_for=clock.now(), staff=[cast.alice]),
    )
    draft = services.invoice_create(
        by=cast.alice, party=client_party, job=job, data=services.InvoiceIn(lines=[line()])
    )
    walk_to_complete(job, cast.alice)
    sweep()
    run_due(worker_id="w")
    draft.refresh_from_db()
    assert draft.status == "issued" and Invoice.objects.filter(job=job).count() == 1
    assert Firing.objects.filter(rule=rule).count() == 1


def test_an_unpriced_job_gives_up_and_tells_the_rule_owner(cast, client_party, job_process):
    from friday.reminders.models import Reminder

    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Invoice",
            trigger={"type": "event", "event": "job.completed"},
            actions=[{"type": "issue_invoice"}],
            enabled=True,
        ),
    )
    job = job_create(
        by=cast.alice,
        party=client_party,
        data=JobIn(title="Swap", scheduled_for=clock.now(), staff=[cast.alice]),
    )
    walk_to_complete(job, cast.alice)
    sweep()
    run_due(worker_id="w")
    run = ActionRun.objects.get()
    assert run.status == RunStatus.DEAD and "no quoted price" in run.last_error
    assert Reminder.objects.filter(assignee=cast.manager).exists()
    assert not Invoice.objects.exists()


def test_reminders_fire_on_their_days_once_and_stop_when_paid(cast, client_party):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        starters.install(by=cast.manager)
        enable(cast.manager, "Invoice reminder: polite", "Invoice reminder: firm", "Invoice reminder: final")
        invoice = services.invoice_issue(
            by=cast.alice,
            invoice=services.invoice_create(
                by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()])
            ),
            send=False,
        )
    assert invoice.due_date == dt.date(2026, 4, 1)

    def sweep_at(*moment) -> list[str]:
        with time_machine.travel(at(*moment), tick=False):
            sweep()
            run_due(worker_id="w")
        return sorted(OutboundMessage.objects.values_list("subject", flat=True))

    assert sweep_at(2026, 4, 4, 8, 59) == []  # three days after, but before 9:00
    polite = f"A friendly reminder: invoice {invoice.number}"
    assert sweep_at(2026, 4, 4, 9, 1) == [polite]
    assert sweep_at(2026, 4, 10, 12, 0) == [polite]  # once
    firm = f"Overdue: invoice {invoice.number} (£120.00)"
    assert sweep_at(2026, 4, 15, 9, 0) == [polite, firm]
    with time_machine.travel(at(2026, 4, 16, 10, 0), tick=False):
        services.payment_record(
            by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="120.00", key="paid")
        )
    assert sweep_at(2026, 5, 1, 9, 30) == [polite, firm]  # paid: no final reminder
    assert Firing.objects.filter(rule__name="Invoice reminder: final").count() == 0


def test_a_reminder_queued_before_the_payment_is_skipped(cast, client_party):
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        starters.install(by=cast.manager)
        rule = Rule.objects.get(name="Invoice reminder: polite")
        rule.actions = [{**rule.actions[0], "delay_minutes": 60}]
        rule.save()
        enable(cast.manager, "Invoice reminder: polite")
        invoice = services.invoice_issue(
            by=cast.alice,
            invoice=services.invoice_create(
                by=cast.alice, party=client_party, data=services.InvoiceIn(lines=[line()])
            ),
            send=False,
        )
    with time_machine.travel(at(2026, 4, 4, 9, 5), tick=False):
        assert sweep().fired == 1
        services.payment_record(
            by=cast.alice, invoice=invoice, data=services.PaymentIn(amount="120", key="p")
        )
    with time_machine.travel(at(2026, 4, 4, 10, 30), tick=False):
        run_due(worker_id="w")
    run = ActionRun.objects.get()
    assert run.status == RunStatus.SKIPPED and "paid" in run.last_error
    assert not OutboundMessage.objects.exists()


def test_the_overdue_trigger_is_validated_by_path(cast):
    from friday.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="x",
                trigger={"type": "invoice_overdue", "days": -1, "at": "25:00", "hours": 3},
                actions=[{"type": "issue_invoice", "send": "yes"}],
            ),
        )
    fields = {e.field for e in refused.value.errors}
    assert {"trigger.days", "trigger.at", "trigger.hours", "actions.0.send"} <= fields


def test_outbox_drain_attaches_nothing_to_plain_messages(cast, client_party, smtp_server):
    from friday.messaging.services import message_queue

    message_queue(key="plain", party=client_party, subject="Hi", body_text="Hello")
    outbox_drain(worker_id="w")
    assert list(smtp_server.messages[0].iter_attachments()) == []
