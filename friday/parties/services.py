"""The only write path for parties: each service validates, writes, logs the timeline and emits the event."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from friday.accounts.models import Team, User
from friday.accounts.scoping import require_admin, require_write
from friday.core import clock
from friday.core.errors import Collector, Conflict, FridayError, NotFound
from friday.core.events import event_emit
from friday.parties import normalise
from friday.parties.models import (
    Activity,
    ActivityKind,
    Address,
    Affiliation,
    CustomField,
    EmailAddress,
    FieldType,
    Party,
    PartyKind,
    PartyRole,
    PartyTag,
    Phone,
    RoleName,
    Tag,
)

MAX_TEXT = 10_000
TAG_RE = re.compile(r"^[\w][\w \-&./']{0,59}$")


@dataclass
class AddressIn:
    line1: str
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    label: str = ""


@dataclass
class AffiliationIn:
    organisation: Party
    job_title: str = ""


@dataclass
class PartyIn:
    """Everything a party can be created or edited with. Unset (None) means 'leave as it is' on update."""

    kind: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    addresses: list[AddressIn] | None = None
    roles: list[str] | None = None
    tags: list[str] | None = None
    affiliations: list[AffiliationIn] | None = None
    birthday: dt.date | None = None
    customer_since: dt.date | None = None
    time_zone: str | None = None  # an IANA name, e.g. Europe/Madrid; "" to use the business's
    owner: User | None = None
    team: Team | None = None
    email_consent: bool | None = None
    do_not_contact: bool | None = None
    notes: str | None = None
    custom: dict[str, Any] | None = None
    # Fields explicitly cleared on update (e.g. birthday set to null), since None means "unchanged".
    clear: set[str] = field(default_factory=set)


@dataclass
class _Clean:
    emails: list[str] | None = None
    phones: list[str] | None = None
    # Which of the given values each kept one came from (blanks and repeats are dropped): for their labels.
    email_from: list[int] = field(default_factory=list)
    phone_from: list[int] = field(default_factory=list)
    roles: list[str] | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None


# --- validation -------------------------------------------------------------------------------------------


def _text(errors: Collector, field_name: str, value: str | None, *, max_length: int) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        errors.add(field_name, "Null characters are not allowed.", code="invalid.null_character")
        return None
    value = value.strip()
    if len(value) > max_length:
        errors.add(
            field_name, f"At most {max_length} characters (this has {len(value)}).", code="invalid.too_long"
        )
        return None
    return value


def _clean_custom(
    errors: Collector,
    kind: str,
    values: dict[str, Any],
    *,
    partial: dict[str, Any] | None,
    definitions: dict[str, CustomField] | None = None,
) -> dict:
    """Validate custom field values against the admin's definitions; `partial` holds existing values on update.

    `definitions` (key → field) saves the query when one caller validates many rows (an import)."""
    if definitions is None:
        definitions = {d.key: d for d in CustomField.objects.all()}
    merged = dict(partial or {})
    for key, value in values.items():
        path = f"custom.{key}"
        definition = definitions.get(key)
        if definition is None:
            errors.add(path, f"There is no custom field called {key!r}.", code="custom.unknown_field")
            continue
        if definition.applies_to and definition.applies_to != kind:
            errors.add(
                path,
                f"{definition.label} applies only to {definition.get_applies_to_display().lower()}s.",
                code="custom.not_applicable",
            )
            continue
        if value is None or value == "":
            merged.pop(key, None)
            continue
        try:
            merged[key] = _custom_value(definition, value)
        except (ValueError, TypeError, InvalidOperation) as exc:
            errors.add(path, f"{definition.label}: {exc}", code="custom.invalid")
    for key, definition in definitions.items():
        applies = not definition.applies_to or definition.applies_to == kind
        if applies and definition.required and key not in merged:
            errors.add(f"custom.{key}", f"{definition.label} is required.", code="custom.required")
    return merged


def _custom_value(definition: CustomField, value: Any) -> Any:
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str):
            raise TypeError("expected text")
        if "\x00" in value or len(value) > 1000:
            raise ValueError("text must be at most 1000 characters, without null characters")
        return value.strip()
    if kind == FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise TypeError("expected a number")
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise ValueError("expected a finite number")
        return str(number)
    if kind == FieldType.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise TypeError("expected a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    if kind == FieldType.CHOICE:
        if value not in definition.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, definition.choices))}")
        return value
    if kind == FieldType.YES_NO:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"yes", "true", "1", "no", "false", "0"}:
            return value.lower() in {"yes", "true", "1"}
        raise TypeError("expected yes or no")
    raise ValueError(f"unknown field type {kind!r}")


def _clean(
    errors: Collector,
    data: PartyIn,
    kind: str,
    *,
    existing_custom: dict | None,
    creating: bool,
    definitions: dict[str, CustomField] | None = None,
) -> _Clean:
    out = _Clean()
    if data.emails is not None:
        out.emails = []
        for i, raw in enumerate(data.emails):
            if not raw.strip():
                continue
            try:
                email = normalise.normalise_email(raw, field=f"emails.{i}")
            except FridayError as exc:
                errors.add(exc.field or "emails", exc.detail, exc.code)
                continue
            if email.lower() not in {e.lower() for e in out.emails}:
                out.emails.append(email)
                out.email_from.append(i)
    if data.phones is not None:
        out.phones = []
        for i, raw in enumerate(data.phones):
            if not raw.strip():
                continue
            try:
                phone = normalise.normalise_phone(raw, field=f"phones.{i}")
            except FridayError as exc:
                errors.add(exc.field or "phones", exc.detail, exc.code)
                continue
            if phone not in out.phones:
                out.phones.append(phone)
                out.phone_from.append(i)
    if data.roles is not None:
        bad = [r for r in data.roles if r not in RoleName.values]
        if bad:
            errors.add(
                "roles", f"Unknown role {bad[0]!r}; use {', '.join(RoleName.values)}.", code="invalid.role"
            )
        out.roles = sorted(set(data.roles) - set(bad))
    if data.tags is not None:
        out.tags = clean_tags(errors, data.tags)
    if data.custom is not None or creating:
        out.custom = _clean_custom(
            errors, kind, data.custom or {}, partial=existing_custom, definitions=definitions
        )
    for name in ("birthday", "customer_since"):
        value = getattr(data, name)
        if value is not None and not isinstance(value, dt.date):
            errors.add(name, "Expected a date (YYYY-MM-DD).", code="invalid.date")
        elif value is not None and value > clock.today() and name == "birthday":
            errors.add(name, "A birthday cannot be in the future.", code="invalid.future_date")
    if data.time_zone and data.time_zone not in _time_zones():
        errors.add("time_zone", "Give a time zone by its name, e.g. Europe/London.", code="invalid.time_zone")
    return out


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA names this machine knows: read from disk once, not on every write (an import checks many)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _check_ownership(errors: Collector, by: User, owner: User | None, team: Team | None) -> None:
    if owner is not None and not owner.is_active:
        errors.add(
            "owner", f"{owner.display} is deactivated; choose an active user.", code="invalid.owner_inactive"
        )
    if team is not None and not by.sees_all and not by.teams.filter(pk=team.pk).exists():
        errors.add("team", f"You are not in the team {team.name!r}.", code="invalid.team_not_yours")


def _display_name(kind: str, given: str, family: str, name: str) -> str:
    if kind == PartyKind.PERSON:
        return " ".join(p for p in (given, family) if p) or name
    return name


# --- writing contact points, roles, tags ------------------------------------------------------------------


def _write_emails(party: Party, emails: list[str]) -> None:
    EmailAddress.objects.filter(party=party).exclude(address__in=emails).delete()
    existing = set(EmailAddress.objects.filter(party=party).values_list("address", flat=True))
    EmailAddress.objects.bulk_create(
        [EmailAddress(party=party, address=e, is_primary=False) for e in emails if e not in existing]
    )
    EmailAddress.objects.filter(party=party).update(is_primary=False)
    if emails:
        EmailAddress.objects.filter(party=party, address=emails[0]).update(is_primary=True)


def _write_phones(party: Party, phones: list[str]) -> None:
    Phone.objects.filter(party=party).exclude(number__in=phones).delete()
    existing = set(Phone.objects.filter(party=party).values_list("number", flat=True))
    Phone.objects.bulk_create([Phone(party=party, number=p) for p in phones if p not in existing])
    Phone.objects.filter(party=party).update(is_primary=False)
    if phones:
        Phone.objects.filter(party=party, number=phones[0]).update(is_primary=True)


def _write_roles(party: Party, roles: list[str]) -> None:
    PartyRole.objects.filter(party=party).exclude(role__in=roles).delete()
    existing = set(PartyRole.objects.filter(party=party).values_list("role", flat=True))
    PartyRole.objects.bulk_create([PartyRole(party=party, role=r) for r in roles if r not in existing])


def tags_get_or_create(names: list[str]) -> list[Tag]:
    slugs = {n.lower(): n for n in names}
    found = {t.slug: t for t in Tag.objects.filter(slug__in=slugs)}
    missing = [Tag(name=name, slug=slug) for slug, name in slugs.items() if slug not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = {t.slug: t for t in Tag.objects.filter(slug__in=slugs)}
    return [found[s] for s in slugs]


def _write_tags(party: Party, names: list[str]) -> None:
    tags = tags_get_or_create(names)
    PartyTag.objects.filter(party=party).exclude(tag__in=tags).delete()
    existing = set(PartyTag.objects.filter(party=party).values_list("tag_id", flat=True))
    PartyTag.objects.bulk_create([PartyTag(party=party, tag=t) for t in tags if t.pk not in existing])


@transaction.atomic
def party_tags_change(
    *, by: User | None, party: Party, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> list[str]:
    """Add and remove tags. `by` None is Friday itself (an automation rule): no scope check. Returns the tags
    now on the party; changes nothing (and writes nothing) when they were already so."""
    if by is not None:
        require_write(by)
        _require_visible(by, party)
    names = [n.strip()[:50] for n in add if n and n.strip()]
    drop = {n.strip().lower() for n in remove if n and n.strip()}
    before = set(PartyTag.objects.filter(party=party).values_list("tag__slug", flat=True))
    if names:
        tags = [t for t in tags_get_or_create(names) if t.slug not in before]
        PartyTag.objects.bulk_create([PartyTag(party=party, tag=t) for t in tags], ignore_conflicts=True)
    if drop:
        PartyTag.objects.filter(party=party, tag__slug__in=drop).delete()
    after = set(PartyTag.objects.filter(party=party).values_list("tag__slug", flat=True))
    if after != before:
        added, removed = sorted(after - before), sorted(before - after)
        words = [*(f"+{t}" for t in added), *(f"−{t}" for t in removed)]
        timeline_add(
            party,
            event="party.tags_changed",
            subject=f"Tags {' '.join(words)}",
            by=by,
            data={"added": added, "removed": removed},
        )
        event_emit(name="party.updated", subject=party, actor=by, payload={"fields": ["tags"]})
    return sorted(after)


def _write_addresses(party: Party, addresses: list[AddressIn]) -> None:
    Address.objects.filter(party=party).delete()
    Address.objects.bulk_create([Address(party=party, **vars(a)) for a in addresses])


def _current_addresses(party: Party) -> list[dict[str, str]]:
    fields = ["line1", "line2", "city", "region", "postcode", "country", "label"]
    return [
        dict(zip(fields, row, strict=True)) for row in party.addresses.order_by("id").values_list(*fields)
    ]


def _write_affiliations(party: Party, affiliations: list[AffiliationIn]) -> None:
    keep = [a.organisation.pk for a in affiliations]
    Affiliation.objects.filter(person=party).exclude(organisation_id__in=keep).delete()
    for a in affiliations:
        Affiliation.objects.update_or_create(
            person=party, organisation=a.organisation, defaults={"job_title": a.job_title}
        )


def clean_tags(errors: Collector, given: list[str]) -> list[str]:
    """The tags given, stripped, each once whatever its case (the first spelling kept); a bad one is reported
    under `tags.<its index>`."""
    tags: list[str] = []
    for i, raw in enumerate(given):
        tag = raw.strip()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            errors.add(
                f"tags.{i}",
                f"{tag!r} is not a tag: letters, digits, spaces and - & . / ' only, at most 60 characters.",
                code="invalid.tag",
            )
        elif tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    return tags


def search_text_for(display_name: str, emails: list[str], phones: list[str]) -> str:
    return search_text_from_forms(display_name, emails, [normalise.phone_search_forms(p) for p in phones])


def search_text_from_forms(display_name: str, emails: list[str], phone_forms: list[str]) -> str:
    """`search_text_for` with each phone's `normalise.phone_search_forms` already worked out."""
    return " ".join(p for p in (display_name, *emails, *phone_forms) if p).lower()


def _refresh_search_text(party: Party) -> None:
    emails = list(party.emails.values_list("address", flat=True))
    phones = list(party.phones.values_list("number", flat=True))
    text = search_text_for(party.display_name, emails, phones)
    if text != party.search_text:
        party.search_text = text
        Party.objects.filter(pk=party.pk).update(search_text=text)


def _clean_address(errors: Collector, i: int, a: AddressIn) -> AddressIn | None:
    out = {}
    limits = {
        "line1": 200,
        "line2": 200,
        "city": 100,
        "region": 100,
        "postcode": 20,
        "country": 2,
        "label": 30,
    }
    for name, limit in limits.items():
        value = _text(errors, f"addresses.{i}.{name}", getattr(a, name), max_length=limit)
        out[name] = value or ""
    if not out["line1"]:
        errors.add(f"addresses.{i}.line1", "An address needs its first line.", code="invalid.required")
        return None
    out["country"] = out["country"].upper()
    if out["country"] and not re.fullmatch(r"[A-Z]{2}", out["country"]):
        errors.add(
            f"addresses.{i}.country", "Use the two-letter country code, e.g. GB.", code="invalid.country"
        )
        return None
    return AddressIn(**out)


# --- services ---------------------------------------------------------------------------------------------


def _require_visible(by: User, *parties: Party) -> None:
    """Services decide authorisation too: a record outside `by`'s scope does not exist for them."""
    from friday.parties.selectors import parties_visible

    wanted = {p.pk for p in parties}
    if len(wanted) != parties_visible(by).filter(pk__in=wanted).count():
        raise NotFound("No such party.", code="party.not_found")


def timeline_add(
    party: Party,
    *,
    event: str,
    subject: str,
    by: User | None,
    data: dict | None = None,
    kind: str = ActivityKind.SYSTEM,
    body: str = "",
) -> Activity:
    """An entry Friday writes on the party's timeline, called by services here and in the apps above: stage
    moves, reminders (kind system), and the messages the outbox sent (kind email_out, with the body)."""
    now = clock.now()
    return Activity.objects.create(
        party=party,
        kind=kind,
        event=event,
        subject=subject[:200],
        body=body,
        occurred_at=now,
        created_at=now,
        author=by,
        data=data or {},
    )


@transaction.atomic
def party_create(*, by: User, data: PartyIn, allow_duplicates: bool = False) -> Party:
    """Create a person or organisation with its contact points, roles and tags.

    Refuses with `party.possible_duplicates` (409) when the email, phone or a close name already exists,
    unless `allow_duplicates` — the user has seen the list and confirmed.
    """
    require_write(by)
    errors = Collector()
    kind = data.kind or ""
    if kind not in PartyKind.values:
        errors.add("kind", "Kind must be 'person' or 'organisation'.", code="invalid.kind")
        kind = PartyKind.PERSON
    given = _text(errors, "given_name", data.given_name, max_length=100) or ""
    family = _text(errors, "family_name", data.family_name, max_length=100) or ""
    name = _text(errors, "name", data.name, max_length=220) or ""
    notes = _text(errors, "notes", data.notes, max_length=MAX_TEXT) or ""
    if kind == PartyKind.PERSON and not (given or family):
        errors.add("given_name", "A person needs a given or family name.", code="invalid.required")
    if kind == PartyKind.ORGANISATION and not name:
        errors.add("name", "An organisation needs a name.", code="invalid.required")
    if kind == PartyKind.ORGANISATION and data.affiliations:
        errors.add("affiliations", "Only people belong to organisations.", code="invalid.affiliation")
    if data.affiliations:
        _require_visible(by, *[a.organisation for a in data.affiliations])
    clean = _clean(errors, data, kind, existing_custom=None, creating=True)
    addresses = [a for i, x in enumerate(data.addresses or []) if (a := _clean_address(errors, i, x))]
    owner = data.owner or by
    team = data.team
    if team is None and not by.sees_all:
        team = by.teams.order_by("name").first()
    _check_ownership(errors, by, owner, team)
    errors.raise_if_any()

    display = _display_name(kind, given, family, name)
    if not allow_duplicates:
        from friday.parties.selectors import party_find_duplicates

        matches = party_find_duplicates(
            user=by,
            kind=kind,
            display_name=display,
            emails=clean.emails or [],
            phones=clean.phones or [],
            organisation_ids=[a.organisation.pk for a in data.affiliations or []],
        )
        if matches.visible or matches.hidden_count:
            raise Conflict(
                f"This may already be in Friday: {matches.summary()}. Check the list, or save anyway.",
                code="party.possible_duplicates",
                extra={
                    "matches": [m.as_dict() for m in matches.visible],
                    "hidden_count": matches.hidden_count,
                },
            )

    now = clock.now()
    party = Party.objects.create(
        kind=kind,
        given_name=given if kind == PartyKind.PERSON else "",
        family_name=family if kind == PartyKind.PERSON else "",
        display_name=display,
        sort_name=normalise.sort_key(display),
        birthday=data.birthday,
        customer_since=data.customer_since,
        time_zone=data.time_zone or "",
        owner=owner,
        team=team,
        email_consent=bool(data.email_consent),
        do_not_contact=bool(data.do_not_contact),
        notes=notes,
        custom=clean.custom or {},
        search_text=search_text_for(display, clean.emails or [], clean.phones or []),
        created_at=now,
        updated_at=now,
        created_by=by,
    )
    _write_emails(party, clean.emails or [])
    _write_phones(party, clean.phones or [])
    _write_roles(party, clean.roles or [])
    _write_tags(party, clean.tags or [])
    _write_addresses(party, addresses)
    if data.affiliations:
        _write_affiliations(party, data.affiliations)
    if RoleName.CUSTOMER in (clean.roles or []) and party.customer_since is None:
        party.customer_since = clock.today()
        Party.objects.filter(pk=party.pk).update(customer_since=party.customer_since)
    timeline_add(party, event="party.created", subject=f"{party.get_kind_display()} created", by=by)
    event_emit(
        name="party.created", subject=party, actor=by, payload={"kind": kind, "roles": clean.roles or []}
    )
    return party


UPDATABLE = (
    "kind",
    "given_name",
    "family_name",
    "name",
    "emails",
    "phones",
    "addresses",
    "roles",
    "tags",
    "affiliations",
    "birthday",
    "customer_since",
    "time_zone",
    "owner",
    "team",
    "email_consent",
    "do_not_contact",
    "notes",
    "custom",
)


@transaction.atomic
def party_update(*, by: User, party: Party, data: PartyIn) -> Party:
    """Change what is set in `data` (None = unchanged; names in `data.clear` are emptied)."""
    require_write(by)
    _require_visible(by, party)
    party = Party.objects.select_for_update().get(pk=party.pk)
    errors = Collector()
    if data.kind is not None and data.kind != party.kind:
        errors.add(
            "kind", "A party's kind cannot change; create a new record instead.", code="invalid.kind_change"
        )
    kind = party.kind
    changed: list[str] = []

    def set_field(name: str, value: Any) -> None:
        if getattr(party, name) != value:
            setattr(party, name, value)
            changed.append(name)

    given = _text(errors, "given_name", data.given_name, max_length=100)
    family = _text(errors, "family_name", data.family_name, max_length=100)
    name = _text(errors, "name", data.name, max_length=220)
    notes = _text(errors, "notes", data.notes, max_length=MAX_TEXT)
    if data.affiliations:
        _require_visible(by, *[a.organisation for a in data.affiliations])
    clean = _clean(errors, data, kind, existing_custom=party.custom, creating=False)
    addresses = None
    if data.addresses is not None:
        addresses = [a for i, x in enumerate(data.addresses) if (a := _clean_address(errors, i, x))]
    if kind == PartyKind.ORGANISATION and data.affiliations:
        errors.add("affiliations", "Only people belong to organisations.", code="invalid.affiliation")
    if data.affiliations and any(a.organisation.pk == party.pk for a in data.affiliations):
        errors.add("affiliations", "A party cannot belong to itself.", code="invalid.affiliation")
    if data.owner is not None and data.owner.pk != party.owner_id:
        errors.add(
            "owner",
            "Hand a party over with the hand-over action, so it is recorded.",
            code="party.use_handover",
        )
    if data.team is not None:
        _check_ownership(errors, by, None, data.team)
    for name_ in data.clear:
        if name_ not in {"birthday", "customer_since", "team", "notes"}:
            errors.add(name_, f"{name_} cannot be cleared.", code="invalid.clear")
    if kind == PartyKind.PERSON:
        new_given = given if given is not None else party.given_name
        new_family = family if family is not None else party.family_name
        if not (new_given or new_family):
            errors.add("given_name", "A person needs a given or family name.", code="invalid.required")
        display = _display_name(kind, new_given, new_family, party.display_name)
    else:
        if name is not None and not name:
            errors.add("name", "An organisation needs a name.", code="invalid.required")
        display = name or party.display_name
    errors.raise_if_any()

    if kind == PartyKind.PERSON:
        if given is not None:
            set_field("given_name", given)
        if family is not None:
            set_field("family_name", family)
    if display != party.display_name:
        set_field("display_name", display)
        party.sort_name = normalise.sort_key(display)
    for name_ in ("birthday", "customer_since", "time_zone", "email_consent", "do_not_contact"):
        value = getattr(data, name_)
        if value is not None:
            set_field(name_, value)
    if notes is not None:
        set_field("notes", notes)
    if data.team is not None:
        set_field("team", data.team)
    for name_ in data.clear:
        set_field(name_, "" if name_ == "notes" else None)
    if clean.custom is not None and clean.custom != party.custom:
        set_field("custom", clean.custom)

    related_changes = []
    if clean.emails is not None and clean.emails != list(party.emails.values_list("address", flat=True)):
        _write_emails(party, clean.emails)
        related_changes.append("emails")
    if clean.phones is not None and clean.phones != list(party.phones.values_list("number", flat=True)):
        _write_phones(party, clean.phones)
        related_changes.append("phones")
    if clean.roles is not None and set(clean.roles) != set(party.roles.values_list("role", flat=True)):
        _write_roles(party, clean.roles)
        related_changes.append("roles")
        if RoleName.CUSTOMER in clean.roles and party.customer_since is None:
            set_field("customer_since", clock.today())
    if clean.tags is not None and {t.lower() for t in clean.tags} != set(
        party.party_tags.values_list("tag__slug", flat=True)
    ):
        _write_tags(party, clean.tags)
        related_changes.append("tags")
    if addresses is not None and [vars(a) for a in addresses] != _current_addresses(party):
        _write_addresses(party, addresses)
        related_changes.append("addresses")
    if data.affiliations is not None and {(a.organisation.pk, a.job_title) for a in data.affiliations} != set(
        party.affiliations.values_list("organisation_id", "job_title")
    ):
        _write_affiliations(party, data.affiliations)
        related_changes.append("affiliations")

    all_changed = [c for c in changed if c != "display_name"] + related_changes
    if "display_name" in changed and kind == PartyKind.ORGANISATION:
        all_changed.append("name")
    if not all_changed:
        return party
    party.updated_at = clock.now()
    party.save()
    _refresh_search_text(party)
    labels = ", ".join(c.replace("_", " ") for c in sorted(set(all_changed)))
    timeline_add(
        party,
        event="party.updated",
        subject=f"Changed {labels}",
        by=by,
        data={"fields": sorted(set(all_changed))},
    )
    event_emit(name="party.updated", subject=party, actor=by, payload={"fields": sorted(set(all_changed))})
    return party


@transaction.atomic
def party_change_owner(
    *, by: User, party: Party, owner: User, team: Team | None = None, note: str = ""
) -> Party:
    """Hand a party over to `owner` (and optionally a team), recording who handed it to whom (R19)."""
    require_write(by)
    _require_visible(by, party)
    party = Party.objects.select_for_update(of=("self",)).select_related("owner", "team").get(pk=party.pk)
    errors = Collector()
    # Handing over may cross teams (that is what delegation is for), so only the new owner is checked.
    _check_ownership(errors, by, owner, None)
    note = _text(errors, "note", note, max_length=2000) or ""
    if owner.pk == party.owner_id and (team is None or team.pk == party.team_id):
        errors.add("owner", f"{owner.display} already owns this record.", code="party.same_owner")
    errors.raise_if_any()
    previous, previous_team = party.owner, party.team
    party.owner = owner
    if team is not None:
        party.team = team
    party.updated_at = clock.now()
    party.save(update_fields=["owner", "team", "updated_at"])
    frm = previous.display if previous else "nobody"
    data = {
        "from_user_id": previous.pk if previous else None,
        "to_user_id": owner.pk,
        "from_team_id": previous_team.pk if previous_team else None,
        "to_team_id": party.team_id,
        "by_user_id": by.pk,
    }
    timeline_add(
        party,
        event="party.owner_changed",
        subject=f"{by.display} handed this over from {frm} to {owner.display}",
        by=by,
        data={**data, "note": note},
    )
    event = event_emit(name="party.owner_changed", subject=party, actor=by, payload={**data, "note": note})
    if owner.pk != by.pk and owner.email:
        from friday.parties.tasks import handover_notify

        handover_notify.enqueue(event_id=event.pk)
    return party


@transaction.atomic
def party_delete(*, by: User, party: Party) -> None:
    """Delete a party and its history. The event keeps its name and who deleted it."""
    require_write(by)
    _require_visible(by, party)
    snapshot = {"display_name": party.display_name, "kind": party.kind}
    event_emit(name="party.deleted", subject=party, actor=by, payload=snapshot)
    party.delete()


@transaction.atomic
def activity_log(
    *,
    by: User,
    party: Party,
    kind: str,
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Add a note, call, meeting or email to a party's timeline."""
    require_write(by)
    _require_visible(by, party)
    errors = Collector()
    if kind not in {
        ActivityKind.NOTE,
        ActivityKind.CALL,
        ActivityKind.MEETING,
        ActivityKind.EMAIL_IN,
        ActivityKind.EMAIL_OUT,
    }:
        errors.add(
            "kind", "Kind must be note, call, meeting, email_in or email_out.", code="invalid.activity_kind"
        )
    subject_ = _text(errors, "subject", subject, max_length=200) or ""
    body_ = _text(errors, "body", body, max_length=MAX_TEXT) or ""
    if not subject_ and not body_:
        errors.add("body", "Write something: a subject or a body.", code="invalid.required")
    now = clock.now()
    if occurred_at is not None and timezone.is_naive(occurred_at):
        # A time without an offset ("2026-01-05T09:30") is read on the business's clock.
        occurred_at = timezone.make_aware(occurred_at, clock.business_tz())
    if occurred_at is not None and occurred_at > now + dt.timedelta(days=1):
        errors.add(
            "occurred_at", "An activity cannot be logged more than a day ahead.", code="invalid.future_date"
        )
    errors.raise_if_any()
    activity = Activity.objects.create(
        party=party,
        kind=kind,
        subject=subject_,
        body=body_,
        occurred_at=occurred_at or now,
        created_at=now,
        author=by,
    )
    Party.objects.filter(pk=party.pk).update(updated_at=now)
    event_emit(
        name="activity.logged", subject=party, actor=by, payload={"activity_id": activity.pk, "kind": kind}
    )
    return activity


@transaction.atomic
def email_add(*, by: User, party: Party, address: str, label: str = "") -> EmailAddress:
    require_write(by)
    _require_visible(by, party)
    email = normalise.normalise_email(address, field="address")
    if party.emails.filter(address__iexact=email).exists():
        raise Conflict(f"{email} is already on this record.", code="party.email_exists", field="address")
    row = EmailAddress.objects.create(
        party=party, address=email, label=label[:30], is_primary=not party.emails.exists()
    )
    _refresh_search_text(party)
    _contact_changed(by, party, "emails", f"Added email {email}")
    return row


@transaction.atomic
def phone_add(*, by: User, party: Party, number: str, label: str = "") -> Phone:
    require_write(by)
    _require_visible(by, party)
    phone = normalise.normalise_phone(number, field="number")
    if party.phones.filter(number=phone).exists():
        raise Conflict(f"{phone} is already on this record.", code="party.phone_exists", field="number")
    row = Phone.objects.create(
        party=party, number=phone, label=label[:30], is_primary=not party.phones.exists()
    )
    _refresh_search_text(party)
    _contact_changed(by, party, "phones", f"Added phone {normalise.phone_display(phone)}")
    return row


@transaction.atomic
def contact_point_remove(*, by: User, party: Party, row: EmailAddress | Phone | Address) -> None:
    require_write(by)
    _require_visible(by, party)
    field_name = {EmailAddress: "emails", Phone: "phones", Address: "addresses"}[type(row)]
    label = str(row)
    row.delete()
    _refresh_search_text(party)
    _contact_changed(by, party, field_name, f"Removed {label}")


def _contact_changed(by: User, party: Party, field_name: str, subject: str) -> None:
    Party.objects.filter(pk=party.pk).update(updated_at=clock.now())
    timeline_add(party, event="party.updated", subject=subject, by=by, data={"fields": [field_name]})
    event_emit(name="party.updated", subject=party, actor=by, payload={"fields": [field_name]})


@transaction.atomic
def custom_field_create(
    *,
    by: User,
    key: str,
    label: str,
    field_type: str,
    choices: list[str] | None = None,
    required: bool = False,
    applies_to: str = "",
    help_text: str = "",
) -> CustomField:
    require_admin(by)
    errors = Collector()
    key = slugify(key or label).replace("-", "_")[:50]
    if not key:
        errors.add(
            "key", "A custom field needs a key (letters, digits, underscores).", code="invalid.required"
        )
    elif CustomField.objects.filter(key=key).exists():
        errors.add("key", f"There is already a custom field {key!r}.", code="custom.key_taken")
    label_ = _text(errors, "label", label, max_length=100)
    if not label_:
        errors.add("label", "A custom field needs a label.", code="invalid.required")
    if field_type not in FieldType.values:
        errors.add(
            "field_type", f"Type must be one of {', '.join(FieldType.values)}.", code="invalid.field_type"
        )
    clean_choices = [c.strip() for c in choices or [] if c.strip()]
    if field_type == FieldType.CHOICE and not clean_choices:
        errors.add("choices", "A choice field needs at least one choice.", code="invalid.required")
    if applies_to and applies_to not in PartyKind.values:
        errors.add(
            "applies_to", "Applies to must be person, organisation or blank.", code="invalid.applies_to"
        )
    errors.raise_if_any()
    position = CustomField.objects.count()
    definition = CustomField.objects.create(
        key=key,
        label=label_ or key,
        field_type=field_type,
        choices=clean_choices,
        required=required,
        applies_to=applies_to,
        help_text=help_text[:200],
        position=position,
    )
    event_emit(name="custom_field.created", subject=definition, actor=by, payload={"key": key})
    return definition
