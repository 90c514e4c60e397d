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
