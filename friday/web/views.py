"""The home page: what is yours, and what happened lately on the records you can see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from friday.core.http import AuthedRequest
from friday.processes.selectors import process_list
from friday.setup.selectors import dashboard as setup_dashboard
from friday.web.selectors import home_summary


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    from friday.insights.dashboard import dashboard
    from friday.strategy.views import dashboard_goals

    context = home_summary(user=request.user)
    context["no_process"] = not process_list().exists()
    context["dash"] = dashboard(user=request.user)
    context["strategy_goals"] = dashboard_goals()
    context["setup"] = setup_dashboard(user=request.user)
    return render(request, "web/home.html", context)


def health(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
