from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "friday.web"
    label = "web"
    verbose_name = "Web"
