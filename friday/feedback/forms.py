"""Forms for the feedback pages: they parse; the services validate and write."""

from __future__ import annotations

from django import forms


class SurveyForm(forms.Form):
    name = forms.CharField(max_length=100)
    question = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    comment_prompt = forms.CharField(
        max_length=200, required=False, help_text="Above the comment box, e.g. “What could we do better?”"
    )
    valid_days = forms.IntegerField(
        label="Links work for (days)", min_value=1, max_value=365, help_text="After that a link has expired"
    )
    template_key = forms.CharField(
        label="Message template",
        max_length=60,
        help_text="The key of the message that carries the link when a rule asks for feedback",
    )
    active = forms.BooleanField(label="In use", required=False)
