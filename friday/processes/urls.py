from django.urls import path

from friday.processes import views

app_name = "processes"
urlpatterns = [
    path("glossary/", views.glossary, name="glossary"),
    path("glossary/<int:term_id>/", views.term_edit, name="term_edit"),
    path("processes/", views.process_list, name="list"),
    path("processes/new/", views.process_new, name="new"),
    path("processes/check/", views.process_check, name="check"),
    path("processes/schema.json", views.process_schema, name="schema"),
    path("processes/starters/<str:name>/", views.starter_install, name="starter_install"),
    path("processes/<slug:key>/", views.process_detail, name="detail"),
    path("processes/<slug:key>/edit/", views.process_edit, name="edit"),
    path("processes/<slug:key>/draft/", views.process_draft, name="draft"),
    path("processes/<slug:key>/draft/act/", views.process_draft_act, name="draft_act"),
    path("processes/<slug:key>/analytics/", views.process_analytics, name="analytics"),
    path("processes/<slug:key>/migrate/", views.process_migrate, name="migrate"),
    path("processes/<slug:key>/export.<str:fmt>", views.process_export, name="export"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_new, name="segment_new"),
    path("segments/count/", views.segment_preview, name="segment_preview"),
    path("segments/<int:segment_id>/", views.segment_edit, name="segment_edit"),
    path("lifecycle/<int:party_id>/", views.party_move, name="party_move"),
]
