"""Forms for the reminder pages: they parse; the services validate and write."""

from __future__ import annotations

from django import forms

from friday.accounts.models import Role, User
from friday.parties.forms import PartyPickerField, UserChoiceField, party_ref


class ReminderForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="What is to be done, e.g. “Call back about the quote”")
    due_at = forms.DateTimeField(
        label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, label="For", empty_label="Me")
    assignee_role = forms.ChoiceField(
        label="Or for everyone who is", required=False, choices=[("", "—"), *Role.choices]
    )
    party = PartyPickerField(label="About", required=False)
    chase = PartyPickerField(
        label="Chase (a supplier)", required=False, help_text="A party who owes us something; optional"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        # The chase field uses its own suggestions list, so two pickers on one page do not share one.
        self.fields["chase"].widget.attrs.update({"list": "chase-options", "hx-target": "#chase-options"})

    def ref(self, name: str) -> int | None:
        return party_ref(self.cleaned_data.get(name))


class SnoozeForm(forms.Form):
    until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
