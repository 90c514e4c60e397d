"""A request whose user is known to be signed in (views behind login_required, API calls behind auth)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from friday.accounts.models import User


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


def safe_next(request: HttpRequest, default: str) -> str:
    """Where to go after a form: the `next` the page was given if it stays on this site, else `default`."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
