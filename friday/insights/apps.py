from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "friday.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from friday.core import scheduler
        from friday.insights import segments, starters, tasks  # noqa: F401  (segments: the at-risk, RFM and CLV filters)

        starters.add()

        scheduler.register(scheduler.Job("insights.sweep", "* * * * *", tasks.insights_sweep.enqueue))
        scheduler.register(
            scheduler.Job("insights.recompute", "23 2 * * *", tasks.insights_recompute.enqueue)
        )

        from friday.insights.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("insights/_party_metrics.html", party_section)
