"""The rule lint: each finding on a constructed rule; errors stop a save, warnings do not."""

from __future__ import annotations

import datetime as dt

import pytest

from friday.automation.lint import lint_rule
from friday.automation.models import Rule
from friday.automation.services import RuleIn, rule_draft, rule_save
from friday.core.errors import ValidationFailed
from friday.messaging.services import TemplateIn, template_save
from tests.conftest import make_person


def _codes(cast, **kw):
    data = {
        "name": "r",
        "trigger": {"type": "no_contact", "days": 30},
        "actions": [{"type": "add_tag", "tag": "x"}],
    }
    data.update(kw)
    return {(f.severity, f.code) for f in lint_rule(rule_draft(RuleIn(**data), owner=cast.manager))}


def test_each_finding(cast, lifecycle):
    template_save(
        by=cast.manager,
        data=TemplateIn(
            key="t", name="T", subject="Hi {{ party.first_name }}", body_text="{{ record.title }}"
        ),
    )
    tag = {"filter": {"tags": ["vip"]}}
    assert ("error", "conditions.contradiction") in _codes(cast, conditions={"all": [tag, {"not": tag}]})
    assert ("warning", "trigger.never_filled") in _codes(
        cast, trigger={"type": "yearly", "field": "birthday"}
    )
    assert ("error", "trigger.unknown_stage") in _codes(
        cast, trigger={"type": "event", "event": "party.stage_entered", "stage": "nirvana"}
    )
    assert ("error", "action.unknown_stage") in _codes(
        cast, actions=[{"type": "move_stage", "to": "nirvana"}]
    )
    assert ("warning", "action.loop") in _codes(
        cast,
        trigger={"type": "event", "event": "party.updated"},
        actions=[{"type": "add_tag", "tag": "seen"}],
    )
    assert ("warning", "action.loop") not in _codes(
        cast,
        trigger={"type": "event", "event": "party.updated", "fields": ["owner"]},
        actions=[{"type": "add_tag", "tag": "seen"}],
    )
    assert ("error", "action.no_party") in _codes(
        cast,
        trigger={"type": "cron", "cron": "0 9 * * 1"},
        actions=[{"type": "send_message", "template": "t"}],
    )
    assert ("warning", "template.record_field") in _codes(
        cast, actions=[{"type": "send_message", "template": "t"}]
    )
    make_person(cast.alice, do_not_contact=True)
    assert ("warning", "conditions.do_not_contact") in _codes(
        cast, actions=[{"type": "send_message", "template": "t"}]
    )
    make_person(cast.alice, "Bo", birthday=dt.date(1990, 1, 1))
    clean = _codes(cast, trigger={"type": "yearly", "field": "birthday"})
    assert not clean


def test_errors_stop_a_save_warnings_do_not(cast, lifecycle):
    with pytest.raises(ValidationFailed) as exc:
        rule_save(
            by=cast.manager,
            data=RuleIn(
                name="Dead",
                trigger={"type": "no_contact", "days": 5},
                actions=[{"type": "move_stage", "to": "nirvana"}],
            ),
        )
    assert (
        exc.value.errors[0].field == "actions.0.to"
        and exc.value.errors[0].code == "lint.action.unknown_stage"
    )
    rule_save(
        by=cast.manager,
        data=RuleIn(
            name="Warned",
            trigger={"type": "yearly", "field": "birthday"},
            actions=[{"type": "add_tag", "tag": "b"}],
        ),
    )
    assert Rule.objects.filter(name="Warned").exists()
