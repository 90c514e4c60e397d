"""What a new user's trial found, each pinned by a test."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from friday.automation import starters
from friday.automation.forms import initial_from
from friday.automation.models import ActionRun, Rule, RunStatus
from friday.automation.services import RuleIn, rule_save, run_due, sweep
from friday.core import clock
from friday.core.errors import FridayError, ValidationFailed
from friday.messaging import rendering
from friday.messaging.models import MessageStatus, MessageTemplate, OutboundMessage
from friday.messaging.services import TemplateIn, message_retry, template_save
from friday.reminders.models import Reminder
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_org, make_person


def test_a_starter_rule_saved_from_its_form_keeps_what_it_does(cast, web_for):
    starters.install(by=cast.manager)
    chase = Rule.objects.get(name="Chase suppliers every 3 days")
    initial, advanced = initial_from(chase)
    assert not advanced and initial["act_0_to_whom"] == "chased"
    birthday = Rule.objects.get(name="Birthday email")
    initial, advanced = initial_from(birthday)
    assert not advanced and initial["cond_0"] == "role" and initial["cond_0_role"] == "customer"
    page = web_for(cast.manager).get(f"/automation/{chase.pk}/").content.decode()
    assert 'name="act_0_to_whom"' in page and 'value="chased" selected' in page
    jobs = Rule.objects.get(name="Tell the client when their job moves")
    page = web_for(cast.manager).get(f"/automation/{jobs.pk}/").content.decode()
    assert 'value="job.stage_entered" selected' in page


def test_a_template_that_can_never_render_is_refused_when_saved(cast):
    assert any(
        "'__class__' is not allowed" in str(p) for p in rendering.check({"body_text": "{{ ''.__class__ }}"})
    )
    with pytest.raises(ValidationFailed):
        template_save(
            by=cast.manager,
            data=TemplateIn(key="bad", name="Bad", subject="Hi", body_text="{{ ''.__class__ }}"),
        )
    assert rendering.render("You are {{ party.age }}.", {"party": {"age": None}}) == "You are ."
    assert (
        rendering.render("Dear {{ party.first_name or 'friend' }}", {"party": {"first_name": ""}})
        == "Dear friend"
    )


def test_a_message_that_cannot_be_written_fails_its_run_and_a_retry_does_not_send_it_empty(cast):
    MessageTemplate.objects.create(
        key="broken",
        name="Broken",
        subject="Hi",
        body_text="{{ record.missing }}",
        created_at=clock.now(),
        updated_at=clock.now(),
    )  # as if saved before the check existed
    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Welcome",
            trigger={"type": "event", "event": "party.created"},
            actions=[{"type": "send_message", "template": "broken"}],
            enabled=True,
        ),
    )
    make_person(cast.alice, emails=["ada@example.com"])
    sweep()
    run_due(worker_id="w")
    run = ActionRun.objects.get()
    assert run.status == RunStatus.DEAD and "could not be written" in run.last_error
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.FAILED and message.body_text == ""  # kept, saying why
    assert Reminder.objects.filter(key=f"dead:{run.pk}", assignee=cast.manager).exists()
    with pytest.raises(FridayError) as exc:
        message_retry(by=cast.manager, message=message)
    assert "still does not render" in exc.value.detail
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    # Fixed to use a detail the event does give: the retry writes it with the details it was first given.
    MessageTemplate.objects.filter(key="broken").update(body_text="Welcome ({{ record.event }})")
    message_retry(by=cast.manager, message=message)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.body_text == "Welcome (party.created)"
    assert message.render_context == {}


def test_reminders_for_one_or_the_other_and_the_chased_party_sees_them(cast, web_for):
    with pytest.raises(ValidationFailed) as exc:
        reminder_create(
            by=cast.alice,
            data=ReminderIn(title="x", due_at=clock.now(), assignee=cast.alice, assignee_role="member"),
        )
    assert exc.value.errors[0].field == "assignee_role"
    supplier = make_org(cast.alice, "Parts Ltd")
    reminder_create(by=cast.alice, data=ReminderIn(title="Valve", due_at=clock.now(), chase=supplier))
    page = web_for(cast.alice).get(f"/parties/{supplier.pk}/").content.decode()
    assert "Valve" in page


def test_importing_an_edited_rule_changes_it(cast, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "name: Tag\nenabled: false\ntrigger: {type: no_contact, days: 30}\nactions: [{type: add_tag, tag: a}]\n"
    )
    call_command("automation", "import", str(path), stdout=io.StringIO())
    path.write_text(
        "name: Tag\nenabled: false\ntrigger: {type: no_contact, days: 45}\nactions: [{type: add_tag, tag: a}]\n"
    )
    out = io.StringIO()
    call_command("automation", "import", str(path), stdout=out)
    assert "changed" in out.getvalue()
    assert Rule.objects.count() == 1 and Rule.objects.get().trigger["days"] == 45


def test_the_lint_accepts_record_details_with_a_fallback(cast):
    from friday.automation.lint import lint_rule
    from friday.automation.services import rule_draft

    template_save(
        by=cast.manager,
        data=TemplateIn(
            key="t", name="T", subject="Hi", body_text="{{ record.title|default('') }}{{ record.x or '' }}"
        ),
    )
    rule = rule_draft(
        RuleIn(
            name="r",
            trigger={"type": "no_contact", "days": 9},
            actions=[{"type": "send_message", "template": "t"}],
        ),
        owner=cast.manager,
    )
    assert not [f for f in lint_rule(rule) if f.code == "template.record_field"]


def test_a_webhook_to_a_private_address_is_warned_about_and_yaml_times_explained(cast):
    from friday.automation.lint import lint_rule
    from friday.automation.services import rule_draft

    rule = rule_draft(
        RuleIn(
            name="r",
            trigger={"type": "no_contact", "days": 9},
            actions=[{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        ),
        owner=cast.manager,
    )
    assert any(f.code == "action.webhook_refused" for f in lint_rule(rule))
    with pytest.raises(ValidationFailed) as exc:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="r",
                trigger={"type": "yearly", "field": "birthday", "at": 630},
                actions=[{"type": "add_tag", "tag": "b"}],
            ),
        )
    assert "quote it" in exc.value.errors[0].detail


def test_ids_that_cannot_exist_are_refused_by_path_not_by_the_database(cast):
    huge = 10**20
    with pytest.raises(ValidationFailed) as exc:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="r",
                trigger={"type": "no_contact", "days": 9},
                conditions={"segment": huge},
                actions=[{"type": "add_tag", "tag": "a"}],
            ),
        )
    assert exc.value.errors[0].field == "conditions.segment"
    with pytest.raises(ValidationFailed) as exc:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="r",
                trigger={"type": "no_contact", "days": 9},
                actions=[{"type": "create_reminder", "title": "x", "for": f"user:{huge}"}],
            ),
        )
    assert exc.value.errors[0].field == "actions.0.for"
