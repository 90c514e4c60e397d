"""Forms for the deal pages: they parse; the services validate and write."""

from __future__ import annotations

from django import forms

from friday.accounts.models import User
from friday.parties.forms import PartyPickerField, UserChoiceField, party_ref


class DealForm(forms.Form):
    party = PartyPickerField(label="Customer")
    title = forms.CharField(max_length=200, help_text="What they might buy, e.g. “Combi boiler swap”")
    value = forms.CharField(max_length=30, required=False, help_text="e.g. 4250.00")
    currency = forms.CharField(max_length=3, required=False)
    expected_close = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    process = forms.ChoiceField(label="Pipeline", required=False)

    def __init__(self, *args, pipelines=(), editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owner, process = self.fields["owner"], self.fields["process"]
        assert isinstance(owner, forms.ModelChoiceField) and isinstance(process, forms.ChoiceField)
        owner.queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        process.choices = [(p.key, p.name) for p in pipelines]
        if editing:
            del self.fields["party"]
            del self.fields["process"]

    def party_id(self) -> int | None:
        return party_ref(self.cleaned_data.get("party"))
