"""Forms for the party pages. They only parse; the services validate and write."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from friday.accounts.models import Team, User
from friday.core.errors import FridayError, ValidationFailed
from friday.parties.models import CustomField, FieldType, Party, PartyKind, RoleName
from friday.parties.services import AddressIn, PartyIn


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


PARTY_REF = re.compile(r"#(\d{1,18})\s*$")


class PartyPickerField(forms.CharField):
    """A party chosen by typing: the browser offers matches (names the user may see) as "Name · #id"."""

    def __init__(self, *, label: str = "Customer", **kwargs) -> None:
        kwargs.setdefault("max_length", 260)
        kwargs.setdefault("help_text", "Start typing a name and pick from the list")
        widget = forms.TextInput(
            attrs={
                "list": "party-options",
                "autocomplete": "off",
                "hx-get": "/parties/options/",
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#party-options",
            }
        )
        super().__init__(label=label, widget=widget, **kwargs)


def party_ref(value: str | None) -> int | None:
    """The id in "Name · #id", as the picker fills it in."""
    match = PARTY_REF.search(value or "")
    return int(match.group(1)) if match else None


class UserChoiceField(forms.ModelChoiceField):
    """Colleagues by the name people know them by, not their username."""

    def label_from_instance(self, obj) -> str:
        return obj.display


class PartyForm(forms.Form):
    kind = forms.ChoiceField(choices=PartyKind.choices, widget=forms.RadioSelect, initial=PartyKind.PERSON)
    given_name = forms.CharField(max_length=100, required=False)
    family_name = forms.CharField(max_length=100, required=False)
    name = forms.CharField(label="Organisation name", max_length=220, required=False)
    organisation = forms.CharField(
        label="Works at (organisation)",
        max_length=220,
        required=False,
        help_text="The name of an organisation already in Friday",
        widget=forms.TextInput(
            attrs={
                "list": "org-options",
                "autocomplete": "off",
                "hx-get": "/parties/organisations/suggest/",
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#org-options",
            }
        ),
    )
    job_title = forms.CharField(max_length=120, required=False)
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One per line; the first is the primary",
    )
    phones = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One per line; without a country code they are read as local numbers",
    )
    roles = forms.MultipleChoiceField(
        choices=RoleName.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    tags = forms.CharField(max_length=500, required=False, help_text="Separated by commas")
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    address_city = forms.CharField(label="Town or city", max_length=100, required=False)
    address_postcode = forms.CharField(label="Postcode", max_length=20, required=False)
    address_country = forms.CharField(label="Country code", max_length=2, required=False)
    birthday = forms.DateField(
        required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    customer_since = forms.DateField(
        required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        required=False,
        help_text="Where they live, if not with us: e.g. Europe/Madrid (messages on their dates go at their time)",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    owner = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Blank: you. To change it later, use Hand over",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    email_consent = forms.BooleanField(label="Agreed to marketing email", required=False)
    do_not_contact = forms.BooleanField(label="Do not contact", required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    confirm_duplicates = forms.BooleanField(label="I checked: this is not a duplicate", required=False)

    def __init__(self, *args: Any, user: User, party: Party | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.party = user, party
        self.duplicates: dict | None = None
        owner_field = self.fields["owner"]
        team_field = self.fields["team"]
        assert isinstance(owner_field, forms.ModelChoiceField) and isinstance(
            team_field, forms.ModelChoiceField
        )
        owner_field.queryset = User.objects.filter(is_active=True).order_by("username")
        team_field.queryset = Team.objects.all() if user.sees_all else user.teams.all()
        self.custom_fields = list(CustomField.objects.all())
        for definition in self.custom_fields:
            self.fields[f"custom_{definition.key}"] = _custom_form_field(definition)
        if party is not None:
            del self.fields["owner"]
            self.fields["kind"].disabled = True
            self.initial.update(_initial(party))

    def custom_field_names(self) -> list[str]:
        return [f"custom_{d.key}" for d in self.custom_fields]

    def to_party_in(self, organisation: Party | None) -> PartyIn:
        d = self.cleaned_data
        data = PartyIn(
            kind=d["kind"] if self.party is None else None,
            given_name=d["given_name"],
            family_name=d["family_name"],
            name=d["name"],
            emails=_lines(d["emails"]),
            phones=_lines(d["phones"]),
            roles=list(d["roles"]),
            tags=[t.strip() for t in d["tags"].split(",") if t.strip()],
            birthday=d["birthday"],
            customer_since=d["customer_since"],
            time_zone=(d.get("time_zone") or "").strip(),
            team=d["team"],
            email_consent=d["email_consent"],
            do_not_contact=d["do_not_contact"],
            notes=d["notes"],
            custom={
                definition.key: _custom_out(definition, d.get(f"custom_{definition.key}"))
                for definition in self.custom_fields
            },
        )
        if self.party is None:
            data.owner = d.get("owner")
        else:
            data.clear = {n for n in ("birthday", "customer_since", "team") if d[n] in (None, "")}
        if d["address_line1"] or any(d[f"address_{n}"] for n in ("line2", "city", "postcode", "country")):
            data.addresses = [
                AddressIn(
                    line1=d["address_line1"],
                    line2=d["address_line2"],
                    city=d["address_city"],
                    postcode=d["address_postcode"],
                    country=d["address_country"],
                )
            ]
        elif self.party is not None:
            data.addresses = []
        if d["kind"] == PartyKind.PERSON or (self.party is not None and self.party.is_person):
            from friday.parties.services import AffiliationIn

            data.affiliations = (
                [AffiliationIn(organisation=organisation, job_title=d["job_title"])] if organisation else []
            )
        return data

    def add_service_error(self, exc: FridayError) -> None:
        """Show a service's refusal beside the field it names (or at the top of the form)."""
        if exc.code == "party.possible_duplicates":
            self.duplicates = exc.extra  # shown in its own box, with the matches and "save anyway"
            return
        errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
        for error in errors:
            self.add_error(_form_field(error.field, self.fields), error.detail)


def _form_field(path: str | None, fields: dict) -> str | None:
    if not path:
        return None
    head, _, rest = path.partition(".")
    if head == "custom":
        name = f"custom_{rest}"
    elif head == "addresses":
        name = "address_" + rest.rpartition(".")[2]
    elif head == "affiliations":
        name = "organisation"
    elif head == "note":
        name = None
    else:
        name = head
    return name if name in fields else None


def _custom_form_field(definition: CustomField) -> forms.Field:
    label, help_text = definition.label, definition.help_text
    if definition.field_type == FieldType.NUMBER:
        return forms.DecimalField(label=label, help_text=help_text, required=False)
    if definition.field_type == FieldType.DATE:
        return forms.DateField(
            label=label,
            help_text=help_text,
            required=False,
            widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        )
    if definition.field_type == FieldType.CHOICE:
        choices = [("", "—"), *[(c, c) for c in definition.choices]]
        return forms.ChoiceField(label=label, help_text=help_text, required=False, choices=choices)
    if definition.field_type == FieldType.YES_NO:
        choices = [("", "—"), ("yes", "Yes"), ("no", "No")]
        return forms.ChoiceField(label=label, help_text=help_text, required=False, choices=choices)
    return forms.CharField(label=label, help_text=help_text, required=False, max_length=1000)


def _custom_out(definition: CustomField, value: Any) -> Any:
    if value in (None, ""):
        return None
    if definition.field_type == FieldType.YES_NO:
        return value == "yes"
    if definition.field_type == FieldType.NUMBER:
        return str(value)
    return value


def _initial(party: Party) -> dict[str, Any]:
    address = party.addresses.first()
    affiliation = party.affiliations.select_related("organisation").first()
    initial: dict[str, Any] = {
        "kind": party.kind,
        "given_name": party.given_name,
        "family_name": party.family_name,
        "name": party.display_name if party.kind == PartyKind.ORGANISATION else "",
        "emails": "\n".join(e.address for e in party.emails.all()),
        "phones": "\n".join(p.number for p in party.phones.all()),
        "roles": [r.role for r in party.roles.all()],
        "tags": ", ".join(pt.tag.name for pt in party.party_tags.select_related("tag")),
        "birthday": party.birthday,
        "customer_since": party.customer_since,
        "time_zone": party.time_zone,
        "team": party.team_id,
        "email_consent": party.email_consent,
        "do_not_contact": party.do_not_contact,
        "notes": party.notes,
        "organisation": affiliation.organisation.display_name if affiliation else "",
        "job_title": affiliation.job_title if affiliation else "",
    }
    if address:
        initial.update(
            address_line1=address.line1,
            address_line2=address.line2,
            address_city=address.city,
            address_postcode=address.postcode,
            address_country=address.country,
        )
    for key, value in party.custom.items():
        initial[f"custom_{key}"] = ("yes" if value else "no") if isinstance(value, bool) else value
    return initial


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("note", "Note"),
            ("call", "Call"),
            ("meeting", "Meeting"),
            ("email_out", "Email sent"),
            ("email_in", "Email received"),
        ],
        widget=forms.HiddenInput,
        initial="note",
    )
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)
    occurred_at = forms.DateTimeField(
        required=False,
        label="When",
        help_text="Blank: now",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
    )


class HandoverForm(forms.Form):
    owner = UserChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"), label="New owner"
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, label="New team (optional)")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


class CustomFieldForm(forms.Form):
    label = forms.CharField(max_length=100)
    key = forms.CharField(
        max_length=50, required=False, help_text="Used in the API and imports; blank: from the label"
    )
    field_type = forms.ChoiceField(label="Type", choices=FieldType.choices)
    choices = forms.CharField(
        required=False,
        max_length=2000,
        help_text="For a choice field: one per line",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    applies_to = forms.ChoiceField(
        choices=[("", "People and organisations"), *PartyKind.choices], required=False
    )
    required = forms.BooleanField(required=False, help_text="Every new or edited record must fill it in")
    help_text = forms.CharField(max_length=200, required=False)
