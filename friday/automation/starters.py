"""Starter rules for a service business, with their message templates. Installed switched off: look at what
each would do ("See what it would do") before switching it on. Installing twice adds nothing twice."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from friday.accounts.models import User
from friday.automation.models import Rule
from friday.automation.services import RuleIn, require_rule_editor, rule_save
from friday.messaging.models import MessageTemplate
from friday.messaging.services import TemplateIn, template_save
from friday.processes.models import Segment
from friday.processes.segments import segment_save

TEMPLATES = [
    TemplateIn(
        key="birthday",
        name="Birthday",
        subject="Happy birthday, {{ party.first_name }}!",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Everyone at {{ business.name }} wishes you a very happy birthday.\n\n"
            "{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="Sent on a customer's birthday (needs their email consent).",
        marketing=True,
    ),
    TemplateIn(
        key="customer_anniversary",
        name="Customer anniversary",
        subject="{{ record.years }} year{{ '' if record.years == 1 else 's' }} with {{ business.name }} — thank you",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "It is {{ record.years }} year{{ '' if record.years == 1 else 's' }} since you first chose "
            "{{ business.name }}. Thank you for your trust.\n\n"
            "{{ party.owner.first_name }}\n"
        ),
        description="Sent each year on the day someone became a customer (needs their email consent).",
        marketing=True,
    ),
    TemplateIn(
        key="check_in",
        name="Check-in",
        subject="How is everything, {{ party.first_name }}?",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "It has been a while since we last spoke. Is everything still working well? If there is anything we "
            "can help with, just reply to this email or call us{% if business.phone %} on {{ business.phone }}"
            "{% endif %}.\n\n{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="A friendly note after a long silence.",
        marketing=False,
    ),
    TemplateIn(
        key="job_update",
        name="Job update",
        subject="Your job: {{ record.title }} — {{ record.stage_name }}",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "A quick note to say where your job stands: {{ record.title }} is now at “{{ record.stage_name }}”.\n\n"
            "If you have any questions, just reply to this email.\n\n{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="Tells a client their job moved on (sent on the job stages the rule chooses).",
        marketing=False,
    ),
    TemplateIn(
        key="service_due",
        name="Service due",
        subject="Your {{ record.plan }} is due on {{ record.due }}",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Your {{ record.plan }}{% if record.asset %} for your {{ record.asset }}"
            "{% if record.serial_number %} (serial {{ record.serial_number }}){% endif %}{% endif %} "
            "is due on {{ record.due }}. Reply to this email or call us"
            "{% if business.phone %} on {{ business.phone }}{% endif %} and we will book a time that suits you.\n\n"
            "{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="Tells a client their next service is due, so they can book it.",
        marketing=False,
    ),
    TemplateIn(
        key="loyalty_offer",
        name="Loyalty offer",
        subject="A thank-you for a loyal customer, {{ party.first_name }}",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "You have trusted {{ business.name }} with your work again and again — thank you. As a thank-you, "
            "your next job with us comes with 10% off: just mention this email when you book.\n\n"
            "{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="Sent to loyal customers at most once a year (needs their marketing consent). Edit the offer.",
        marketing=True,
    ),
    TemplateIn(
        key="supplier_chase",
        name="Supplier chase",
        subject="{% if record.round %}Reminder: {% endif %}{{ record.title }}",
        body_text=(
            "Hello {{ party.first_name }},\n\n"
            "{% if record.round %}We are still waiting for this — could you let us know when to expect it?"
            "{% else %}Could you let us know where this stands?{% endif %}\n\n"
            "    {{ record.title }}\n\nThank you,\n{{ business.name }}\n"
        ),
        description="Chases a supplier for what a reminder waits on; sent again until the reminder is done.",
        marketing=False,
    ),
    TemplateIn(
        key="feedback_request",
        name="Feedback request",
        subject="How did we do, {{ party.first_name }}?",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Thank you for choosing {{ business.name }}"
            "{% if record.title|default('') %} for “{{ record.title }}”{% endif %}. "
            "Would you tell us how we did? It takes a few seconds:\n\n"
            "    {{ links.feedback }}\n\n"
            "The link works once{% if record.valid_days|default('') %}, for {{ record.valid_days }} days{% endif %}.\n\n"
            "{{ party.owner.first_name }}\n{{ business.name }}\n"
        ),
        description="Asks for a score (and a comment) with a link that works once; sent by “Request feedback”.",
        marketing=False,
    ),
]

CUSTOMERS = {"all": [{"filter": {"roles": ["customer"]}}]}
# The starter segment of loyal customers (editable on the Segments page); rules name it by this placeholder,
# replaced with its id when installed.
LOYAL_SEGMENT: dict[str, Any] = {
    "name": "Loyal customers",
    "description": "Customers with three or more paid jobs in the last 24 months.",
    "filters": {"roles": ["customer"], "paid_jobs": {"at_least": 3, "months": 24}},
}
LOYAL = "segment:loyal"
# Starter segments by the placeholder rules use for them ({"conditions": "segment:loyal"}); apps add theirs.
SEGMENTS: dict[str, dict[str, Any]] = {LOYAL: LOYAL_SEGMENT}

RULES: list[dict[str, Any]] = [
    {
        "name": "Birthday email",
        "description": "On a customer's birthday at 9:00, send the birthday message.",
        "trigger": {"type": "yearly", "field": "birthday", "at": "09:00"},
        "conditions": CUSTOMERS,
        "actions": [{"type": "send_message", "template": "birthday"}],
    },
    {
        "name": "Customer anniversary email",
        "description": "Each year on the day someone became a customer, thank them.",
        "trigger": {"type": "yearly", "field": "customer_since", "at": "10:00"},
        "conditions": CUSTOMERS,
        "actions": [{"type": "send_message", "template": "customer_anniversary"}],
    },
    {
        "name": "Check in after 60 days without contact",
        "description": "When nobody has called, met or emailed a customer for 60 days, remind their owner.",
        "trigger": {"type": "no_contact", "days": 60},
        "conditions": CUSTOMERS,
        "actions": [
            {
                "type": "create_reminder",
                "title": "Check in with {party}",
                "for": "owner",
                "due_in_minutes": 1440,
            }
        ],
    },
    {
        "name": "Check-in email after 60 days without contact",
        "description": "The optional email to go with the check-in reminder.",
        "trigger": {"type": "no_contact", "days": 60},
        "conditions": CUSTOMERS,
        "actions": [{"type": "send_message", "template": "check_in"}],
    },
    {
        "name": "Tell the client when their job moves",
        "description": "When a job is scheduled, started or completed, email the client where it stands.",
        "trigger": {"type": "event", "event": "job.stage_entered"},
        "conditions": {
            "record": {"field": "stage", "op": "in", "value": ["scheduled", "in_progress", "complete"]}
        },
        "actions": [{"type": "send_message", "template": "job_update"}],
    },
    {
        "name": "Service due in 14 days",
        "description": "Fourteen days before a service plan is due, email the client and remind their owner "
        "to book the visit.",
        "trigger": {"type": "service_due", "days_before": 14, "at": "09:00"},
        "conditions": {},
        "actions": [
            {"type": "send_message", "template": "service_due"},
            {
                "type": "create_reminder",
                "title": "Book the service for {party}",
                "for": "owner",
                "due_in_minutes": 1440,
            },
        ],
    },
    {
        "name": "Loyalty offer, once a year",
        "description": "On the first of each month, send the loyalty offer to loyal customers who have not had "
        "it this year.",
        "trigger": {"type": "campaign", "cron": "0 10 1 * *", "period": "year"},
        "conditions": LOYAL,
        "actions": [{"type": "send_message", "template": "loyalty_offer"}],
    },
    {
        "name": "Chase suppliers every 3 days",
        "description": "When a reminder that chases a supplier is due, email the supplier; again every 3 days "
        "until the reminder is done.",
        "trigger": {"type": "chase", "every_days": 3},
        "conditions": {},
        "actions": [{"type": "send_message", "template": "supplier_chase", "to": "chased"}],
    },
    {
        "name": "Ask for feedback 3 days after a job is complete",
        "description": "Three days after a job is complete, email the client a link to score it (NPS).",
        "trigger": {"type": "event", "event": "job.completed"},
        "conditions": {},
        "actions": [{"type": "request_feedback", "survey": "nps", "delay_minutes": 3 * 24 * 60}],
    },
    {
        "name": "Tell the owner about a detractor",
        "description": "When someone answers NPS with 0–6, remind the party's owner to call them the same day.",
        "trigger": {"type": "event", "event": "feedback.received"},
        "conditions": {"record": {"field": "nps_category", "op": "eq", "value": "detractor"}},
        "actions": [
            {
                "type": "create_reminder",
                "title": "Call {party}: they gave NPS {score}",
                "for": "owner",
                "due_in_minutes": 240,
                "notes": "Their comment: {comment}",
            }
        ],
    },
    {
        "name": "Escalate reminders overdue by three days",
        "description": "The next level: three days overdue, tell the admins.",
        "trigger": {"type": "reminder_overdue", "hours": 72},
        "conditions": {},
        "actions": [
            {"type": "create_reminder", "title": "Overdue for three days: {party}", "for": "role:admin"}
        ],
    },
    {
        "name": "Escalate reminders overdue by a day",
        "description": "When a reminder is 24 hours overdue, tell the managers.",
        "trigger": {"type": "reminder_overdue", "hours": 24},
        "conditions": {},
        "actions": [
            {"type": "create_reminder", "title": "Overdue for a day: {party}", "for": "role:manager"}
        ],
    },
]


@transaction.atomic
def install(*, by: User) -> tuple[int, int]:
    """Add the starter templates and rules that are not there yet (by key, by name), all switched off.
    Returns (templates added, rules added)."""
    require_rule_editor(by)
    from friday.feedback.services import survey_defaults_install

    survey_defaults_install()  # the feedback starters ask with the default surveys
    templates = 0
    for template in TEMPLATES:
        if not MessageTemplate.objects.filter(key=template.key).exists():
            template_save(by=by, data=template)
            templates += 1
    rules = 0
    existing = set(Rule.objects.values_list("name", flat=True))
    for data in RULES:
        if data["name"] not in existing:
            if isinstance(data["conditions"], str) and data["conditions"] in SEGMENTS:
                data = {**data, "conditions": {"segment": _segment(by, SEGMENTS[data["conditions"]]).pk}}
            rule_save(by=by, data=RuleIn(enabled=False, **data))
            rules += 1
    return templates, rules


def _segment(by: User, definition: dict[str, Any]) -> Segment:
    """A starter segment: the one of that name if there is one (edited or not), else a new one."""
    segment = Segment.objects.filter(name__iexact=definition["name"]).first()
    if segment is None:
        segment = segment_save(
            by=by,
            shared=True,
            name=str(definition["name"]),
            description=str(definition["description"]),
            filters=definition["filters"],
        )
    return segment
