"""The record types a process can move, described to `stage_move` without this app importing them.

Each type registers a `RecordKind`: how to fetch a record within a user's scope, where its stage is kept, which
fields a stage may require, and which party it belongs to. The party lifecycle is registered here; deals and jobs
register themselves from their own app (their AppConfig.ready), so adding a record type is a local change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet

from friday.accounts.models import User
from friday.parties.models import Party
from friday.processes.models import PartyStage


@dataclass(frozen=True)
class Requirement:
    label: str
    filled: Callable[[Any], bool]


@dataclass(frozen=True)
class StageState:
    version_id: int
    stage: str
    entered_at: dt.datetime


@dataclass
class RecordKind:
    name: str  # "party", "deal", "job" — RecordType values
    label: str
    get: Callable[[User, int], Model]  # the record if the user may see it, else NotFound
    party_of: Callable[[Any], Party]
    title: Callable[[Any], str]
    state: Callable[[Any], StageState | None]
    # Writes the new stage (and, for a lifecycle, what was ticked) on the record; returns nothing.
    write_state: Callable[[Any, int, str, dt.datetime, list[str]], None]
    # The model holding the stage columns (stage_version, stage, stage_entered_at) and its record id column.
    state_model: type[Model]
    state_record: str
    requirements: dict[str, Requirement] = field(default_factory=dict)
    # Extra checks on entering a stage of a given kind (a deal entering "lost" needs its lost reason).
    extra_requirements: Callable[[Any, str], dict[str, str]] = lambda record, kind: {}
    allows_custom: bool = False  # requirements may name "custom.<key>"
    url: Callable[[Any], str] = lambda record: ""
    edit_url: Callable[[Any], str] = lambda record: ""  # where its fields are filled in
    # Record id → (title, page url) for a list of ids, in one query: stuck lists, analytics.
    titles: Callable[[list[int]], dict[int, tuple[str, str]]] = lambda ids: {}

    def lock(self, record: Any) -> None:
        """Hold the record's stage row for the rest of the transaction, so two moves cannot race."""
        list(
            self.state_model._default_manager.select_for_update()
            .filter(**{self.state_record: record.pk})
            .values("pk")
        )

    def on_version(self, version_id: int) -> QuerySet:
        """(record id, stage, entered at) of every record on a version: stuck lists, migrations, boards."""
        return self.state_model._default_manager.filter(stage_version_id=version_id).values_list(
            self.state_record, "stage", "stage_entered_at"
        )


_KINDS: dict[str, RecordKind] = {}


def register(kind: RecordKind) -> None:
    _KINDS[kind.name] = kind


def kind_for(name: str) -> RecordKind | None:
    return _KINDS.get(name)


def requirement_names(applies_to: str) -> set[str] | None:
    """Fields a stage of a process for `applies_to` may require; None when that type is not installed yet."""
    kind = _KINDS.get(applies_to)
    return set(kind.requirements) if kind else None


def requirement_label(kind: RecordKind, name: str) -> str:
    """A required field in words: "an email address", "the custom field vat_number"."""
    if name.startswith("custom.") and kind.allows_custom:
        return f"the custom field {name.removeprefix('custom.')}"
    requirement = kind.requirements.get(name)
    return requirement.label if requirement else name


def requirement_missing(kind: RecordKind, record: Any, name: str) -> str | None:
    """Why `name` is not satisfied on `record` (a sentence), or None if it is."""
    if name.startswith("custom.") and kind.allows_custom:
        value = (getattr(record, "custom", None) or {}).get(name.removeprefix("custom."))
        return (
            None
            if value not in (None, "", [])
            else f"Fill in the custom field {name.removeprefix('custom.')}."
        )
    requirement = kind.requirements.get(name)
    if requirement is None:
        return f"This stage requires {name!r}, which a {kind.label.lower()} record does not have."
    return None if requirement.filled(record) else f"Fill in {requirement.label}."


# --- the party lifecycle ------------------------------------------------------------------------------------


def _party_get(user: User, record_id: int) -> Party:
    from friday.parties.selectors import party_get

    return party_get(user=user, party_id=record_id)


def _party_state(party: Party) -> StageState | None:
    row = PartyStage.objects.filter(party=party).first()
    return StageState(row.stage_version_id, row.stage, row.stage_entered_at) if row else None


def _party_write(party: Party, version_id: int, stage: str, at: dt.datetime, checked: list[str]) -> None:
    PartyStage.objects.update_or_create(
        party=party,
        defaults={"stage_version_id": version_id, "stage": stage, "stage_entered_at": at, "checked": checked},
    )


PARTY_REQUIREMENTS = {
    "email": Requirement("an email address", lambda p: p.emails.exists()),
    "phone": Requirement("a phone number", lambda p: p.phones.exists()),
    "email_or_phone": Requirement(
        "an email address or a phone number", lambda p: p.emails.exists() or p.phones.exists()
    ),
    "address": Requirement("an address", lambda p: p.addresses.exists()),
    "birthday": Requirement("the birthday", lambda p: p.birthday is not None),
    "customer_since": Requirement("customer since", lambda p: p.customer_since is not None),
    "owner": Requirement("the owner", lambda p: p.owner_id is not None),
    "team": Requirement("the team", lambda p: p.team_id is not None),
    "notes": Requirement("the notes", lambda p: bool(p.notes.strip())),
    "tags": Requirement("at least one tag", lambda p: p.party_tags.exists()),
    "organisation": Requirement("the organisation they work for", lambda p: p.affiliations.exists()),
}


register(
    RecordKind(
        name="party",
        label="Party",
        get=_party_get,
        party_of=lambda party: party,
        title=lambda party: party.display_name,
        state=_party_state,
        write_state=_party_write,
        state_model=PartyStage,
        state_record="party_id",
        requirements=PARTY_REQUIREMENTS,
        allows_custom=True,
        url=lambda party: f"/parties/{party.pk}/",
        edit_url=lambda party: f"/parties/{party.pk}/edit/",
        titles=lambda ids: {
            pk: (name, f"/parties/{pk}/")
            for pk, name in Party.objects.filter(pk__in=ids).values_list("pk", "display_name")
        },
    )
)
