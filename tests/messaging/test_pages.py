"""Template and outbox pages; the worker drains the outbox to a real SMTP server."""

from __future__ import annotations

import pytest

from friday.messaging.models import MessageStatus, MessageTemplate, OutboundMessage
from friday.messaging.services import TemplateIn, message_queue, template_save
from tests.conftest import make_person

FORM = {
    "key": "check_in",
    "name": "Check-in",
    "subject": "How is everything, {{ party.first_name }}?",
    "body_text": "Hello {{ party.first_name }},\n{{ party.owner.name }} here from {{ business.name }}.",
    "body_html": "",
    "description": "",
}


def test_template_editor_checks_previews_and_saves(cast, web_for):
    manager = web_for(cast.manager)
    party = make_person(cast.manager, "Grace", "Hopper")
    page = manager.get("/messages/templates/new/").content.decode()
    assert "<code>party.first_name</code>" in page and "<code>party.custom.…</code>" in page
    bad = manager.post("/messages/templates/preview/", {**FORM, "subject": "Hi {{ party.frist_name }}"})
    assert (
        'id="problems"' in bad.content.decode()
        and "Did you mean &#x27;first_name&#x27;?" in bad.content.decode()
    )
    good = manager.post("/messages/templates/preview/", {**FORM, "party": f"Grace Hopper · #{party.pk}"})
    body = good.content.decode()
    assert (
        'id="rendered-subject">How is everything, Grace?' in body and "Manager here from Our business" in body
    )
    r = manager.post("/messages/templates/new/", {**FORM, "body_text": "{% for %}"})
    assert r.status_code == 422 and "not a valid template" in r.content.decode()
    assert not MessageTemplate.objects.exists()
    r = manager.post("/messages/templates/new/", FORM)
    template = MessageTemplate.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/messages/templates/{template.pk}/"
    assert web_for(cast.alice).get("/messages/templates/new/").status_code == 403
    assert "Check-in" in web_for(cast.alice).get("/messages/templates/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_outbox_page_worker_and_scoping(cast, web_for, smtp_server, run_worker):
    template = template_save(
        by=cast.manager,
        data=TemplateIn(key="hello", name="Hello", subject="Hello {{ party.first_name }}", body_text="Hi."),
    )
    ada = make_person(cast.alice, emails=["ada@example.com"])
    message = message_queue(key="hello:ada", party=ada, template=template)
    assert smtp_server.messages == []  # nothing is sent by the change itself
    run_worker()  # its commit asked a worker to drain the outbox
    assert [m["Subject"] for m in smtp_server.messages] == ["Hello Ada"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    page = web_for(cast.alice).get("/messages/outbox/").content.decode()
    assert f'data-message="{message.pk}" data-status="sent"' in page and 'id="no-mail-server"' not in page
    assert web_for(cast.bob).get(f"/messages/outbox/{message.pk}/").status_code == 404  # not Bob's party
    assert f'data-message="{message.pk}"' not in web_for(cast.bob).get("/messages/outbox/").content.decode()
    detail = web_for(cast.alice).get(f"/messages/outbox/{message.pk}/").content.decode()
    assert message.message_id.replace("<", "&lt;").replace(">", "&gt;") in detail
    assert web_for(cast.alice).get("/messages/outbox/?status=lost").status_code == 400


def test_without_a_mail_server_the_outbox_says_so(cast, web_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = web_for(cast.manager).get("/messages/outbox/").content.decode()
    assert 'id="no-mail-server"' in page and "FRIDAY_EMAIL_URL" in page
    assert OutboundMessage.objects.count() == 0
