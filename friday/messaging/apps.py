from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "friday.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from friday.core import scheduler
        from friday.messaging import tasks

        # The outbox is drained when a message is queued; this sweep catches what a crashed sender left behind
        # (an expired claim) and retries that are due.
        scheduler.register(scheduler.Job("outbox.drain", "* * * * *", tasks.outbox_drain.enqueue))
