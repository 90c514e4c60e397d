"""Parties over HTTP: parse, authorise, call one service or selector, return. No logic lives here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema, Status

from friday.accounts.selectors import team_get, user_get
from friday.core.errors import NotFound
from friday.core.http import AuthedRequest
from friday.core.schemas import (
    ErrorOut,
    Id,
    InSchema,
    Moment,
    Str2,
    Str10k,
    Str20,
    Str30,
    Str40,
    Str50,
    Str60,
    Str64,
    Str100,
    Str120,
    Str200,
    Str220,
    Str254,
    Str500,
    Str2000,
)
from friday.parties import selectors, services
from friday.parties.models import Address, EmailAddress, Party, Phone
from friday.parties.normalise import normalise_lenient, phone_display

router = Router(tags=["parties"])
fields_router = Router(tags=["custom fields"])

Kind = Literal["person", "organisation"]
Role = Literal["customer", "supplier", "employee", "partner"]
ActivityKindIn = Literal["note", "call", "meeting", "email_in", "email_out"]


# --- schemas ---------------------------------------------------------------------------------------------


class AddressSchema(InSchema):
    line1: Str200
    line2: Str200 = ""
    city: Str100 = ""
    region: Str100 = ""
    postcode: Str20 = ""
    country: Str2 = ""
    label: Str30 = ""


class AffiliationIn(InSchema):
    organisation_id: Id
    job_title: Str120 = ""


class PartyCreateIn(InSchema):
    kind: Kind
    given_name: Str100 = ""
    family_name: Str100 = ""
    name: Str220 = Field("", description="Organisation name (people: leave blank)")
    emails: Annotated[list[Str254], Field(max_length=20)] = []
    phones: Annotated[list[Str40], Field(max_length=20)] = []
    addresses: Annotated[list[AddressSchema], Field(max_length=10)] = []
    roles: list[Role] = []
    tags: Annotated[list[Str60], Field(max_length=50)] = []
    affiliations: Annotated[list[AffiliationIn], Field(max_length=20)] = []
    birthday: dt.date | None = None
    customer_since: dt.date | None = None
    time_zone: Str64 = Field("", description="An IANA time zone (Europe/Madrid); blank: the business's")
    owner_id: Id | None = None
    team_id: Id | None = None
    email_consent: bool = False
    do_not_contact: bool = False
    notes: Str10k = ""
    custom: dict[Str50, Any] = {}


class PartyPatchIn(InSchema):
    given_name: Str100 | None = None
    family_name: Str100 | None = None
    name: Str220 | None = None
    emails: Annotated[list[Str254], Field(max_length=20)] | None = None
    phones: Annotated[list[Str40], Field(max_length=20)] | None = None
    addresses: Annotated[list[AddressSchema], Field(max_length=10)] | None = None
    roles: list[Role] | None = None
    tags: Annotated[list[Str60], Field(max_length=50)] | None = None
    affiliations: Annotated[list[AffiliationIn], Field(max_length=20)] | None = None
    birthday: dt.date | None = None
    customer_since: dt.date | None = None
    time_zone: Str64 | None = None
    team_id: Id | None = None
    email_consent: bool | None = None
    do_not_contact: bool | None = None
    notes: Str10k | None = None
    custom: dict[Str50, Any] | None = None


class EmailOut(Schema):
    id: int
    address: str
    label: str
    is_primary: bool


class PhoneOut(Schema):
    id: int
    number: str = Field(description="E.164")
    display: str
    label: str
    is_primary: bool

    @staticmethod
    def resolve_display(obj: Phone) -> str:
        return phone_display(obj.number)


class AddressOut(Schema):
    id: int
    line1: str
    line2: str
    city: str
    region: str
    postcode: str
    country: str
    label: str


class AffiliationOut(Schema):
    organisation_id: Id
    organisation_name: str
    job_title: str

    @staticmethod
    def resolve_organisation_name(obj) -> str:
        return obj.organisation.display_name


class Ref(Schema):
    id: int
    name: str


class PartyOut(Schema):
    id: int
    kind: Kind
    display_name: str
    given_name: str
    family_name: str
    roles: list[str]
    tags: list[str]
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut]
    affiliations: list[AffiliationOut]
    birthday: dt.date | None
    customer_since: dt.date | None
    time_zone: str
    owner: Ref | None
    team: Ref | None
    email_consent: bool
    do_not_contact: bool
    notes: str
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_roles(obj: Party) -> list[str]:
        return [r.role for r in obj.roles.all()]

    @staticmethod
    def resolve_tags(obj: Party) -> list[str]:
        return [pt.tag.name for pt in obj.party_tags.all()]

    @staticmethod
    def resolve_emails(obj: Party):
        return list(obj.emails.all())

    @staticmethod
    def resolve_phones(obj: Party):
        return list(obj.phones.all())

    @staticmethod
    def resolve_addresses(obj: Party):
        return list(obj.addresses.all())

    @staticmethod
    def resolve_affiliations(obj: Party):
        return list(obj.affiliations.all())

    @staticmethod
    def resolve_owner(obj: Party):
        return {"id": obj.owner.pk, "name": obj.owner.display} if obj.owner else None

    @staticmethod
    def resolve_team(obj: Party):
        return {"id": obj.team.pk, "name": obj.team.name} if obj.team else None


class PartySummaryOut(Schema):
    """A list row: the party's essentials. GET /parties/{id} has everything."""

    id: int
    kind: Kind
    display_name: str
    roles: list[str]
    tags: list[str]
    email: str = Field(description="The primary email, or empty")
    phone: str = Field(description="The primary phone (E.164), or empty")
    owner: Ref | None
    team: Ref | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PartyPage(Schema):
    items: list[PartySummaryOut]
    next_cursor: str | None


class ListParams(Schema):
    q: Str100 = Field("", description="Substring of a name, email or phone number")
    kind: Kind | None = None
    role: Role | None = None
    tag: Str60 = ""
    owner_id: Id | None = None
    team_id: Id | None = None
    stage: Str50 = Field("", description="Lifecycle stage key ('none': not in the lifecycle)")
    segment: Id | None = Field(None, description="A saved segment's id")
    sort: Literal["name", "-name", "created", "-created", "updated", "-updated"] = "name"
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class ActivityIn(InSchema):
    kind: ActivityKindIn
    subject: Str200 = ""
    body: Str10k = ""
    occurred_at: Moment | None = None


class ActivityOut(Schema):
    id: int
    kind: str
    event: str
    subject: str
    body: str
    occurred_at: dt.datetime
    author: Ref | None
    data: dict[str, Any]

    @staticmethod
    def resolve_author(obj):
        return {"id": obj.author.pk, "name": obj.author.display} if obj.author else None


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class PageParams(Schema):
    cursor: Str500 | None = None
    limit: int = Field(20, ge=1, le=200)


class EmailIn(InSchema):
    address: Str254
    label: Str30 = ""


class PhoneIn(InSchema):
    number: Str40
    label: Str30 = ""


class HandoverIn(InSchema):
    owner_id: Id
    team_id: Id | None = None
    note: Str2000 = ""


class DuplicateOut(Schema):
    id: int
    display_name: str
    kind: str
    reasons: list[str]
    score: int


class DuplicateCheckIn(InSchema):
    kind: Kind
    given_name: Str100 = ""
    family_name: Str100 = ""
    name: Str220 = ""
    emails: Annotated[list[Str254], Field(max_length=20)] = []
    phones: Annotated[list[Str40], Field(max_length=20)] = []
    organisation_ids: Annotated[list[Id], Field(max_length=20)] = []


class DuplicatesOut(Schema):
    matches: list[DuplicateOut]
    hidden_count: int


# --- translating input to the service's PartyIn ----------------------------------------------------------


def _organisation(request: AuthedRequest, organisation_id: Id, index: int) -> Party:
    try:
        org = selectors.party_get(user=request.user, party_id=organisation_id)
    except NotFound as exc:
        exc.field = f"affiliations.{index}.organisation_id"
        raise
    return org


def _to_party_in(request: AuthedRequest, payload: PartyCreateIn | PartyPatchIn) -> services.PartyIn:
    given = payload.model_fields_set
    data = services.PartyIn()
    for name in (
        "given_name",
        "family_name",
        "name",
        "emails",
        "phones",
        "roles",
        "tags",
        "birthday",
        "customer_since",
        "time_zone",
        "email_consent",
        "do_not_contact",
        "notes",
        "custom",
    ):
        if name in given or isinstance(payload, PartyCreateIn):
            value = getattr(payload, name)
            if value is None and isinstance(payload, PartyPatchIn):
                data.clear.add(name)
            setattr(data, name, value)
    if isinstance(payload, PartyCreateIn):
        data.kind = payload.kind
    if "addresses" in given and payload.addresses is not None:
        data.addresses = [services.AddressIn(**a.model_dump()) for a in payload.addresses]
    if "affiliations" in given and payload.affiliations is not None:
        data.affiliations = [
            services.AffiliationIn(
                organisation=_organisation(request, a.organisation_id, i), job_title=a.job_title
            )
            for i, a in enumerate(payload.affiliations)
        ]
    if isinstance(payload, PartyCreateIn) and payload.owner_id is not None:
        data.owner = _user_ref(request, payload.owner_id, "owner_id")
    if "team_id" in given:
        if payload.team_id is None:
            data.clear.add("team")
        else:
            data.team = _team_ref(request, payload.team_id, "team_id")
    return data


def _user_ref(request: AuthedRequest, user_id: Id, field: str):
    try:
        return user_get(viewer=request.user, user_id=user_id)
    except NotFound as exc:
        exc.field = field
        raise


def _team_ref(request: AuthedRequest, team_id: Id, field: str):
    try:
        return team_get(viewer=request.user, team_id=team_id)
    except NotFound as exc:
        exc.field = field
        raise


def _detail(request: AuthedRequest, party_id: Id) -> Party:
    return selectors.party_detail(user=request.user, party_id=party_id)


# --- endpoints -------------------------------------------------------------------------------------------

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get("", response={200: PartyPage, **ERRORS}, summary="List parties (keyset-paginated)")
def party_list(request: AuthedRequest, params: Query[ListParams]):
    filters = selectors.PartyFilters(
        q=params.q,
        kind=params.kind or "",
        role=params.role or "",
        tag=params.tag,
        owner_id=params.owner_id,
        team_id=params.team_id,
        extra={
            name: str(value)
            for name, value in (("stage", params.stage), ("segment", params.segment))
            if value not in ("", None) and name in selectors.EXTRA_FILTERS
        },
    )
    page = selectors.party_list(
        user=request.user, filters=filters, sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: PartyOut, **ERRORS},
    summary="Create a party",
    description="Answers 409 `party.possible_duplicates` with the matches unless allow_duplicates=true.",
)
def party_create(request: AuthedRequest, payload: PartyCreateIn, allow_duplicates: bool = False):
    party = services.party_create(
        by=request.user, data=_to_party_in(request, payload), allow_duplicates=allow_duplicates
    )
    return Status(201, _detail(request, party.pk))


@router.post(
    "/duplicates", response={200: DuplicatesOut, **ERRORS}, summary="Likely duplicates of a new party"
)
def party_duplicates(request: AuthedRequest, payload: DuplicateCheckIn):
    emails, phones = normalise_lenient(payload.emails, payload.phones)
    display = services._display_name(payload.kind, payload.given_name, payload.family_name, payload.name)
    result = selectors.party_find_duplicates(
        user=request.user,
        kind=payload.kind,
        display_name=display,
        emails=emails,
        phones=phones,
        organisation_ids=payload.organisation_ids,
    )
    return {"matches": [m.as_dict() for m in result.visible], "hidden_count": result.hidden_count}


@router.get("/{party_id}", response={200: PartyOut, **ERRORS})
def party_read(request: AuthedRequest, party_id: Id):
    return _detail(request, party_id)


@router.patch(
    "/{party_id}", response={200: PartyOut, **ERRORS}, summary="Change a party (only the fields sent)"
)
def party_update(request: AuthedRequest, party_id: Id, payload: PartyPatchIn):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    services.party_update(by=request.user, party=party, data=_to_party_in(request, payload))
    return _detail(request, party_id)


@router.delete("/{party_id}", response={204: None, **ERRORS})
def party_delete(request: AuthedRequest, party_id: Id):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    services.party_delete(by=request.user, party=party)
    return Status(204, None)


@router.post("/{party_id}/handover", response={200: PartyOut, **ERRORS}, summary="Hand a party over")
def party_handover(request: AuthedRequest, party_id: Id, payload: HandoverIn):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    owner = _user_ref(request, payload.owner_id, "owner_id")
    team = _team_ref(request, payload.team_id, "team_id") if payload.team_id is not None else None
    services.party_change_owner(by=request.user, party=party, owner=owner, team=team, note=payload.note)
    return _detail(request, party_id)


@router.get(
    "/{party_id}/activities", response={200: ActivityPage, **ERRORS}, summary="The timeline, newest first"
)
def activity_list(request: AuthedRequest, party_id: Id, params: Query[PageParams]):
    party = selectors.party_get(user=request.user, party_id=party_id)
    page = selectors.activity_list(user=request.user, party=party, cursor=params.cursor, limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/{party_id}/activities", response={201: ActivityOut, **ERRORS}, summary="Log a note, call, meeting…"
)
def activity_create(request: AuthedRequest, party_id: Id, payload: ActivityIn):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    activity = services.activity_log(
        by=request.user,
        party=party,
        kind=payload.kind,
        subject=payload.subject,
        body=payload.body,
        occurred_at=payload.occurred_at,
    )
    return Status(201, activity)


@router.post("/{party_id}/emails", response={201: EmailOut, **ERRORS})
def email_add(request: AuthedRequest, party_id: Id, payload: EmailIn):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    return Status(
        201, services.email_add(by=request.user, party=party, address=payload.address, label=payload.label)
    )


@router.delete("/{party_id}/emails/{email_id}", response={204: None, **ERRORS})
def email_remove(request: AuthedRequest, party_id: Id, email_id: Id):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    row = selectors.contact_point_get(party=party, model=EmailAddress, row_id=email_id)
    services.contact_point_remove(by=request.user, party=party, row=row)
    return Status(204, None)


@router.post("/{party_id}/phones", response={201: PhoneOut, **ERRORS})
def phone_add(request: AuthedRequest, party_id: Id, payload: PhoneIn):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    return Status(
        201, services.phone_add(by=request.user, party=party, number=payload.number, label=payload.label)
    )


@router.delete("/{party_id}/phones/{phone_id}", response={204: None, **ERRORS})
def phone_remove(request: AuthedRequest, party_id: Id, phone_id: Id):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    row = selectors.contact_point_get(party=party, model=Phone, row_id=phone_id)
    services.contact_point_remove(by=request.user, party=party, row=row)
    return Status(204, None)


@router.delete("/{party_id}/addresses/{address_id}", response={204: None, **ERRORS})
def address_remove(request: AuthedRequest, party_id: Id, address_id: Id):
    party = selectors.party_get(user=request.user, party_id=party_id, for_write=True)
    row = selectors.contact_point_get(party=party, model=Address, row_id=address_id)
    services.contact_point_remove(by=request.user, party=party, row=row)
    return Status(204, None)


class CustomFieldOut(Schema):
    key: str
    label: str
    field_type: Literal["text", "number", "date", "choice", "yes_no"]
    choices: list[str]
    required: bool
    applies_to: Literal["", "person", "organisation"]
    help_text: str


class CustomFieldIn(InSchema):
    label: Str100
    key: Str50 = ""
    field_type: Literal["text", "number", "date", "choice", "yes_no"]
    choices: Annotated[list[Str100], Field(max_length=100)] = []
    required: bool = False
    applies_to: Literal["", "person", "organisation"] = ""
    help_text: Str200 = ""


@fields_router.get("", response=list[CustomFieldOut], summary="Custom fields an admin defined for parties")
def custom_field_list(request: AuthedRequest):
    return selectors.custom_field_list()


@fields_router.post("", response={201: CustomFieldOut, **ERRORS}, summary="Define a custom field (admins)")
def custom_field_create(request: AuthedRequest, payload: CustomFieldIn):
    return Status(201, services.custom_field_create(by=request.user, **payload.model_dump()))
