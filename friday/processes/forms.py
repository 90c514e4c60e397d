"""The segment filter builder: form fields in, the filter JSON that `segments.clean_filters` validates out."""

from __future__ import annotations

from typing import Any

from django import forms

from friday.accounts.models import Team, User
from friday.parties.models import CustomField, FieldType, PartyKind, RoleName

CUSTOM_ROWS = 3
OP_LABELS = [
    ("eq", "is"),
    ("ne", "is not"),
    ("contains", "contains"),
    ("in", "is one of"),
    ("lt", "is less than / before"),
    ("lte", "is at most / on or before"),
    ("gt", "is more than / after"),
    ("gte", "is at least / on or after"),
    ("set", "is filled in"),
    ("unset", "is empty"),
]


class UsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    shared = forms.BooleanField(
        required=False, initial=True, help_text="Everyone can use it; each sees only their records"
    )
    stages = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Lifecycle stage"
    )
    kinds = forms.MultipleChoiceField(
        choices=PartyKind.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Kind"
    )
    roles = forms.MultipleChoiceField(
        choices=RoleName.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Any of the roles",
    )
    tags = forms.CharField(required=False, max_length=500, help_text="Any of these tags, separated by commas")
    owner_ids = UsersField(queryset=User.objects.none(), required=False, label="Owner is one of")
    team_ids = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(), required=False, label="Team is one of"
    )
    created_after = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Created on or after",
    )
    created_before = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Created before",
    )
    created_within_days = forms.IntegerField(
        required=False, min_value=0, max_value=36500, label="Created in the last … days"
    )
    no_contact_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=36500,
        label="No contact in the last … days",
        help_text="Calls, meetings and emails on the timeline",
    )
    contacted_within_days = forms.IntegerField(
        required=False, min_value=0, max_value=36500, label="Contacted in the last … days"
    )
    last_contact_after = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Contacted on or after",
    )
    last_contact_before = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Last contact before",
        help_text="Contacted once, but not since",
    )

    # Jobs add this filter (segments.EXTRA_FILTERS["paid_jobs"]); without the jobs app the fields are dropped.
    paid_jobs_at_least = forms.IntegerField(
        required=False, min_value=1, max_value=10_000, label="At least … paid jobs", help_text="e.g. 3"
    )
    paid_jobs_months = forms.IntegerField(
        required=False, min_value=1, max_value=240, label="In the last … months", initial=24
    )

    def __init__(self, *args, stage_choices: list[tuple[str, str]] = (), **kwargs) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        from friday.processes.segments import EXTRA_FILTERS

        if "paid_jobs" not in EXTRA_FILTERS:
            del self.fields["paid_jobs_at_least"], self.fields["paid_jobs_months"]
        stages, owners, teams = self.fields["stages"], self.fields["owner_ids"], self.fields["team_ids"]
        assert isinstance(stages, forms.MultipleChoiceField)
        assert isinstance(owners, forms.ModelMultipleChoiceField) and isinstance(
            teams, forms.ModelMultipleChoiceField
        )
        stages.choices = list(stage_choices)
        owners.queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        teams.queryset = Team.objects.all()
        custom = [("", "—")] + [(f.key, f.label) for f in CustomField.objects.all()]
        self.custom_rows = []
        for i in range(CUSTOM_ROWS):
            self.fields[f"custom_field_{i}"] = forms.ChoiceField(
                choices=custom, required=False, label="Custom field"
            )
            self.fields[f"custom_op_{i}"] = forms.ChoiceField(
                choices=OP_LABELS, required=False, label="Condition"
            )
            self.fields[f"custom_value_{i}"] = forms.CharField(required=False, max_length=1000, label="Value")
            self.custom_rows.append(
                (self[f"custom_field_{i}"], self[f"custom_op_{i}"], self[f"custom_value_{i}"])
            )

    def to_filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for name in ("stages", "kinds", "roles"):
            if data.get(name):
                out[name] = list(data[name])
        tags = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
        if tags:
            out["tags"] = tags
        for name in ("owner_ids", "team_ids"):
            if data.get(name):
                out[name] = [obj.pk for obj in data[name]]
        for name in ("created_after", "created_before", "last_contact_after", "last_contact_before"):
            if data.get(name):
                out[name] = data[name].isoformat()
        for name in ("created_within_days", "no_contact_days", "contacted_within_days"):
            if data.get(name) is not None:
                out[name] = data[name]
        conditions = []
        types = dict(CustomField.objects.values_list("key", "field_type"))
        for i in range(CUSTOM_ROWS):
            key, op, value = (
                data.get(f"custom_field_{i}"),
                data.get(f"custom_op_{i}") or "eq",
                data.get(f"custom_value_{i}", ""),
            )
            if not key:
                continue
            condition: dict[str, Any] = {"field": key, "op": op}
            if op not in ("set", "unset"):
                kind = types.get(key)
                if kind == FieldType.YES_NO:
                    condition["value"] = value.strip().lower() in ("yes", "true", "1", "y")
                elif op == "in":
                    condition["value"] = [v.strip() for v in value.split(",") if v.strip()]
                else:
                    condition["value"] = value.strip()
            conditions.append(condition)
        if conditions:
            out["custom"] = conditions
        if data.get("paid_jobs_at_least"):
            out["paid_jobs"] = {
                "at_least": data["paid_jobs_at_least"],
                "months": data.get("paid_jobs_months") or 24,
            }
        return out

    @classmethod
    def initial_from(cls, segment) -> dict[str, Any]:
        filters = segment.filters
        initial: dict[str, Any] = {
            "name": segment.name,
            "description": segment.description,
            "shared": segment.shared,
            **{k: v for k, v in filters.items() if k not in ("custom", "tags", "paid_jobs")},
        }
        if filters.get("paid_jobs"):
            initial["paid_jobs_at_least"] = filters["paid_jobs"]["at_least"]
            initial["paid_jobs_months"] = filters["paid_jobs"]["months"]
        if filters.get("tags"):
            initial["tags"] = ", ".join(filters["tags"])
        for i, condition in enumerate(filters.get("custom", [])[:CUSTOM_ROWS]):
            value = condition.get("value", "")
            initial[f"custom_field_{i}"] = condition["field"]
            initial[f"custom_op_{i}"] = condition["op"]
            initial[f"custom_value_{i}"] = (
                ", ".join(value)
                if isinstance(value, list)
                else ("yes" if value is True else "no" if value is False else value)
            )
        return initial
