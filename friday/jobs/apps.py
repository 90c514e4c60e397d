from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "friday.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from friday.jobs import records  # noqa: F401  (registers jobs with stage_move)
