"""Sign-in, password, API tokens, and the users/teams admin pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from friday.accounts import selectors, services
from friday.accounts.forms import (
    PreferencesForm,
    TeamForm,
    ThrottledLoginForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
)
from friday.accounts.scoping import require_admin
from friday.core import business
from friday.core.errors import FridayError, ValidationFailed
from friday.core.http import AuthedRequest


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledLoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/"

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


def _apply_errors(form, exc: FridayError) -> None:
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    for error in errors:
        form.add_error(error.field if error.field in form.fields else None, error.detail)


@login_required
def user_list(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    return render(
        request,
        "accounts/users.html",
        {
            "users": selectors.user_list(viewer=request.user, include_inactive=True),
            "teams": selectors.team_list(viewer=request.user),
            "team_form": TeamForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_create(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(by=request.user, **form.cleaned_data)
        except FridayError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{user.username} can now sign in.")
            return redirect("accounts:users")
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "creating": True},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request: AuthedRequest, user_id: int) -> HttpResponse:
    require_admin(request.user)
    target = selectors.user_get(viewer=request.user, user_id=user_id)
    initial = {
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "role": target.role,
        "scope": target.scope,
        "teams": list(target.teams.all()),
        "is_active": target.is_active,
        "digest_enabled": target.digest_enabled,
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_update(
                by=request.user,
                user=target,
                role=data["role"],
                scope=data["scope"],
                teams=list(data["teams"]),
                is_active=data["is_active"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                digest_enabled=data["digest_enabled"],
            )
        except FridayError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{target.username} was updated.")
            return redirect("accounts:users")
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "target": target, "creating": False},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    """The signed-in user's own settings: for now, whether they get the daily digest."""
    from django.conf import settings

    # Not `request.POST or None`: unticking the only box posts nothing but the CSRF token, which is still a POST.
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        initial={"digest_enabled": request.user.digest_enabled},
    )
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["digest_enabled"]
        services.user_digest_set(by=request.user, user=request.user, enabled=enabled)
        messages.success(
            request,
            "You will get the daily digest." if enabled else "You will no longer get the daily digest.",
        )
        return redirect("accounts:preferences")
    return render(
        request,
        "accounts/preferences.html",
        {"form": form, "digest_hour": settings.FRIDAY_DIGEST_HOUR, "time_zone": business.time_zone()},
    )


@login_required
@require_POST
def team_create(request: AuthedRequest) -> HttpResponse:
    require_admin(request.user)
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = services.team_create(by=request.user, **form.cleaned_data)
            messages.success(request, f"Team {team.name} was created.")
        except FridayError as exc:
            messages.error(request, exc.detail)
    else:
        messages.error(request, "A team needs a name.")
    return redirect("accounts:users")


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, raw = services.token_create(user=request.user, name=form.cleaned_data["name"], by=request.user)
        # Redirect after the POST (a reload must not make a second token); the session carries it once.
        request.session["new_token"] = raw
        return redirect("accounts:tokens")
    new_token = request.session.pop("new_token", None)
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": selectors.token_list(viewer=request.user),
            "form": form,
            "new_token": new_token,
        },
    )


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = selectors.token_get(viewer=request.user, token_id=token_id)
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"Token {token.prefix}… was revoked.")
    return redirect("accounts:tokens")
