"""Page middleware: FridayError refusals become proper 404/403/400 pages (never a traceback); pages show times in
the business's time zone."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from friday.core import business
from friday.core.errors import FridayError


class BusinessTimeZoneMiddleware:
    """Dates on pages and in forms are the business's: its time zone is data (`Business`), not TIME_ZONE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(business.tz())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class FridayErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, FridayError):
            return None
        status = exception.status if exception.status in {403, 404, 409} else 400
        return render(request, "web/error.html", {"error": exception, "status": status}, status=status)
