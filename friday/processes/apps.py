from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "friday.processes"
    label = "processes"
    verbose_name = "Processes"
