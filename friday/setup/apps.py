from django.apps import AppConfig


class SetupConfig(AppConfig):
    name = "friday.setup"
    label = "setup"
    verbose_name = "Setup"

    def ready(self) -> None:
        from friday.setup import builtin

        builtin.register()
