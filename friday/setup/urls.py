from django.urls import path

from friday.setup import views

app_name = "setup"
urlpatterns = [
    path("", views.guide, name="guide"),
    path("business/", views.business_step, name="business"),
    path("terms/", views.terms_step, name="terms"),
    path("process/", views.process_step, name="process"),
    path("team/", views.team_step, name="team"),
    path("contacts/", views.contacts_step, name="contacts"),
    path("rules/", views.rules_step, name="rules"),
    path("goals/", views.goals_step, name="goals"),
    path("steps/<slug:key>/skip/", views.step_skip, name="skip"),
    path("steps/<slug:key>/resume/", views.step_resume, name="resume"),
    path("dismiss/<str:key>/", views.dismiss, name="dismiss"),
    path("settings/", views.business_settings, name="business_settings"),
]
