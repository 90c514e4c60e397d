from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "friday.deals"
    label = "deals"
    verbose_name = "Deals"

    def ready(self) -> None:
        from friday.deals import records  # noqa: F401  (registers deals with stage_move)
        from friday.deals.services import on_process_published
        from friday.processes.services import register_publish_hook

        register_publish_hook(on_process_published)

        from friday.deals.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("deals/_party_deals.html", party_section)
