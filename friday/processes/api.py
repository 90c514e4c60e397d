"""Terms, processes (as JSON or YAML), versions, drafts, the lint and drawings, and stage moves over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import yaml
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from friday.core import clock
from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.core.schemas import ErrorOut, Id, InSchema, Str100, Str200, Str500, Str2000
from friday.processes import analytics, records, segments, selectors, services
from friday.processes.definition import PROCESS_SCHEMA
from friday.processes.drawing import to_dot, to_mermaid
from friday.processes.models import Process, ProcessVersion, StageChange

terms_router = Router(tags=["terms"])
router = Router(tags=["processes"])
moves_router = Router(tags=["stage moves"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
RecordTypeIn = Literal["party", "deal", "job"]
MAX_SOURCE = services.MAX_SOURCE


# --- terms ----------------------------------------------------------------------------------------------------


class TermIn(InSchema):
    name: Str100
    definition: Str2000
    examples: Str2000 = ""


class TermPatchIn(InSchema):
    name: Str100 | None = None
    definition: Str2000 | None = None
    examples: Str2000 | None = None


class TermOut(Schema):
    id: int
    name: str
    definition: str
    examples: str
    is_stage: bool = Field(description="A stage of the customer lifecycle (set by publishing the lifecycle)")
    updated_at: dt.datetime


@terms_router.get("", response=list[TermOut], summary="The glossary: every term and its definition")
def term_list(request: AuthedRequest):
    return selectors.term_list()


@terms_router.post("", response={201: TermOut, **ERRORS}, summary="Add a term")
def term_create(request: AuthedRequest, payload: TermIn):
    return Status(201, services.term_save(by=request.user, **payload.model_dump()))


@terms_router.get("/{term_id}", response={200: TermOut, **ERRORS})
def term_get(request: AuthedRequest, term_id: Id):
    return selectors.term_get(term_id=term_id)


@terms_router.patch("/{term_id}", response={200: TermOut, **ERRORS}, summary="Change a term")
def term_update(request: AuthedRequest, term_id: Id, payload: TermPatchIn):
    term = selectors.term_get(term_id=term_id)
    return services.term_save(
        by=request.user,
        term=term,
        name=term.name if payload.name is None else payload.name,
        definition=term.definition if payload.definition is None else payload.definition,
        examples=term.examples if payload.examples is None else payload.examples,
    )


@terms_router.delete("/{term_id}", response={204: None, **ERRORS})
def term_delete(request: AuthedRequest, term_id: Id):
    services.term_delete(by=request.user, term=selectors.term_get(term_id=term_id))
    return Status(204, None)


# --- processes ------------------------------------------------------------------------------------------------


class SourceIn(InSchema):
    """A process as YAML text (`source`) or as the same structure in JSON (`definition`): give one."""

    source: str | None = Field(None, max_length=MAX_SOURCE, description="The process in YAML")
    definition: dict[str, Any] | None = Field(None, description="The process as JSON (see /processes/schema)")
    note: Str200 = ""


class PublishIn(InSchema):
    note: Str200 = ""


class MigrateIn(InSchema):
    from_version: int = Field(ge=1, le=1_000_000)
    stage_map: dict[Str100, Str100] = {}


class FindingOut(Schema):
    severity: str
    code: str
    subject: str
    message: str
    fix: str


class VersionOut(Schema):
    number: int
    note: str
    published_at: dt.datetime
    published_by: str | None

    @staticmethod
    def resolve_published_by(obj: ProcessVersion) -> str | None:
        return obj.published_by.username if obj.published_by else None


class ProcessOut(Schema):
    key: str
    name: str
    applies_to: str
    version: int | None
    has_draft: bool
    definition: dict[str, Any] | None = Field(description="The current version, as JSON")

    @staticmethod
    def resolve_version(obj: Process) -> int | None:
        return obj.current.number if obj.current else None

    @staticmethod
    def resolve_has_draft(obj: Process) -> bool:
        return bool(obj.draft)

    @staticmethod
    def resolve_definition(obj: Process) -> dict[str, Any] | None:
        return yaml.safe_load(obj.current.source) if obj.current else None


class ProcessSummaryOut(Schema):
    key: str
    name: str
    applies_to: str
    version: int | None
    has_draft: bool

    @staticmethod
    def resolve_version(obj: Process) -> int | None:
        return obj.current.number if obj.current else None

    @staticmethod
    def resolve_has_draft(obj: Process) -> bool:
        return bool(obj.draft)


class CheckOut(Schema):
    ok: bool = Field(description="No errors: the process can be published")
    findings: list[FindingOut]
    mermaid: str
    errors: list[ErrorOut] = Field(description="Problems reading the file (line and field), if any")


class StageDiffOut(Schema):
    key: str
    name: str
    changes: list[str] = Field(
        description="renamed, kind, time limit, owner, requires, checklist, definition"
    )


class StepOut(Schema):
    source: str = Field(description="The stage it leaves")
    target: str = Field(description="The stage it enters")
    label: str


class AffectedOut(Schema):
    stage: str
    count: int
    fate: str = Field(
        description="stays, renamed (same key, new name) or stranded (the draft removes the stage)"
    )
    target: str | None = Field(
        description="Where a migration would take them (same key, or a stage of that name)"
    )
    over_new_limit: int
    record_ids: list[int] = Field(description="The first 200 of the renamed or stranded stage, oldest first")


class ReviewOut(Schema):
    ok: bool = Field(description="No errors: the draft can be published")
    errors: int
    warnings: int
    added: list[str]
    removed: list[str]
    changed: list[StageDiffOut]
    steps_added: list[StepOut]
    steps_removed: list[StepOut]
    affected: list[AffectedOut]
    stranded: int
    suggested_map: dict[str, str]


class MigrationOut(Schema):
    from_version: int
    to_version: int
    stage_map: dict[str, str]
    records: int
    at: dt.datetime

    @staticmethod
    def resolve_from_version(obj) -> int:
        return obj.from_version.number

    @staticmethod
    def resolve_to_version(obj) -> int:
        return obj.to_version.number


def _source(payload: SourceIn) -> str:
    if (payload.source is None) == (payload.definition is None):
        raise FridayError(
            "Send the process as `source` (YAML) or as `definition` (JSON), one of them.",
            code="invalid.body",
            field="source",
        )
    if payload.source is not None:
        return payload.source
    return yaml.safe_dump(payload.definition, sort_keys=False, allow_unicode=True, width=100)


def _process(key: str) -> Process:
    return selectors.process_get(key=key)


def _check(source: str) -> dict[str, Any]:
    try:
        definition = services.parse(source)
    except ValidationFailed as exc:
        return {
            "ok": False,
            "findings": [],
            "mermaid": "",
            "errors": [{"code": e.code, "detail": e.detail, "field": e.field} for e in exc.errors],
        }
    findings = services.process_lint(definition)
    return {
        "ok": not any(f.severity == "error" for f in findings),
        "findings": findings,
        "mermaid": to_mermaid(definition),
        "errors": [],
    }


@router.get("", response=list[ProcessSummaryOut], summary="Every process: what it moves, its version, drafts")
def process_list(request: AuthedRequest):
    return selectors.process_list()


@router.get("/schema", response=dict[str, Any], summary="The JSON Schema of a process file")
def process_schema(request: AuthedRequest):
    return PROCESS_SCHEMA


@router.post(
    "/check", response={200: CheckOut, **ERRORS}, summary="Read and lint a process without saving it"
)
def process_check(request: AuthedRequest, payload: SourceIn):
    return _check(_source(payload))


@router.post(
    "/import",
    response={200: ProcessOut, 201: ProcessOut, **ERRORS},
    summary="Create or update a process and publish it (like `friday process import`)",
)
def process_import(request: AuthedRequest, payload: SourceIn):
    process, version = services.process_import(by=request.user, source=_source(payload), note=payload.note)
    return Status(201 if version is not None else 200, process)


@router.post(
    "", response={201: ProcessOut, **ERRORS}, summary="Create a process as a draft (publish it next)"
)
def process_create(request: AuthedRequest, payload: SourceIn):
    return Status(201, services.process_create(by=request.user, source=_source(payload)))


@router.get(
    "/{key}", response={200: ProcessOut, **ERRORS}, summary="A process and its current version as JSON"
)
def process_get(request: AuthedRequest, key: Str100):
    return _process(key)


@router.get("/{key}/yaml", response={200: str, **ERRORS}, summary="A version as YAML (default: the current)")
def process_yaml(request: AuthedRequest, key: Str100, version: int | None = None):
    return HttpResponse(
        selectors.version_get(process=_process(key), number=version).source,
        content_type="application/yaml; charset=utf-8",
    )


@router.get(
    "/{key}/drawing", response={200: str, **ERRORS}, summary="A version as a Mermaid or DOT flowchart"
)
def process_drawing(
    request: AuthedRequest,
    key: Str100,
    format: Literal["mermaid", "dot"] = "mermaid",
    version: int | None = None,
):
    definition = selectors.version_get(process=_process(key), number=version).definition
    text = to_mermaid(definition) if format == "mermaid" else to_dot(definition)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@router.get("/{key}/versions", response={200: list[VersionOut], **ERRORS})
def process_versions(request: AuthedRequest, key: Str100):
    return _process(key).versions.select_related("published_by").order_by("-number")


@router.get("/{key}/draft", response={200: CheckOut, **ERRORS}, summary="The draft, read and linted")
def process_draft(request: AuthedRequest, key: Str100):
    process = _process(key)
    if not process.draft:
        raise NotFound(f"{process.name} has no draft.", code="process.no_draft")
    return _check(process.draft)


@router.get(
    "/{key}/draft/review",
    response={200: ReviewOut, **ERRORS},
    summary="What publishing the draft would change: stages, steps, and the records it would strand",
)
def process_draft_review(request: AuthedRequest, key: Str100):
    from friday.processes.sandbox import draft_review

    services.require_process_editor(request.user)
    review = draft_review(_process(key), user=request.user)

    def step(t: Any) -> dict[str, str]:
        return {"source": t.source, "target": t.target, "label": t.label}

    return {
        "ok": review.errors == 0,
        "errors": review.errors,
        "warnings": review.warnings,
        "added": [s.key for s in review.added],
        "removed": [s.key for s in review.removed],
        "changed": [
            {"key": c.key, "name": c.new.name if c.new else "", "changes": c.changes} for c in review.changed
        ],
        "steps_added": [step(t) for t in review.transitions_added],
        "steps_removed": [step(t) for t in review.transitions_removed],
        "affected": [
            {
                "stage": a.stage.key,
                "count": a.count,
                "fate": a.fate,
                "target": a.target.key if a.target else None,
                "over_new_limit": a.over_new_limit,
                "record_ids": [r[0] for r in a.records],
            }
            for a in review.affected
        ],
        "stranded": review.stranded,
        "suggested_map": review.suggested_map,
    }


@router.put(
    "/{key}/draft", response={200: CheckOut, **ERRORS}, summary="Save the draft (records are unaffected)"
)
def process_draft_save(request: AuthedRequest, key: Str100, payload: SourceIn):
    source = _source(payload)
    services.process_draft_save(by=request.user, process=_process(key), source=source)
    return _check(source)


@router.delete("/{key}/draft", response={204: None, **ERRORS}, summary="Throw the draft away")
def process_draft_discard(request: AuthedRequest, key: Str100):
    services.process_draft_discard(by=request.user, process=_process(key))
    return Status(204, None)


@router.post(
    "/{key}/publish", response={201: VersionOut, **ERRORS}, summary="Publish the draft as a new version"
)
def process_publish(request: AuthedRequest, key: Str100, payload: PublishIn):
    return Status(201, services.process_publish(by=request.user, process=_process(key), note=payload.note))


@router.post(
    "/{key}/migrate",
    response={201: MigrationOut, **ERRORS},
    summary="Move the records on an older version to the current one, with a stage map",
)
def process_migrate(request: AuthedRequest, key: Str100, payload: MigrateIn):
    process = _process(key)
    version = selectors.version_get(process=process, number=payload.from_version, field="from_version")
    return Status(
        201,
        services.process_migrate(
            by=request.user, process=process, from_version=version, stage_map=dict(payload.stage_map)
        ),
    )


# --- moves ----------------------------------------------------------------------------------------------------


class MoveIn(InSchema):
    record_type: RecordTypeIn
    record_id: Id
    to: Str100
    reason: Str2000 = ""
    override: bool = False
    checked: list[Str200] = Field([], max_length=100)


class StageChangeOut(Schema):
    id: int
    record_type: str
    record_id: int
    process: str
    version: int
    from_stage: str
    to_stage: str
    at: dt.datetime
    by: str | None
    reason: str
    overridden: bool
    declared: bool
    backward: bool
    checked: list[str]
    seconds_in_stage: int | None

    @staticmethod
    def resolve_process(obj: StageChange) -> str:
        return obj.process.key

    @staticmethod
    def resolve_version(obj: StageChange) -> int:
        return obj.version.number

    @staticmethod
    def resolve_by(obj: StageChange) -> str | None:
        return obj.by.username if obj.by else None


class HistoryParams(Schema):
    record_type: RecordTypeIn
    record_id: Id
    cursor: Str500 | None = None
    limit: int = Field(50, ge=1, le=200)


class HistoryPage(Schema):
    items: list[StageChangeOut]
    next_cursor: str | None


def _record(request: AuthedRequest, record_type: str, record_id: int):
    kind = records.kind_for(record_type)
    if kind is None:
        raise FridayError(
            f"{record_type} records are not installed yet.", code="invalid.record_type", field="record_type"
        )
    try:
        return kind.get(request.user, record_id)
    except NotFound as exc:
        exc.field = "record_id"
        raise


@moves_router.post(
    "",
    response={201: StageChangeOut, **ERRORS},
    summary="Move a record to another stage",
    description="422 `stage.undeclared` lists the allowed next stages in `extra.allowed`; unmet requirements "
    "come back one per field in `errors`. `override` (with a `reason`) needs the override permission.",
)
def move_create(request: AuthedRequest, payload: MoveIn):
    record = _record(request, payload.record_type, payload.record_id)
    change = services.stage_move(
        by=request.user,
        record_type=payload.record_type,
        record=record,
        to=payload.to,
        reason=payload.reason,
        override=payload.override,
        checked=payload.checked,
    )
    return Status(201, StageChange.objects.select_related("process", "version", "by").get(pk=change.pk))


@moves_router.get("", response={200: HistoryPage, **ERRORS}, summary="A record's stage history, newest first")
def move_history(request: AuthedRequest, params: Query[HistoryParams]):
    record = _record(request, params.record_type, params.record_id)
    page = selectors.stage_history(
        record_type=params.record_type, record_id=record.pk, cursor=params.cursor, limit=params.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


# --- analytics ------------------------------------------------------------------------------------------------


class RangeParams(Schema):
    since: dt.date | None = Field(None, description="First day (business time zone); default 90 days ago")
    until: dt.date | None = Field(None, description="Last day, included; default today")


class FunnelRowOut(Schema):
    stage: str
    name: str
    kind: str
    entered: int
    converted: int
    lost: int
    went_back: int
    still_here: int
    median_seconds: int | None
    p90_seconds: int | None


class FunnelOut(Schema):
    process: str
    since: dt.date
    until: dt.date
    stages: list[FunnelRowOut]


class PersonOut(Schema):
    user_id: int | None
    name: str
    moves: int
    undeclared: int
    backward: int
    overridden: int


class EdgeOut(Schema):
    from_stage: str
    to_stage: str
    count: int
    declared: bool


class ConformanceOut(Schema):
    process: str
    since: dt.date
    until: dt.date
    moves: int
    declared: int
    share: float | None
    backward: int
    overridden: int
    undeclared: list[EdgeOut]
    people: list[PersonOut]
    discovered: list[EdgeOut] = Field(description="Every move that happened, counted (from '' = entered)")


def _range(params: RangeParams) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    until = params.until or clock.today()
    since = params.since or until - dt.timedelta(days=89)
    if since > until:
        raise FridayError("`since` must not be after `until`.", code="invalid.range", field="since")
    if (until - since).days > 3660:
        raise FridayError("Ask for at most ten years at once.", code="invalid.range", field="since")
    start, end = analytics.range_bounds(since, until)
    return since, until, start, end


def _published(request: AuthedRequest, key: str) -> Process:
    services.require_analytics(request.user)
    process = _process(key)
    if process.current is None:
        raise NotFound(f"{process.name} is not published yet.", code="process.version_not_found")
    return process


@router.get(
    "/{key}/funnel", response={200: FunnelOut, **ERRORS}, summary="Funnel and time in stage for a range"
)
def process_funnel(request: AuthedRequest, key: Str100, params: Query[RangeParams]):
    process = _published(request, key)
    since, until, start, end = _range(params)
    rows = analytics.funnel(process, start, end)
    return {
        "process": process.key,
        "since": since,
        "until": until,
        "stages": [
            {
                "stage": r.stage.key,
                "name": r.stage.name,
                "kind": r.stage.kind,
                "entered": r.entered,
                "converted": r.converted,
                "lost": r.lost,
                "went_back": r.went_back,
                "still_here": r.still_here,
                "median_seconds": r.median_seconds,
                "p90_seconds": r.p90_seconds,
            }
            for r in rows
        ],
    }


@router.get(
    "/{key}/conformance",
    response={200: ConformanceOut, **ERRORS},
    summary="How much of the process is followed, by person, and the moves that actually happened",
)
def process_conformance(request: AuthedRequest, key: Str100, params: Query[RangeParams]):
    process = _published(request, key)
    since, until, start, end = _range(params)
    c = analytics.conformance(process, start, end)
    assert process.current is not None
    definition = process.current.definition
    declared = {(t.source, t.target) for t in definition.transitions}
    return {
        "process": process.key,
        "since": since,
        "until": until,
        "moves": c.moves,
        "declared": c.declared,
        "share": c.share,
        "backward": c.backward,
        "overridden": c.overridden,
        "undeclared": [
            {"from_stage": f, "to_stage": t, "count": n, "declared": False} for f, t, n in c.undeclared_edges
        ],
        "people": c.people,
        "discovered": [
            {
                "from_stage": f,
                "to_stage": t,
                "count": n,
                "declared": (f == "" and t == definition.initial) or (f, t) in declared,
            }
            for f, t, n in analytics.discovered_edges(process, start, end)
        ],
    }


# --- segments -------------------------------------------------------------------------------------------------

segments_router = Router(tags=["segments"])


class SegmentIn(InSchema):
    name: Str100
    description: Str2000 = ""
    shared: bool = True
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="stages, kinds, roles, tags, owner_ids, team_ids (lists); created_after/before, "
        "last_contact_after/before (dates); created_within_days, no_contact_days, contacted_within_days; "
        "custom: [{field, op, value}]",
    )


class SegmentPatchIn(InSchema):
    name: Str100 | None = None
    description: Str2000 | None = None
    shared: bool | None = None
    filters: dict[str, Any] | None = None


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    shared: bool
    filters: dict[str, Any]
    owner: str | None
    count: int | None = Field(None, description="Parties matching now, of those the caller may see")

    @staticmethod
    def resolve_owner(obj) -> str | None:
        return obj.owner.username if obj.owner else None


class FiltersIn(InSchema):
    filters: dict[str, Any]


class CountOut(Schema):
    count: int


def _segment_out(request: AuthedRequest, segment) -> Any:
    segment.count = segments.segment_count(user=request.user, filters=segment.filters)
    return segment


@segments_router.get("", response=list[SegmentOut], summary="Segments the caller may use, with live counts")
def segment_list(request: AuthedRequest):
    return [_segment_out(request, s) for s in segments.segments_visible(request.user).order_by("name")]


@segments_router.post("", response={201: SegmentOut, **ERRORS}, summary="Save a segment")
def segment_create(request: AuthedRequest, payload: SegmentIn):
    segment = segments.segment_save(by=request.user, **payload.model_dump())
    return Status(201, _segment_out(request, segment))


@segments_router.post(
    "/count", response={200: CountOut, **ERRORS}, summary="Count a filter without saving it"
)
def segment_preview(request: AuthedRequest, payload: FiltersIn):
    return {
        "count": segments.segment_count(user=request.user, filters=segments.clean_filters(payload.filters))
    }


@segments_router.get("/{segment_id}", response={200: SegmentOut, **ERRORS})
def segment_get(request: AuthedRequest, segment_id: Id):
    return _segment_out(request, segments.segment_get(user=request.user, segment_id=segment_id))


@segments_router.patch("/{segment_id}", response={200: SegmentOut, **ERRORS})
def segment_update(request: AuthedRequest, segment_id: Id, payload: SegmentPatchIn):

    segment = segments.segment_get(user=request.user, segment_id=segment_id)
    saved = segments.segment_save(
        by=request.user,
        segment=segment,
        name=segment.name if payload.name is None else payload.name,
        description=segment.description if payload.description is None else payload.description,
        filters=segment.filters if payload.filters is None else payload.filters,
        shared=segment.shared if payload.shared is None else payload.shared,
    )
    return _segment_out(request, saved)


@segments_router.delete("/{segment_id}", response={204: None, **ERRORS})
def segment_delete(request: AuthedRequest, segment_id: Id):

    segments.segment_delete(
        by=request.user, segment=segments.segment_get(user=request.user, segment_id=segment_id)
    )
    return Status(204, None)
