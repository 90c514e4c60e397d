from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "friday.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from friday.jobs import records  # noqa: F401  (registers jobs with stage_move)
        from friday.jobs.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("jobs/_party_jobs.html", party_section)
