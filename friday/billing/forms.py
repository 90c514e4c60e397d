"""Forms for the invoice pages: they parse; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms

from friday.billing.models import PaymentMethod
from friday.parties.forms import PartyPickerField, party_ref

LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate")


class InvoiceForm(forms.Form):
    party = PartyPickerField(label="Client")
    currency = forms.CharField(max_length=3, required=False, help_text="e.g. GBP (default: the business's)")
    # Text, checked by the service with everything else, so one submit shows every problem at once.
    terms_days = forms.CharField(label="Payment terms (days)", required=False, max_length=10)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)

    def __init__(self, *args: Any, fixed_party: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fixed_party:
            del self.fields["party"]

    def party_id(self) -> int | None:
        return party_ref(self.cleaned_data.get("party"))


def line_rows(data: Any, count: int) -> list[dict[str, str]]:
    """The line rows a form sent (line-0-description …), as text."""
    return [{name: str(data.get(f"line-{i}-{name}", ""))[:600] for name in LINE_FIELDS} for i in range(count)]


class PaymentForm(forms.Form):
    amount = forms.CharField(max_length=30, help_text="e.g. 120.00")
    received_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), required=False
    )
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(max_length=200, required=False)
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)


class VoidForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
