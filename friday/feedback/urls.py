from django.urls import path

from friday.feedback import views

app_name = "feedback"
urlpatterns = [
    path("", views.report_page, name="report"),
    path("responses/", views.response_list, name="responses"),
    path("surveys/<slug:key>/", views.survey_edit, name="survey"),
    path("ask/<int:party_id>/", views.request_create, name="ask"),
]
