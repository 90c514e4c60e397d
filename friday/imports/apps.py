from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "friday.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        from friday.imports import tasks  # noqa: F401  (registers the import tasks)
