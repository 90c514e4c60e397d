from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "friday.processes"
    label = "processes"
    verbose_name = "Processes"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from friday.processes import (  # noqa: F401  (register the party lifecycle and the list filters)
            records,
            segments,
        )
        from friday.processes.models import StageChange
        from friday.processes.rollup import on_delete

        # However a move's row goes (a deal deleted, a party and all it had), the daily counts follow.
        post_delete.connect(
            lambda sender, instance, **kwargs: on_delete(instance),
            sender=StageChange,
            weak=False,
            dispatch_uid="processes.rollup.on_delete",
        )
