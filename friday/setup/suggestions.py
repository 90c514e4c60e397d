""" "Grow into it": the next capability is suggested only once the one before it is in use.

Each suggestion is a rule over real data (docs/setup.md has the table). They are shown to admins and managers (who
can act on them), at most two at a time, in this order, and each can be put away for good per user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from friday.accounts.models import User

MAX_SHOWN = 2


@dataclass(frozen=True)
class Suggestion:
    key: str
    title: str
    text: str
    url_name: str
    applies: Callable[[], bool]

    @property
    def dismiss_key(self) -> str:
        return f"suggest:{self.key}"

    def href(self) -> str:
        return reverse(self.url_name)


def _enabled_action_types() -> set[str]:
    from friday.automation.models import Rule

    return {
        action.get("type", "")
        for actions in Rule.objects.filter(enabled=True).values_list("actions", flat=True)
        for action in (actions or [])
        if isinstance(action, dict)
    }


def jobs_completed_without_invoice_rule() -> bool:
    from friday.jobs.models import Job

    return (
        Job.objects.filter(completed_at__isnull=False).exists()
        and "issue_invoice" not in _enabled_action_types()
    )


def invoices_paid_without_feedback() -> bool:
    from friday.billing.models import Invoice, InvoiceStatus

    return (
        Invoice.objects.filter(status=InvoiceStatus.PAID).exists()
        and "request_feedback" not in _enabled_action_types()
    )


def import_without_duplicate_scan() -> bool:
    """An import finished after the last finished duplicate scan (or there was never a scan)."""
    from friday.duplicates.models import DuplicateScan
    from friday.imports.models import ImportJob, ImportStatus

    last_import = (
        ImportJob.objects.filter(status=ImportStatus.DONE, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last_import is None:
        return False
    return not DuplicateScan.objects.filter(finished_at__gte=last_import).exists()


def three_users() -> bool:
    return User.objects.filter(is_active=True).count() >= 3


SUGGESTIONS = [
    Suggestion(
        "invoice_rules",
        "Invoice jobs as they are completed",
        "Jobs are being completed. A rule can issue the invoice the moment a job is done — see what it would do "
        "before switching it on.",
        "automation:rules",
        jobs_completed_without_invoice_rule,
    ),
    Suggestion(
        "feedback",
        "Ask how you did",
        "Invoices are being paid. Ask those customers for a score (NPS) a few days after the job, and hear about "
        "an unhappy one the same day.",
        "feedback:report",
        invoices_paid_without_feedback,
    ),
    Suggestion(
        "duplicates",
        "Look for duplicates after your import",
        "An import brought people in since the last duplicate scan. Scan for people entered twice and merge them.",
        "duplicates:list",
        import_without_duplicate_scan,
    ),
    Suggestion(
        "adoption",
        "See how the team uses Friday",
        "Three or more people sign in now. The adoption page shows who uses which part, and where help is needed.",
        "insights:adoption",
        three_users,
    ),
]


def suggestions_for(user: User, *, dismissed: set[str]) -> list[Suggestion]:
    """The first MAX_SHOWN suggestions whose rule holds and that this user has not put away."""
    if not user.can_edit_processes:
        return []
    shown: list[Suggestion] = []
    for suggestion in SUGGESTIONS:
        if suggestion.dismiss_key in dismissed:
            continue
        if suggestion.applies():
            shown.append(suggestion)
            if len(shown) == MAX_SHOWN:
                break
    return shown
