"""The only write path for deals: create, change, move through the pipeline, delete; and the lost reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from friday.accounts.models import Team, User
from friday.accounts.scoping import require_write
from friday.core import business, clock
from friday.core.errors import Collector, Conflict, FridayError
from friday.core.events import event_emit
from friday.core.money import currency_clean, currency_digits
from friday.deals.models import Deal, LostReason
from friday.deals.selectors import process_for_deals
from friday.parties.models import Party
from friday.parties.selectors import party_get
from friday.parties.services import timeline_add
from friday.processes.models import Process, ProcessVersion, RecordType, StageChange
from friday.processes.services import require_process_editor, stage_enter, stage_move

MAX_VALUE = Decimal("999999999999.99")
UNSET: Any = object()


@dataclass
class DealIn:
    """What a form or API call may set. Fields left UNSET are not changed (on update)."""

    title: Any = UNSET
    value: Any = UNSET  # Decimal, str or None
    currency: Any = UNSET
    expected_close: Any = UNSET  # date or None
    owner: Any = UNSET  # User or None
    team: Any = UNSET  # Team or None
    notes: Any = UNSET


def _clean(errors: Collector, data: DealIn, *, creating: bool, currency_now: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data.title is not UNSET or creating:
        title = " ".join(str(data.title if data.title is not UNSET else "").split())
        if not title:
            errors.add("title", "A deal needs a title: what the customer might buy.", code="invalid.required")
        elif len(title) > 200:
            errors.add("title", "A title has at most 200 characters.", code="invalid.too_long")
        out["title"] = title
    if data.value is not UNSET and data.value not in (None, ""):
        try:
            value = Decimal(str(data.value).replace(",", "").strip())
        except InvalidOperation:
            errors.add("value", "Write the value as a number, e.g. 4250.00.", code="invalid.decimal")
        else:
            if not value.is_finite() or value < 0:
                errors.add("value", "The value is zero or more.", code="invalid.decimal")
            elif value > MAX_VALUE:
                errors.add("value", "The value is at most 999,999,999,999.99.", code="invalid.too_large")
            elif value != value.quantize(Decimal("0.01")):
                errors.add("value", "Give the value to at most 2 decimal places.", code="invalid.decimal")
            else:
                out["value"] = value.quantize(Decimal("0.01"))
    elif data.value is not UNSET:
        out["value"] = None
    if data.currency is not UNSET or creating:
        currency = data.currency if data.currency not in (UNSET, None, "") else business.currency()
        try:
            out["currency"] = currency_clean(currency)
        except FridayError as exc:
            errors.add("currency", exc.detail, code=exc.code)
    # An amount has no more decimals than its currency has: yen have none, dinars three (we keep two at most).
    currency = out.get("currency") or currency_now
    if out.get("value") is not None and currency:
        places = min(currency_digits(currency), 2)
        if out["value"] != out["value"].quantize(Decimal(1).scaleb(-places)):
            errors.add(
                "value",
                f"{currency} amounts have no minor unit: give a whole amount."
                if places == 0
                else f"Give the value to at most {places} decimal places.",
                code="invalid.decimal",
            )
    if data.expected_close is not UNSET:
        if data.expected_close is not None and not isinstance(data.expected_close, dt.date):
            errors.add("expected_close", "Give a date.", code="invalid.date")
        out["expected_close"] = data.expected_close
    if data.notes is not UNSET:
        notes = str(data.notes or "").strip()
        if len(notes) > 10_000:
            errors.add("notes", "Notes have at most 10,000 characters.", code="invalid.too_long")
        out["notes"] = notes
    for name in ("title", "notes"):
        if "\x00" in str(out.get(name, "")):
            errors.add(name, "Null characters are not allowed.", code="invalid.null_character")
    if data.owner is not UNSET:
        if data.owner is not None and (not isinstance(data.owner, User) or not data.owner.is_active):
            errors.add("owner", "The owner must be an active user.", code="invalid.owner")
        out["owner"] = data.owner
    if data.team is not UNSET:
        if data.team is not None and not isinstance(data.team, Team):
            errors.add("team", "No such team.", code="invalid.team")
        out["team"] = data.team
    return out


@transaction.atomic
def deal_create(*, by: User, party: Party, data: DealIn, process_key: str | None = None) -> Deal:
    """A new deal for `party`, entering the pipeline's initial stage."""
    require_write(by)
    party = party_get(user=by, party_id=party.pk)
    process = process_for_deals(process_key)
    assert process.current is not None
    errors = Collector()
    clean = _clean(errors, data, creating=True)
    errors.raise_if_any()
    owner = clean.pop("owner", by)
    team = clean.pop("team", UNSET)
    if team is UNSET:
        team = owner.teams.order_by("pk").first() if owner else None
    now = clock.now()
    deal = Deal.objects.create(
        party=party,
        process=process,
        stage_version=process.current,
        stage=process.current.definition.initial,
        stage_entered_at=now,
        owner=owner,
        team=team,
        created_at=now,
        updated_at=now,
        created_by=by,
        **clean,
    )
    event_emit(
        name="deal.created",
        subject=deal,
        actor=by,
        payload={"party_id": party.pk, "value": str(deal.value) if deal.value is not None else None},
    )
    stage_enter(by=by, record_type=RecordType.DEAL, record=deal, version=process.current)
    return deal


@transaction.atomic
def deal_update(*, by: User, deal: Deal, data: DealIn) -> Deal:
    """Change a deal's fields (not its stage: that is `deal_move`)."""
    require_write(by)
    from friday.deals.selectors import deal_get

    deal = deal_get(user=by, deal_id=deal.pk)
    errors = Collector()
    clean = _clean(errors, data, creating=False, currency_now=deal.currency)
    errors.raise_if_any()
    changed = []
    for name, value in clean.items():
        if getattr(deal, name) != value:
            setattr(deal, name, value)
            changed.append(name)
    if not changed:
        return deal
    deal.updated_at = clock.now()
    deal.save()
    timeline_add(
        deal.party,
        event="deal.updated",
        subject=f"Deal {deal.title!r} changed: {', '.join(changed)}"[:200],
        by=by,
        data={"deal_id": deal.pk, "fields": changed},
    )
    event_emit(name="deal.updated", subject=deal, actor=by, payload={"fields": changed})
    return deal


@transaction.atomic
def deal_move(
    *,
    by: User,
    deal: Deal,
    to: str,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
    reason: str = "",
    override: bool = False,
    checked: Iterable[str] = (),
) -> StageChange:
    """Move a deal to another stage of its pipeline; entering a lost stage needs a lost reason."""
    require_write(by)
    from friday.deals.selectors import deal_get

    deal = deal_get(user=by, deal_id=deal.pk)
    if lost_reason is not None:
        if not lost_reason.active:
            raise FridayError(
                "That lost reason is no longer in use.", code="invalid.lost_reason", field="lost_reason"
            )
        note = lost_note.strip()
        if len(note) > 2000 or "\x00" in note:
            raise FridayError(
                "A note has at most 2,000 characters.", code="invalid.too_long", field="lost_note"
            )
        deal.lost_reason, deal.lost_note = lost_reason, note
        Deal.objects.filter(pk=deal.pk).update(lost_reason=lost_reason, lost_note=note)
    change = stage_move(
        by=by,
        record_type=RecordType.DEAL,
        record=deal,
        to=to,
        reason=reason,
        override=override,
        checked=checked,
    )
    target = change.version.definition.stage(to)
    if target is not None and target.kind != "lost" and deal.lost_reason_id:
        Deal.objects.filter(pk=deal.pk).update(lost_reason=None, lost_note="")  # reopened or won
    return change


@transaction.atomic
def deal_delete(*, by: User, deal: Deal) -> None:
    require_write(by)
    from friday.deals.selectors import deal_get

    deal = deal_get(user=by, deal_id=deal.pk)
    timeline_add(deal.party, event="deal.deleted", subject=f"Deal {deal.title!r} deleted"[:200], by=by)
    event_emit(name="deal.deleted", subject=deal, actor=by, payload={"title": deal.title})
    StageChange.objects.filter(record_type=RecordType.DEAL, record_id=deal.pk).delete()
    deal.delete()


@transaction.atomic
def lost_reason_save(
    *, by: User, reason: LostReason | None = None, name: str, active: bool = True, position: int | None = None
) -> LostReason:
    require_process_editor(by)
    name = " ".join(name.split())
    errors = Collector()
    if not name:
        errors.add("name", "A lost reason needs a name.", code="invalid.required")
    elif len(name) > 100 or "\x00" in name:
        errors.add("name", "A name has at most 100 characters.", code="invalid.too_long")
    clash = LostReason.objects.annotate(lname=Lower("name")).filter(lname=name.casefold())
    if reason is not None:
        clash = clash.exclude(pk=reason.pk)
    if name and clash.exists():
        errors.add("name", f"There is already a lost reason {name!r}.", code="lost_reason.duplicate")
    errors.raise_if_any()
    reason = reason or LostReason()
    reason.name, reason.active = name, active
    if position is not None:
        reason.position = max(0, position)
    elif reason.pk is None:
        reason.position = (
            LostReason.objects.order_by("-position").values_list("position", flat=True).first() or 0
        ) + 1
    try:
        with transaction.atomic():
            reason.save()
    except IntegrityError as exc:
        raise Conflict(
            f"There is already a lost reason {name!r}.", code="lost_reason.duplicate", field="name"
        ) from exc
    return reason


DEFAULT_LOST_REASONS = (
    "Price",
    "Chose a competitor",
    "No response",
    "Timing: not now",
    "Not a fit for us",
)


def lost_reasons_install(*, by: User) -> list[LostReason]:
    """The starter list, added with the first sales pipeline; existing names are kept."""
    existing = {n.casefold() for n in LostReason.objects.values_list("name", flat=True)}
    return [lost_reason_save(by=by, name=n) for n in DEFAULT_LOST_REASONS if n.casefold() not in existing]


def on_process_published(by: User, process: Process, version: ProcessVersion) -> None:
    """The first published pipeline comes with the starter lost reasons (a lost deal must give one)."""
    if process.applies_to == RecordType.DEAL and not LostReason.objects.exists():
        lost_reasons_install(by=by)
