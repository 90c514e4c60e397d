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
    path("<int:rule_id>/draft/", views.rule_draft, name="rule_draft"),
    path("<int:rule_id>/draft/summary/", views.rule_draft_summary, name="rule_draft_summary"),
    path("<int:rule_id>/go-live/", views.rule_go_live, name="rule_go_live"),
    path("<int:rule_id>/discard/", views.rule_draft_discard, name="rule_draft_discard"),
    path("<int:rule_id>/history/", views.rule_history, name="rule_history"),
    path("<int:rule_id>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]
