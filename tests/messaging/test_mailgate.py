"""The mail gateway through real SMTP: real-world messages (multipart/alternative, attachments, RFC 2047
headers, HTML only, a reply) filed on the right timelines; a mail received twice filed once; a stranger's mail
kept to file by hand; nothing rejected silently."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from friday.messaging.inbound import file_message, html_to_text
from friday.messaging.management.commands.mailgate import Handler
from friday.messaging.models import InboundMessage, InboundStatus
from friday.parties.models import Activity
from tests.conftest import make_person


@pytest.fixture
def gateway(transactional_db, settings, tmp_path):
    from aiosmtpd.controller import Controller

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)

    try:
        yield send
    finally:
        controller.stop()


def _mail(sender: str, to: str, subject: str, **headers) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Message-ID"] = headers.pop("message_id", make_msgid(domain="example.com"))
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    return m


def test_real_world_messages_are_filed_on_the_right_timelines(cast, gateway):
    ada = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    bo = make_person(cast.alice, "Bo", "Brown", emails=["bo@example.com"])
    # From a customer: multipart/alternative with an attachment and an encoded (RFC 2047) subject.
    m = _mail("Ada Lovelace <ADA@example.com>", "inbox@friday.example", "Angebot für Kessel – Größe?")
    m.set_content("Hello,\nplease quote for the boiler.\n")
    m.add_alternative("<p>Hello,<br>please quote for the <b>boiler</b>.</p>", subtype="html")
    m.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="plan.pdf")
    raw = m.as_bytes()
    assert b"=?utf-8?" in raw  # the subject travels encoded
    gateway(m)
    row = InboundMessage.objects.get(subject="Angebot für Kessel – Größe?")
    assert row.status == InboundStatus.FILED and list(row.parties.all()) == [ada]
    entry = Activity.objects.get(party=ada, event="mail.received")
    assert entry.kind == "email_in" and entry.body.startswith("Hello,\nplease quote")
    (attachment,) = row.attachments.all()
    assert attachment.filename == "plan.pdf" and attachment.size == 13
    # A colleague's own mail, BCC'd: sent, on both customers' timelines; HTML only.
    staff = _mail(
        "Alice <alice@staff.example.com>",
        "ada@example.com",
        "Your quote",
        Cc="bo@example.com",
        In_Reply_To=row.message_id,
    )
    staff.set_content(
        "<html><head><style>p{}</style></head><body><p>Quote attached.</p><p>Alice</p></body></html>",
        subtype="html",
    )
    gateway(staff)
    reply = InboundMessage.objects.get(subject="Your quote")
    assert reply.thread == row and reply.body_text == "Quote attached.\n\nAlice"
    assert Activity.objects.filter(party=ada, event="mail.sent", kind="email_out").count() == 1
    assert Activity.objects.filter(party=bo, event="mail.sent").count() == 1
    # The same mail delivered again: filed once.
    gateway(m)
    assert InboundMessage.objects.filter(message_id=row.message_id).count() == 1
    assert Activity.objects.filter(party=ada, event="mail.received").count() == 1


def test_a_stranger_is_kept_to_file_by_hand_and_nothing_unreadable_is_lost(cast, gateway, web_for):
    m = _mail("Someone <who@elsewhere.example>", "inbox@friday.example", "Do you do repairs?")
    m.set_content("Hi")
    gateway(m)
    row = InboundMessage.objects.get()
    assert row.status == InboundStatus.UNMATCHED and not row.parties.exists()
    manager = web_for(cast.manager)
    page = manager.get("/messages/mail/").content.decode()
    assert f'data-mail="{row.pk}"' in page
    assert web_for(cast.bob).get(f"/messages/mail/{row.pk}/").status_code == 404  # not his
    party = make_person(cast.manager, "Wendy", "Who")
    r = manager.post(f"/messages/mail/{row.pk}/", {"party": f"Wendy Who · #{party.pk}"})
    assert r.status_code == 302
    row.refresh_from_db()
    assert row.status == InboundStatus.FILED
    assert (
        Activity.objects.get(party=party, event="mail.received").kind == "email_in"
    )  # a stranger, about them
    r = manager.post(f"/messages/mail/{row.pk}/", {"party": "Wendy"})
    assert r.status_code == 422 and "Pick the party" in r.content.decode()
    # Bytes that are not a mail at all are kept, raw, with the reason — never dropped.
    broken = file_message(b"\xff\xfe not a mail \x00")
    assert broken.status in (InboundStatus.UNMATCHED, InboundStatus.ERROR) and broken.raw.name


def test_html_to_text():
    assert html_to_text("<script>x()</script><p>One &amp; two</p><br>three") == "One & two\nthree"
