from typing import Any

from django.apps import AppConfig
from django.core import checks


class CoreConfig(AppConfig):
    name = "friday.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django_tasks.signals import task_started

        from friday.core import business, lookups, scheduler, tasks  # noqa: F401 (lookups registers __in_list)

        task_started.connect(business.on_task_started, dispatch_uid="business.task_started")
        setting_changed.connect(business.on_setting_changed, dispatch_uid="business.setting_changed")

        scheduler.register(scheduler.Job("tasks.prune", "17 3 * * *", tasks.prune_task_results.enqueue))
        scheduler.register(scheduler.Job("database.analyze", "43 4 * * *", tasks.analyze_database.enqueue))


@checks.register
def currency_setting(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """FRIDAY_CURRENCY must be an ISO 4217 code: every deal and invoice without one is in it."""
    from django.conf import settings

    from friday.core.errors import FridayError
    from friday.core.money import currency_clean

    try:
        currency_clean(settings.FRIDAY_CURRENCY)
    except FridayError as exc:
        return [checks.Error(f"FRIDAY_CURRENCY: {exc.detail}", id="friday.E001")]
    return []
