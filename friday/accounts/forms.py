"""Forms for sign-in and the users/teams admin pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from friday.accounts import services
from friday.accounts.models import Role, Scope, Team


class ThrottledLoginForm(AuthenticationForm):
    """Sign-in that refuses a username after too many failures in the window (shared through the database)."""

    def clean(self):
        username = (self.data.get("username") or "")[:150]
        if username and services.login_locked(username):
            raise forms.ValidationError(
                "Too many failed sign-ins for this username. Wait a few minutes and try again.", code="locked"
            )
        try:
            return super().clean()
        except forms.ValidationError:
            if username:
                services.login_failure_record(
                    username=username, ip=self.request.META.get("REMOTE_ADDR") if self.request else None
                )
            raise

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        services.login_failures_clear(username=user.username)


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    scope = forms.ChoiceField(
        choices=Scope.choices,
        initial=Scope.TEAM,
        help_text="For members and read-only users: which records they see and change",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    password = forms.CharField(
        widget=forms.PasswordInput, help_text="At least 10 characters, not a common one"
    )


class UserEditForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    scope = forms.ChoiceField(choices=Scope.choices)
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label="Active (may sign in)", required=False)
    digest_enabled = forms.BooleanField(
        label="Daily digest email",
        required=False,
        help_text="Their day, what is overdue, what changed on their customers, who is at risk",
    )


class PreferencesForm(forms.Form):
    digest_enabled = forms.BooleanField(
        label="Email me the daily digest",
        required=False,
        help_text="Each morning: my day, what is overdue, what changed on my customers, who is at risk",
    )


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="What it is for, e.g. 'accounting sync'")
