from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "friday.parties"
    label = "parties"
    verbose_name = "Parties"
