from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "friday.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        from friday.feedback import actions  # noqa: F401  (registers the request_feedback automation action)
        from friday.feedback.views import party_section
        from friday.parties.views import register_detail_section

        register_detail_section("feedback/_party_feedback.html", party_section)
