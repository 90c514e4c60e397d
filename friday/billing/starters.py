"""Billing's starter message templates and rules, added to automation's starters (installed switched off):
issue the invoice when a job is complete, and a polite, a firm and a final reminder for an unpaid invoice
(3, 14 and 30 days after its due date — change the days in each rule)."""

from __future__ import annotations

from typing import Any

from friday.automation import starters
from friday.messaging.services import TemplateIn

SIGN_OFF = "\n\n{{ party.owner.first_name }}\n{{ business.name }}\n"
DETAILS = (
    "    Invoice {{ record.number }}\n    Total {{ record.total }}\n    Still due {{ record.balance }}\n"
    "    Due on {{ record.due_date_text }}\n\nThe invoice: {{ record.pdf_url }}"
)

TEMPLATES = [
    TemplateIn(
        key="invoice",
        name="Invoice",
        subject="Invoice {{ record.number }} from {{ business.name }}",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Please find attached invoice {{ record.number }} for {{ record.total }}, due on "
            "{{ record.due_date_text }}.\n\nYou can also download it here: {{ record.pdf_url }}\n\n"
            "Thank you for your business." + SIGN_OFF
        ),
        description="Sent with the PDF attached when an invoice is issued.",
    ),
    TemplateIn(
        key="invoice_reminder_polite",
        name="Invoice reminder: polite",
        subject="A friendly reminder: invoice {{ record.number }}",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Just a friendly reminder that this invoice was due on {{ record.due_date_text }}. If you have "
            "already paid, thank you, and please ignore this note.\n\n" + DETAILS + SIGN_OFF
        ),
        description="A few days after an invoice's due date.",
    ),
    TemplateIn(
        key="invoice_reminder_firm",
        name="Invoice reminder: firm",
        subject="Overdue: invoice {{ record.number }} ({{ record.balance }})",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Our records show that this invoice is now overdue. Please pay the balance of {{ record.balance }} "
            "within 7 days, or let us know if there is a problem with it.\n\n" + DETAILS + SIGN_OFF
        ),
        description="Two weeks after the due date.",
    ),
    TemplateIn(
        key="invoice_reminder_final",
        name="Invoice reminder: final",
        subject="Final reminder: invoice {{ record.number }} ({{ record.balance }})",
        body_text=(
            "Dear {{ party.first_name }},\n\n"
            "Despite our earlier reminders, {{ record.balance }} is still outstanding on this invoice. Please "
            "pay it within 7 days. If we do not hear from you, we will have to take further steps to recover "
            "it.\n\n" + DETAILS + SIGN_OFF
        ),
        description="A month after the due date: the last reminder before other steps.",
    ),
]


def _reminder(name: str, days: int, template: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "trigger": {"type": "invoice_overdue", "days": days, "at": "09:00"},
        "conditions": {},
        "actions": [{"type": "send_message", "template": template}],
    }


RULES: list[dict[str, Any]] = [
    {
        "name": "Issue the invoice when a job is complete",
        "description": "When a job enters its complete stage, invoice its quoted price and email the client "
        "the invoice with the PDF attached.",
        # The stage in the trigger (not a record condition), so the rule form shows it.
        "trigger": {"type": "event", "event": "job.stage_entered", "stage": "complete"},
        "conditions": {},
        "actions": [{"type": "issue_invoice", "send": True}],
    },
    _reminder(
        "Invoice reminder: polite",
        3,
        "invoice_reminder_polite",
        "Three days after an unpaid invoice's due date, a friendly reminder. Stops once it is paid.",
    ),
    _reminder(
        "Invoice reminder: firm",
        14,
        "invoice_reminder_firm",
        "Two weeks after the due date, a firmer reminder. Stops once it is paid.",
    ),
    _reminder(
        "Invoice reminder: final",
        30,
        "invoice_reminder_final",
        "A month after the due date, the final reminder. Stops once it is paid.",
    ),
]


def add() -> None:
    known_templates = {t.key for t in starters.TEMPLATES}
    starters.TEMPLATES.extend(t for t in TEMPLATES if t.key not in known_templates)
    known_rules = {r["name"] for r in starters.RULES}
    starters.RULES.extend(r for r in RULES if r["name"] not in known_rules)
