from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "friday.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from friday.processes import (  # noqa: F401  (register the party lifecycle and the list filters)
            records,
            segments,
        )
