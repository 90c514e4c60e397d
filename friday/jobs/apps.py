from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "friday.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from friday.jobs import records, segments  # noqa: F401  (jobs with stage_move; the paid-jobs filter)
        from friday.jobs.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("jobs/_party_jobs.html", party_section)
