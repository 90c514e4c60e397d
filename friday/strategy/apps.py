from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "friday.strategy"
    label = "strategy"
    verbose_name = "Strategy"

    def ready(self) -> None:
        from friday.core import scheduler
        from friday.strategy import digest, tasks

        # Hourly, off the hour: today's reading of every active goal refreshed, and the days missed during
        # downtime (at most a week back) written once.
        scheduler.register(scheduler.Job("strategy.readings", "41 * * * *", tasks.goal_readings.enqueue))
        digest.register()
