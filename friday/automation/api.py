"""Rules, their forecast, firings and action runs over HTTP: parse, authorise, call a service or selector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import yaml
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationError as PydanticError

from friday.accounts.selectors import user_get
from friday.automation import selectors, services
from friday.automation.lint import lint_rule
from friday.automation.models import ActionRun, Firing, Rule
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str100, Str500, Str2000

router = Router(tags=["automation"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RuleIn(InSchema):
    name: Str100
    description: Str2000 = ""
    trigger: dict[str, Any]
    conditions: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]]
    enabled: bool = False
    owner_id: Id | None = Field(None, description="Who answers for it (default: you)")


class RuleOut(Schema):
    id: int
    name: str
    description: str
    trigger: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    enabled: bool
    owner_id: int
    swept_until: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    draft: dict[str, Any] = Field(
        description="The change being tried out ({} when none): it goes live only by go-live"
    )


class EnabledIn(InSchema):
    enabled: bool


class ForecastIn(InSchema):
    days: int = Field(30, ge=1, le=366)
    rule: RuleIn | None = Field(None, description="An unsaved rule to forecast (as it is being written)")


class ForecastItemOut(Schema):
    due_at: dt.datetime
    rule_id: int | None
    rule: str
    record_type: str
    record_id: int | None
    party_id: int | None
    party: str
    occurrence: str
    actions: list[str]


class FindingOut(Schema):
    severity: str
    code: str
    field: str
    message: str


class ForecastOut(Schema):
    start: dt.datetime
    end: dt.datetime
    items: list[ForecastItemOut]
    findings: list[FindingOut] = Field(default_factory=list, description="The rule lint's warnings")
    waiting_for_events: list[str] = Field(description="Event rules: they fire when their event happens")


class DiffOut(Schema):
    days: int
    live: int = Field(description="Firings of the rule as it is (0 when it is off)")
    draft: int = Field(description="Firings with the draft live")
    added: list[ForecastItemOut]
    removed: list[ForecastItemOut]
    changed: list[ForecastItemOut] = Field(
        description="The same firings at another time or doing another thing"
    )
    unchanged: int
    waits_for_events: bool


class DraftOut(Schema):
    rule_id: int
    draft: dict[str, Any]
    updated_at: dt.datetime | None
    updated_by_id: int | None
    findings: list[FindingOut]
    forecast: DiffOut


class GoLiveIn(InSchema):
    note: Str500 = ""


class RuleVersionOut(Schema):
    number: int
    how: str
    snapshot: dict[str, Any]
    changed: list[str]
    note: str
    at: dt.datetime
    by_id: int | None


class RunOut(Schema):
    id: int
    index: int
    action_type: str
    status: str
    attempts: int
    run_after: dt.datetime
    last_error: str
    result: dict[str, Any]
    finished_at: dt.datetime | None


class FiringOut(Schema):
    id: int
    rule_id: int
    key: str
    record_type: str
    record_id: int | None
    party_id: int | None
    occurrence: str
    due_at: dt.datetime
    fired_at: dt.datetime
    source: str
    runs: list[RunOut]

    @staticmethod
    def resolve_runs(obj: Firing) -> list[ActionRun]:
        return list(obj.runs.all())


class FiringPage(Schema):
    items: list[FiringOut]
    next_cursor: str | None


def _data(request: AuthedRequest, payload: RuleIn) -> services.RuleIn:
    owner = None
    if payload.owner_id is not None:
        try:
            owner = user_get(viewer=request.user, user_id=payload.owner_id)
        except NotFound as exc:
            exc.field = "owner_id"
            raise
    return services.RuleIn(
        name=payload.name,
        description=payload.description,
        trigger=payload.trigger,
        conditions=payload.conditions,
        actions=payload.actions,
        enabled=payload.enabled,
        owner=owner,
    )


def _item_out(i: services.ForecastItem) -> dict[str, Any]:
    return {
        "due_at": i.match.due_at,
        "rule_id": i.rule.pk,
        "rule": i.rule.name,
        "record_type": i.match.record_type,
        "record_id": i.match.record_id,
        "party_id": i.match.party_id,
        "party": i.party_name,
        "occurrence": i.match.occurrence,
        "actions": i.what,
    }


def _draft_out(rule: Rule, days: int) -> dict[str, Any]:
    diff = services.forecast_diff(rule, days=days)
    return {
        "rule_id": rule.pk,
        "draft": rule.draft,
        "updated_at": rule.draft_updated_at,
        "updated_by_id": rule.draft_updated_by_id,
        "findings": [f.__dict__ for f in lint_rule(services.draft_rule(rule))],
        "forecast": {
            "days": days,
            "live": len(diff.live.items) if diff.live else 0,
            "draft": len(diff.draft.items),
            "added": [_item_out(i) for i in diff.added],
            "removed": [_item_out(i) for i in diff.removed],
            "changed": [_item_out(new) for _, new in diff.changed],
            "unchanged": len(diff.kept),
            "waits_for_events": diff.waits_for_events,
        },
    }


def _forecast_out(result: services.Forecast, findings: Sequence[Any] = ()) -> dict[str, Any]:
    return {
        "findings": [f.__dict__ for f in findings],
        "start": result.start,
        "end": result.end,
        "items": [_item_out(i) for i in result.items],
        "waiting_for_events": [r.name for r in result.waiting_for_events],
    }


@router.get("", response=list[RuleOut], summary="The rules")
def rule_list(request: AuthedRequest):
    return list(selectors.rules(user=request.user))


@router.post("", response={201: RuleOut, **ERRORS}, summary="Create a rule")
def rule_create(request: AuthedRequest, payload: RuleIn):
    return Status(201, services.rule_save(by=request.user, data=_data(request, payload)))


@router.post(
    "/forecast",
    response={200: ForecastOut, **ERRORS},
    summary="What the enabled rules — or one unsaved rule — would do in the next N days (no side effects)",
)
def forecast_all(request: AuthedRequest, payload: ForecastIn):
    services.require_rule_editor(request.user)
    if payload.rule is not None:
        try:
            rules = [services.rule_draft(_data(request, payload.rule), owner=request.user)]
        except ValidationFailed as exc:
            raise ValidationFailed(
                [
                    FridayError(e.detail, code=e.code, field=f"rule.{e.field}" if e.field else "rule")
                    for e in exc.errors
                ]
            ) from exc
    else:
        rules = list(Rule.objects.filter(enabled=True))
    findings = lint_rule(rules[0]) if payload.rule is not None else []
    return _forecast_out(services.forecast(rules, days=payload.days), findings)


@router.post(
    "/drafts",
    response={201: RuleOut, **ERRORS},
    summary="A new rule as a draft: created switched off, its draft pending (go live to switch it on)",
)
def rule_draft_create(request: AuthedRequest, payload: RuleIn):
    return Status(201, services.rule_draft_save(by=request.user, data=_data(request, payload)))


@router.post(
    "/import",
    response={201: RuleOut, **ERRORS},
    summary="Create a rule from YAML (the same fields as JSON)",
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}},
)
def rule_import(request: AuthedRequest):
    try:
        data = yaml.safe_load(request.body.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ValidationFailed(
            [FridayError(f"{where}not valid YAML", code="invalid.yaml", field="body")]
        ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed([FridayError("A rule is a mapping.", code="invalid.yaml", field="body")])
    try:
        payload = RuleIn.model_validate(data)
    except PydanticError as exc:
        raise ValidationFailed(
            [
                FridayError(e["msg"], code="invalid", field=".".join(str(p) for p in e["loc"]) or "body")
                for e in exc.errors()
            ]
        ) from exc
    return Status(201, services.rule_save(by=request.user, data=_data(request, payload)))


@router.get("/firings", response={200: FiringPage, **ERRORS}, summary="Recent firings with their action runs")
def firing_list(
    request: AuthedRequest,
    rule_id: Id | None = None,
    party_id: Id | None = None,
    cursor: Str500 | None = None,
    limit: int = 50,
):
    page = selectors.firings(
        user=request.user, rule_id=rule_id, party_id=party_id, cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{rule_id}", response={200: RuleOut, **ERRORS})
def rule_get(request: AuthedRequest, rule_id: Id):
    return selectors.rule_get(user=request.user, rule_id=rule_id)


@router.get("/{rule_id}/yaml", summary="The rule as YAML")
def rule_yaml(request: AuthedRequest, rule_id: Id):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return HttpResponse(selectors.rule_yaml(rule), content_type="application/yaml; charset=utf-8")


@router.put("/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Replace a rule")
def rule_update(request: AuthedRequest, rule_id: Id, payload: RuleIn):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return services.rule_save(by=request.user, rule=rule, data=_data(request, payload))


@router.post("/{rule_id}/enabled", response={200: RuleOut, **ERRORS}, summary="Switch a rule on or off")
def rule_enabled(request: AuthedRequest, rule_id: Id, payload: EnabledIn):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return services.rule_set_enabled(by=request.user, rule=rule, enabled=payload.enabled)


@router.post("/{rule_id}/forecast", response={200: ForecastOut, **ERRORS}, summary="What this rule would do")
def rule_forecast(request: AuthedRequest, rule_id: Id, days: int = Query(30, ge=1, le=366)):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return _forecast_out(services.forecast([rule], days=days), lint_rule(rule))


@router.delete("/{rule_id}", response={204: None, **ERRORS})
def rule_delete(request: AuthedRequest, rule_id: Id):
    services.rule_delete(by=request.user, rule=selectors.rule_get(user=request.user, rule_id=rule_id))
    return Status(204, None)


@router.put(
    "/{rule_id}/draft",
    response={200: DraftOut, **ERRORS},
    summary="Keep a change as the rule's draft: the live rule is unchanged until it goes live",
)
def rule_draft_put(request: AuthedRequest, rule_id: Id, payload: RuleIn):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    rule = services.rule_draft_save(by=request.user, rule=rule, data=_data(request, payload))
    return _draft_out(rule, 30)


@router.get(
    "/{rule_id}/draft",
    response={200: DraftOut, **ERRORS},
    summary="The draft, its lint and its forecast beside the live rule's (added, removed, changed firings)",
)
def rule_draft_get(request: AuthedRequest, rule_id: Id, days: int = Query(30, ge=1, le=366)):
    services.require_rule_editor(request.user)
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    if not rule.draft:
        raise NotFound("This rule has no draft.", code="rule.no_draft")
    return _draft_out(rule, days)


@router.delete("/{rule_id}/draft", response={204: None, **ERRORS}, summary="Throw the draft away")
def rule_draft_delete(request: AuthedRequest, rule_id: Id):
    services.rule_draft_discard(by=request.user, rule=selectors.rule_get(user=request.user, rule_id=rule_id))
    return Status(204, None)


@router.post(
    "/{rule_id}/go-live",
    response={200: RuleVersionOut, **ERRORS},
    summary="Replace the rule by its draft and switch it on, in one step kept in its history",
)
def rule_go_live(request: AuthedRequest, rule_id: Id, payload: GoLiveIn):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return services.rule_go_live(by=request.user, rule=rule, note=payload.note)


@router.get(
    "/{rule_id}/history",
    response={200: list[RuleVersionOut], **ERRORS},
    summary="Every change that reached the rule: who, when, how, which parts",
)
def rule_history(request: AuthedRequest, rule_id: Id):
    rule = selectors.rule_get(user=request.user, rule_id=rule_id)
    return list(rule.versions.order_by("-number"))
