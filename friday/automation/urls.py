from django.urls import path

from friday.automation import views

app_name = "automation"
urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("new/", views.rule_edit, name="rule_new"),
    path("forecast/", views.rule_forecast, name="forecast"),
    path("runs/", views.runs, name="runs"),
    path("starters/", views.starters_install, name="starters"),
    path("<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("<int:rule_id>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]
