"""The Best page's choices: how many customers and suppliers to rank, and the suppliers' period."""

from __future__ import annotations

import datetime as dt

from django import forms

from friday.insights.best import TOP, TOPS, Period, last_year

MAX_DAYS = 3660


class BestForm(forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    top = forms.TypedChoiceField(
        required=False, label="Show", choices=[(n, f"top {n}") for n in TOPS], coerce=int, empty_value=None
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        default = last_year()
        since = data.get("since") or default.start
        until = data.get("until") or default.last_day
        if "since" in data and "until" in data:  # both read as dates (or left empty)
            if until < since:
                self.add_error("until" if data.get("until") else "since", "The end comes before the start.")
            elif (until - since).days > MAX_DAYS:
                self.add_error("until", "Pick at most ten years.")
            else:
                data["period"] = Period(since, until + dt.timedelta(days=1))
        return data

    def period(self) -> Period:
        """The suppliers' period: the days from `since` to `until` (inclusive); by default the last 365 days."""
        return self.cleaned_data.get("period") or last_year() if self.is_valid() else last_year()

    def top_n(self) -> int:
        return (self.cleaned_data.get("top") or TOP) if self.is_valid() else TOP
