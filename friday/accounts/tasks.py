"""Background work for accounts."""

from __future__ import annotations

from django_tasks import task

from friday.accounts.services import login_failures_prune


@task()
def prune_login_failures() -> int:
    return login_failures_prune()
