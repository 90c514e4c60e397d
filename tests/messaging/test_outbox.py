"""The outbox through a real SMTP server on loopback: once per key, skipped with a reason, retried with backoff,
failed for good on a permanent refusal, kept when no mail server is set, re-sent with the same Message-ID when
a sender died after claiming, nothing sent for a transaction that rolled back."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from friday.core import clock
from friday.core.errors import FridayError, PermissionDenied, ValidationFailed
from friday.messaging import services
from friday.messaging.models import MessageStatus, OutboundMessage
from friday.messaging.services import TemplateIn, message_queue, outbox_drain, template_save
from friday.parties.models import Activity
from tests.conftest import make_person

BIRTHDAY = TemplateIn(
    key="birthday",
    name="Birthday",
    subject="Happy birthday, {{ party.first_name }}!",
    body_text="Dear {{ party.first_name }},\n\nAll the best from {{ business.name }}.\n",
    body_html="<p>Dear {{ party.first_name }},</p><p>All the best from {{ business.name }}.</p>",
    marketing=True,
)


@pytest.fixture
def birthday(cast):
    return template_save(by=cast.manager, data=BIRTHDAY)


def _ada(cast, **kw):
    kw.setdefault("emails", ["ada@example.com"])
    kw.setdefault("email_consent", True)
    return make_person(cast.alice, **kw)


def test_template_save_refuses_what_would_not_render(cast):
    bad = TemplateIn(key="Bad Key!", name="x", subject="Hi {{ party.frist_name }}", body_text="{% if %}")
    with pytest.raises(ValidationFailed) as exc:
        template_save(by=cast.manager, data=bad)
    assert {e.field for e in exc.value.errors} == {"key"}  # the shape first
    bad.key = "hi"
    with pytest.raises(ValidationFailed) as exc:
        template_save(by=cast.manager, data=bad)
    details = {e.field: e.detail for e in exc.value.errors}
    assert details["subject"] == "line 1: party.frist_name is not available. Did you mean 'first_name'?"
    assert details["body_text"].startswith("line 1: not a valid template")
    with pytest.raises(PermissionDenied):
        template_save(by=cast.alice, data=BIRTHDAY)


def test_a_message_is_sent_once_with_its_message_id_and_lands_on_the_timeline(cast, birthday, smtp_server):
    ada = _ada(cast)
    first = message_queue(key="birthday:ada:2026", party=ada, template=birthday)
    again = message_queue(key="birthday:ada:2026", party=ada, template=birthday)
    assert first.pk == again.pk and first.status == MessageStatus.QUEUED
    assert first.subject == "Happy birthday, Ada!"
    result = outbox_drain(worker_id="w1")
    assert result.sent == 1 and outbox_drain(worker_id="w1").sent == 0
    (mail,) = smtp_server.messages
    assert mail["Message-ID"] == first.message_id == services.message_id_for("birthday:ada:2026")
    assert mail["To"] == "Ada Lovelace <ada@example.com>" and mail["Subject"] == "Happy birthday, Ada!"
    assert mail.get_body(("plain",)).get_content().startswith("Dear Ada,")
    assert "<p>Dear Ada,</p>" in mail.get_body(("html",)).get_content()
    first.refresh_from_db()
    assert first.status == MessageStatus.SENT and first.sent_at and first.attempts == 1
    entry = Activity.objects.get(party=ada, event="message.sent")
    assert entry.kind == "email_out" and entry.subject == "Happy birthday, Ada!" and "Dear Ada" in entry.body


def test_skipped_with_the_reason(cast, birthday, smtp_server):
    no_consent = _ada(cast, email_consent=False)
    blocked = make_person(
        cast.alice, "Bo", emails=["bo@example.com"], email_consent=True, do_not_contact=True
    )
    no_email = make_person(cast.alice, "Cy", email_consent=True)
    reasons = {
        p.given_name: message_queue(key=f"b:{p.pk}", party=p, template=birthday).reason
        for p in (no_consent, blocked, no_email)
    }
    assert reasons == {
        "Ada": "No email consent, and this is a marketing message.",
        "Bo": "The party is marked do-not-contact.",
        "Cy": "The party has no email address.",
    }
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {MessageStatus.SKIPPED}
    assert outbox_drain(worker_id="w").sent == 0 and smtp_server.messages == []
    assert Activity.objects.filter(party=blocked, event="message.skipped").exists()
    # A service message (not marketing) needs no consent.
    service = message_queue(key="job:1", party=no_consent, subject="Your job is booked", body_text="See you.")
    assert service.status == MessageStatus.QUEUED


def test_a_template_that_fails_to_render_is_recorded_not_lost(cast, smtp_server):
    ada = _ada(cast)
    message = message_queue(key="x", party=ada, subject="Hi", body_text="{{ record.missing }}")
    assert message.status == MessageStatus.FAILED and message.reason.startswith("body_text: ")


def test_a_rolled_back_change_sends_nothing(cast, birthday, smtp_server):
    ada = _ada(cast)
    with pytest.raises(RuntimeError), transaction.atomic():
        message_queue(key="gone", party=ada, template=birthday)
        raise RuntimeError("the change failed")
    assert not OutboundMessage.objects.exists()
    assert outbox_drain(worker_id="w").sent == 0 and smtp_server.messages == []


def test_transient_failures_back_off_then_permanent_failure_stops(cast, birthday, smtp_server):
    ada = _ada(cast)
    message = message_queue(key="k", party=ada, template=birthday)
    smtp_server.reply = "451 4.3.0 Try again later"
    assert outbox_drain(worker_id="w").retried == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and "451" in message.reason
    assert message.next_attempt_at > clock.now() + dt.timedelta(seconds=50)
    assert outbox_drain(worker_id="w").retried == 0  # not due yet
    smtp_server.reply = "550 5.1.1 No such user"
    with time_machine.travel(clock.now() + dt.timedelta(minutes=2)):
        assert outbox_drain(worker_id="w").failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "550" in message.reason and message.attempts == 2
    smtp_server.reply = None
    services.message_retry(by=cast.manager, message=message)
    assert outbox_drain(worker_id="w").sent == 1 and len(smtp_server.messages) == 1


def test_a_claim_left_by_a_dead_sender_expires_and_the_resend_keeps_the_message_id(
    cast, birthday, smtp_server
):
    ada = _ada(cast)
    message = message_queue(key="k2", party=ada, template=birthday)
    assert services._claim(message.pk, "dead-worker")  # it claimed, and died before recording anything
    assert outbox_drain(worker_id="w2").sent == 0  # the lease still holds: nobody else sends it
    with time_machine.travel(clock.now() + services.LEASE + dt.timedelta(seconds=1)):
        assert outbox_drain(worker_id="w2").sent == 1
    message.refresh_from_db()
    assert message.attempts == 2 and smtp_server.messages[0]["Message-ID"] == message.message_id


def test_without_a_mail_server_messages_are_kept(cast, birthday, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    ada = _ada(cast)
    message = message_queue(key="k3", party=ada, template=birthday)
    assert outbox_drain(worker_id="w").held == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.HELD and "FRIDAY_EMAIL_URL" in message.reason
    assert services.outbox_release_held(by=cast.manager) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_two_senders_draining_at_once_send_each_message_once(cast, smtp_server):
    import threading

    from django.db import connection

    ada = _ada(cast)
    for i in range(60):
        message_queue(key=f"pair:{i}", party=ada, subject=f"M{i}", body_text="x")
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def drain(name: str) -> None:
        try:
            barrier.wait()
            sent.append(outbox_drain(worker_id=name, batch=10).sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert sum(sent) == 60 and len(ids) == 60 and len(set(ids)) == 60


def test_mail_to_a_colleague_carries_only_the_headers_friday_allows(cast, smtp_server):
    from friday.messaging.services import message_queue_to

    for headers in ({"Bcc": "spy@example.com"}, {"List-Unsubscribe": "<https://x>\r\nBcc: spy@example.com"}):
        with pytest.raises(FridayError) as refused:
            message_queue_to(
                key="c:1",
                to_email="alice@staff.example.com",
                to_name="Alice",
                subject="S",
                body_text="B",
                headers=headers,
            )
        assert refused.value.code == "invalid.header"
    nobody = message_queue_to(key="c:2", to_email="", to_name="Olga", subject="S", body_text="B")
    assert (nobody.status, nobody.reason) == (MessageStatus.SKIPPED, "No email address.")
    sent = message_queue_to(
        key="c:3",
        to_email="alice@staff.example.com",
        to_name="Alice",
        subject="Hello",
        body_text="B",
        headers={"List-Unsubscribe": "<https://friday.example.com/u/1/>"},
    )
    assert (
        message_queue_to(key="c:3", to_email="x@example.com", to_name="X", subject="Y", body_text="Z") == sent
    )
    assert outbox_drain(worker_id="w").sent == 1
    (mail,) = smtp_server.messages
    assert mail["To"] == "Alice <alice@staff.example.com>" and mail["Message-ID"] == sent.message_id
    assert mail["List-Unsubscribe"].strip() == "<https://friday.example.com/u/1/>" and mail["Bcc"] is None
