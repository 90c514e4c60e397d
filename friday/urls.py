"""URL map: pages, the API at /api/v1/, sign-in."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from friday.accounts.views import LoginView
from friday.api import api
from friday.automation import views as automation_views
from friday.feedback import views as feedback_views
from friday.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.health, name="health"),
    path("favicon.ico", RedirectView.as_view(url="/static/friday/favicon.svg", permanent=True)),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("parties/duplicates/", include("friday.duplicates.urls")),
    path("parties/", include("friday.parties.urls")),
    path("settings/", include("friday.accounts.urls")),
    path("", include("friday.processes.urls")),
    path("deals/", include("friday.deals.urls")),
    path("jobs/", include("friday.jobs.urls")),
    path("reminders/", include("friday.reminders.urls")),
    path("messages/", include("friday.messaging.urls")),
    path("automation/", include("friday.automation.urls")),
    path("sandbox/", automation_views.sandbox, name="sandbox"),
    path("insights/", include("friday.insights.urls")),
    path("strategy/", include("friday.strategy.urls")),
    path("imports/", include("friday.imports.urls")),
    path("setup/", include("friday.setup.urls")),
    path("billing/", include("friday.billing.urls")),
    path("feedback/", include("friday.feedback.urls")),
    # Public feedback links: no sign-in (the token is the key); "thanks" is never a token (those are 43 long).
    path("f/thanks/", feedback_views.thanks, name="feedback_thanks"),
    path("f/<str:token>/", feedback_views.answer, name="feedback_answer"),
    path("api/v1/", api.urls),
]
