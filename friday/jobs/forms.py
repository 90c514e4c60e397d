"""Forms for the job pages: they parse; the services validate and write."""

from __future__ import annotations

from django import forms

from friday.accounts.models import User
from friday.jobs.models import JOB_COST_KINDS, CostKind, IntervalUnit
from friday.parties.forms import PartyPickerField, UserChoiceField, party_ref


def _users():
    return User.objects.filter(is_active=True).order_by("first_name", "username")


class StaffField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display


class JobForm(forms.Form):
    party = PartyPickerField(label="Client")
    # Not required here: the service says a title is missing together with every other problem.
    title = forms.CharField(
        max_length=200, required=False, help_text="The work, e.g. “Annual boiler service”"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=20_000)
    staff = StaffField(queryset=User.objects.none(), required=False, help_text="Who does the work")
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    scheduled_for = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    due_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    quoted_price = forms.CharField(max_length=30, required=False, help_text="e.g. 480.00")
    currency = forms.CharField(max_length=3, required=False)
    asset = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    service_plan = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Service plan")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000)
    cancel_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2_000, label="Why cancelled"
    )
    process = forms.ChoiceField(label="Job process", required=False)

    def __init__(self, *args, processes=(), assets=(), plans=(), editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("owner", "staff"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField | forms.ModelMultipleChoiceField)
            field.queryset = _users()
        process = self.fields["process"]
        assert isinstance(process, forms.ChoiceField)
        process.choices = [(p.key, p.name) for p in processes]
        asset, plan = self.fields["asset"], self.fields["service_plan"]
        assert isinstance(asset, forms.ChoiceField) and isinstance(plan, forms.ChoiceField)
        asset.choices = [("", "—"), *[(a.pk, str(a)) for a in assets]]
        plan.choices = [("", "—"), *[(p.pk, p.name) for p in plans]]
        if editing:
            del self.fields["party"]
            del self.fields["process"]
        else:
            del self.fields["cancel_reason"]

    def party_id(self) -> int | None:
        return party_ref(self.cleaned_data.get("party"))


class CostForm(forms.Form):
    kind = forms.ChoiceField()
    description = forms.CharField(max_length=200, required=False)
    staff = UserChoiceField(queryset=User.objects.none(), required=False, help_text="For labour: whose time")
    quantity = forms.CharField(max_length=20, required=False, initial="1", help_text="Hours, for labour")
    unit_cost = forms.CharField(
        max_length=30, required=False, label="Unit cost", help_text="Labour: blank takes the staff rate"
    )
    supplier = PartyPickerField(label="Supplier", required=False, help_text="For a supplier's bill")
    reference = forms.CharField(max_length=100, required=False, help_text="The supplier's bill number")
    incurred_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, for_job: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kind, staff = self.fields["kind"], self.fields["staff"]
        assert isinstance(kind, forms.ChoiceField) and isinstance(staff, forms.ModelChoiceField)
        kinds = (
            JOB_COST_KINDS
            if for_job
            else (CostKind.ACQUISITION, CostKind.SERVICING, CostKind.DISCOUNT, CostKind.OTHER)
        )
        kind.choices = [(k.value, k.label) for k in kinds]
        staff.queryset = _users()
        if not for_job:
            for name in ("staff", "supplier", "reference"):
                del self.fields[name]

    def supplier_id(self) -> int | None:
        return party_ref(self.cleaned_data.get("supplier"))


class DependencyForm(forms.Form):
    supplier = PartyPickerField(label="Supplier")
    title = forms.CharField(max_length=200, help_text="What we are waiting for, e.g. “Valve delivery”")
    due_at = forms.DateTimeField(
        label="Chase on",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    assignee = UserChoiceField(queryset=User.objects.none(), required=False, label="Who chases")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _users()

    def supplier_id(self) -> int | None:
        return party_ref(self.cleaned_data.get("supplier"))


class AssetForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="e.g. Boiler, Van, Lift 2")
    kind = forms.CharField(max_length=100, required=False)
    serial_number = forms.CharField(max_length=100, required=False)
    location = forms.CharField(max_length=200, required=False)
    installed_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000)
    active = forms.BooleanField(required=False, initial=True)


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="e.g. Annual boiler service")
    every = forms.IntegerField(min_value=1, max_value=1000, initial=12)
    unit = forms.ChoiceField(choices=IntervalUnit.choices, initial=IntervalUnit.MONTHS)
    asset = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, help_text="Blank: the client"
    )
    last_service_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The last service before Friday knew; later, completed jobs set it",
    )
    active = forms.BooleanField(required=False, initial=True)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000)

    def __init__(self, *args, assets=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["asset"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *[(a.pk, str(a)) for a in assets]]
