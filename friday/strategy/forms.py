"""The goal form: it parses; the service validates and writes."""

from __future__ import annotations

from django import forms

from friday.accounts.models import User
from friday.parties.forms import UserChoiceField
from friday.strategy import metrics
from friday.strategy.models import Direction, Period

# The metrics' own settings, as form fields named param_<name> (errors come back as params.<name>).
PARAM_FIELDS = {"stage": "param_stage", "days": "param_days"}


class GoalForm(forms.Form):
    # Title and target are checked by the service, so that every problem is reported at once.
    title = forms.CharField(
        max_length=200, required=False, help_text="In your words, e.g. “Keep 90% of last year's customers”"
    )
    metric = forms.ChoiceField(help_text="What Friday measures it by")
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.AT_LEAST)
    target = forms.CharField(
        max_length=30, required=False, help_text="A number: 90 (%), 50 (NPS), 2500 (money), 0 (reminders)"
    )
    period = forms.ChoiceField(choices=Period.choices, initial=Period.MONTH)
    rolling_days = forms.CharField(
        max_length=4, required=False, label="Days (rolling period)", help_text="For a rolling period, e.g. 30"
    )
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    param_stage = forms.CharField(
        max_length=50, required=False, label="Lifecycle stage", help_text="New prospects: the stage entered"
    )
    param_days = forms.CharField(
        max_length=4, required=False, label="Overdue more than … days", help_text="Reminders overdue: e.g. 2"
    )
    active = forms.BooleanField(
        required=False, initial=True, label="Active (on the page, dashboard and digest)"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        metric, owner = self.fields["metric"], self.fields["owner"]
        assert isinstance(metric, forms.ChoiceField) and isinstance(owner, forms.ModelChoiceField)
        metric.choices = [(m.key, m.label) for m in metrics.catalog()]
        owner.queryset = User.objects.filter(is_active=True).order_by("first_name", "username")

    def params(self) -> dict[str, str]:
        """The settings the chosen metric takes (the others are ignored, not refused: the form shows them all)."""
        metric = metrics.get(self.cleaned_data.get("metric", ""))
        if metric is None:
            return {}
        return {p.name: self.cleaned_data.get(PARAM_FIELDS[p.name], "") for p in metric.params}

    def field_for(self, path: str | None) -> str | None:
        if path and path.startswith("params."):
            path = PARAM_FIELDS.get(path.removeprefix("params."))
        return path if path in self.fields else None
