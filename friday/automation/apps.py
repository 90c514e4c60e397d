from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "friday.automation"
    label = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        from friday.automation import tasks
        from friday.core import scheduler

        # Every minute: evaluate the rules for the time since they were last evaluated, then run what is due.
        scheduler.register(scheduler.Job("automation.sweep", "* * * * *", tasks.automation_sweep.enqueue))
