from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "friday.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from friday.accounts import tasks
        from friday.core import scheduler

        scheduler.register(
            scheduler.Job("accounts.prune_login_failures", "*/30 * * * *", tasks.prune_login_failures.enqueue)
        )
