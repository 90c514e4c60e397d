from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "friday.reminders"
    label = "reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from friday.parties.views import register_detail_section
        from friday.reminders.views import party_section

        register_detail_section("reminders/_party_reminders.html", party_section)
