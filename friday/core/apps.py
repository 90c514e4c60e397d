from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "friday.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from friday.core import scheduler, tasks

        scheduler.register(scheduler.Job("tasks.prune", "17 3 * * *", tasks.prune_task_results.enqueue))
        scheduler.register(scheduler.Job("database.analyze", "43 4 * * *", tasks.analyze_database.enqueue))
