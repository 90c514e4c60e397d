"""Deals, described to `stage_move`: where their stage is kept and what a sales stage may require."""

from __future__ import annotations

import datetime as dt

from friday.accounts.models import User
from friday.deals.models import Deal
from friday.processes.models import ProcessVersion
from friday.processes.records import RecordKind, Requirement, StageState, register


def _get(user: User, record_id: int) -> Deal:
    from friday.deals.selectors import deal_get

    return deal_get(user=user, deal_id=record_id)


def _state(deal: Deal) -> StageState:
    return StageState(deal.stage_version_id, deal.stage, deal.stage_entered_at)


def _write(deal: Deal, version_id: int, stage: str, at: dt.datetime, checked: list[str]) -> None:
    target = ProcessVersion.objects.get(pk=version_id).definition.stage(stage)
    closing = target is not None and target.kind in ("won", "lost")
    closed_at = at if closing else None
    # Closed from: the stage it was in before — kept when it moves between closed stages (won → lost).
    closed_from = (deal.closed_from_stage if deal.closed_at else deal.stage) if closing else ""
    Deal.objects.filter(pk=deal.pk).update(
        stage_version_id=version_id,
        stage=stage,
        stage_entered_at=at,
        closed_at=closed_at,
        closed_from_stage=closed_from,
        updated_at=at,
    )
    deal.stage_version_id, deal.stage, deal.stage_entered_at = version_id, stage, at
    deal.closed_at, deal.closed_from_stage = closed_at, closed_from


def _extra(deal: Deal, stage_kind: str) -> dict[str, str]:
    if stage_kind == "lost" and deal.lost_reason_id is None:
        return {"lost_reason": "choose why the deal was lost."}
    return {}


DEAL_REQUIREMENTS = {
    "title": Requirement("the title", lambda d: bool(d.title.strip())),
    "value": Requirement("the value", lambda d: d.value is not None),
    "expected_close": Requirement("the expected close date", lambda d: d.expected_close is not None),
    "owner": Requirement("the owner", lambda d: d.owner_id is not None),
    "notes": Requirement("the notes", lambda d: bool(d.notes.strip())),
    "lost_reason": Requirement("the lost reason", lambda d: d.lost_reason_id is not None),
}

register(
    RecordKind(
        name="deal",
        label="Deal",
        get=_get,
        party_of=lambda deal: deal.party,
        title=lambda deal: deal.title,
        state=_state,
        write_state=_write,
        state_model=Deal,
        state_record="id",
        requirements=DEAL_REQUIREMENTS,
        extra_requirements=_extra,
        url=lambda deal: f"/deals/{deal.pk}/",
        edit_url=lambda deal: f"/deals/{deal.pk}/edit/",
        titles=lambda ids: {
            pk: (title, f"/deals/{pk}/")
            for pk, title in Deal.objects.filter(pk__in=ids).values_list("pk", "title")
        },
    )
)
