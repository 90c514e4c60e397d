"""The HTTP API at /api/v1/: authentication, the error format, and the routers of every app."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from friday.accounts.api import router as accounts_router
from friday.accounts.services import token_authenticate
from friday.automation.api import router as rules_router
from friday.billing.api import router as invoices_router
from friday.core.errors import FridayError
from friday.deals.api import reasons_router as lost_reasons_router
from friday.deals.api import router as deals_router
from friday.duplicates.api import merges_router
from friday.duplicates.api import router as duplicates_router
from friday.feedback.api import router as feedback_router
from friday.jobs.api import assets_router, costs_router, plans_router, rates_router
from friday.jobs.api import router as jobs_router
from friday.parties.api import fields_router
from friday.parties.api import router as parties_router
from friday.processes.api import moves_router, segments_router, terms_router
from friday.processes.api import router as processes_router
from friday.reminders.api import router as reminders_router
from friday.strategy.api import router as goals_router

logger = logging.getLogger("friday.api")


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSession(SessionAuth):
    """The browser's session (with CSRF on writes) — so the pages' own scripts can call the API."""

    def __call__(self, request: HttpRequest):
        # Without a session cookie this is not a browser call: answer 401, not a CSRF 403.
        if self.param_name not in request.COOKIES:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api = NinjaAPI(
    title="Friday API",
    version="1",
    description="Friday CRM. Authenticate with `Authorization: Bearer <token>` (create one with "
    "`friday token create --user NAME`). Errors are JSON `{code, detail, field}`.",
    urls_namespace="api",
    auth=[BearerToken(), ActiveSession()],
)
api.add_router("/", accounts_router)
api.add_router("/parties", parties_router)
api.add_router("/custom-fields", fields_router)
api.add_router("/terms", terms_router)
api.add_router("/processes", processes_router)
api.add_router("/moves", moves_router)
api.add_router("/segments", segments_router)
api.add_router("/deals", deals_router)
api.add_router("/lost-reasons", lost_reasons_router)
api.add_router("/jobs", jobs_router)
api.add_router("/costs", costs_router)
api.add_router("/staff-rates", rates_router)
api.add_router("/assets", assets_router)
api.add_router("/service-plans", plans_router)
api.add_router("/reminders", reminders_router)
api.add_router("/rules", rules_router)
api.add_router("/feedback", feedback_router)
api.add_router("/goals", goals_router)
api.add_router("/invoices", invoices_router)
api.add_router("/duplicates", duplicates_router)
api.add_router("/merges", merges_router)


def _error(
    request: HttpRequest, status: int, code: str, detail: str, field: str | None = None, **extra
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "detail": detail, "field": field, **extra}, status=status
    )


@api.exception_handler(FridayError)
def friday_error(request: HttpRequest, exc: FridayError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _field_path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "form"}:
        parts = parts[1:]
        if loc[0] == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: list[dict[str, str | None]] = [
        {
            "code": f"invalid.{e.get('type', 'value')}",
            # pydantic prefixes custom validators' messages with "Value error, ": users need only the message
            "detail": str(e.get("msg", "invalid")).removeprefix("Value error, "),
            "field": _field_path(e.get("loc", ())),
        }
        for e in exc.errors
    ]
    first = errors[0] if errors else {"code": "invalid", "detail": "Invalid input.", "field": None}
    return _error(request, 422, str(first["code"]), str(first["detail"]), first["field"], errors=errors)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "auth.required", "Sign in, or send Authorization: Bearer <token>.")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "invalid.body", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "error"
    )
    field = "body" if exc.status_code == 400 else None
    return _error(request, exc.status_code, code, str(exc), field)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "request.too_large", "The request body is too large.", "body")


@api.exception_handler(TooManyFieldsSent)
def too_many_fields(request: HttpRequest, exc: TooManyFieldsSent) -> HttpResponse:
    return _error(request, 413, "request.too_many_fields", "The request has too many fields.", "body")
