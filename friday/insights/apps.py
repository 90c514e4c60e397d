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
        # The digest goes out from FRIDAY_DIGEST_HOUR in the business's time zone, which cron (in UTC) cannot say:
        # every quarter of an hour is often enough for any zone's offset, and the task does nothing before the
        # hour or for a user who has had today's. After downtime the latest slot runs: today's digests go out.
        scheduler.register(scheduler.Job("digest.send", "*/15 * * * *", tasks.digest_send_due.enqueue))
        # The week in progress, and any past week not final yet (after downtime): hourly, off the hour.
        scheduler.register(scheduler.Job("insights.adoption", "7 * * * *", tasks.insights_adoption.enqueue))

        from friday.insights.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("insights/_party_metrics.html", party_section)
