"""The template form: it parses; the services check and write."""

from __future__ import annotations

from django import forms

from friday.parties.forms import PartyPickerField


class TemplateForm(forms.Form):
    key = forms.SlugField(
        max_length=60, help_text="How rules name it, e.g. birthday (letters, digits, - and _)"
    )
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    marketing = forms.BooleanField(
        required=False,
        label="Marketing (sent only to parties who agreed to marketing email)",
    )
    subject = forms.CharField(max_length=300, help_text="e.g. Happy birthday, {{ party.first_name }}!")
    body_text = forms.CharField(
        label="Message (plain text)", widget=forms.Textarea(attrs={"rows": 10}), max_length=50_000
    )
    body_html = forms.CharField(
        label="Message (HTML, optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=50_000,
    )
    party = PartyPickerField(label="Preview for", required=False, help_text="A party to try the template on")
