from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "friday.insights"
    label = "insights"
    verbose_name = "Insights"
