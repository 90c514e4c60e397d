from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "friday.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from friday.processes import records  # noqa: F401  (registers the party lifecycle)
