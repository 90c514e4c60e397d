from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "friday.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from friday.billing import automation, tasks  # noqa: F401  (automation registers an action, a trigger)
        from friday.billing.views import party_section
        from friday.core import scheduler
        from friday.parties.views import register_detail_section

        register_detail_section("billing/_party_invoices.html", party_section)
        scheduler.register(
            scheduler.Job("billing.overdue_sweep", "*/15 * * * *", tasks.invoice_overdue_sweep.enqueue)
        )
