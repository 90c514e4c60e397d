from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "friday.automation"
    label = "automation"
    verbose_name = "Automation"
