from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "friday.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from friday.core import scheduler
        from friday.insights import segments, starters, tasks  # noqa: F401  (segments: the at-risk filter)

        starters.add()

        scheduler.register(scheduler.Job("insights.sweep", "* * * * *", tasks.insights_sweep.enqueue))
        scheduler.register(
            scheduler.Job("insights.recompute", "23 2 * * *", tasks.insights_recompute.enqueue)
        )
        # The week in progress, and any past week not final yet (after downtime): hourly, off the hour.
        scheduler.register(scheduler.Job("insights.adoption", "7 * * * *", tasks.insights_adoption.enqueue))

        from friday.insights.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("insights/_party_metrics.html", party_section)
