"""The guide's forms. They only parse; the services validate (time zone, currency, region) and refuse by field."""

from __future__ import annotations

from django import forms

from friday.accounts.models import Role


class BusinessForm(forms.Form):
    name = forms.CharField(max_length=300, label="Business name")
    time_zone = forms.CharField(
        max_length=64, help_text="A name such as Europe/London: decides what “today” is for dates and rules"
    )
    currency = forms.CharField(max_length=8, help_text="ISO 4217, such as GBP, EUR or USD: totals are in it")
    region = forms.CharField(
        max_length=8,
        label="Country for phone numbers",
        help_text="Two letters, such as GB: numbers without +code",
    )


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
