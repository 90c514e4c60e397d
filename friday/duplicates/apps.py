from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "friday.duplicates"
    label = "duplicates"
    verbose_name = "Duplicates and merge"

    def ready(self) -> None:
        from friday.core import scheduler
        from friday.duplicates import tasks

        # Every few minutes the parties changed since the last scan are looked at again (cheap when few
        # changed); at night the whole book, so what an incremental pass cannot see (a bulk load that did not
        # touch updated_at) is found within a day.
        scheduler.register(
            scheduler.Job(
                "duplicates.scan", "*/10 * * * *", lambda: tasks.duplicates_scan.enqueue(full=False)
            )
        )
        scheduler.register(
            scheduler.Job(
                "duplicates.full_scan", "41 2 * * *", lambda: tasks.duplicates_scan.enqueue(full=True)
            )
        )
