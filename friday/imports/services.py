"""The only write path for imports: upload, map, run (or dry-run), undo — and saved mappings.

A run reads the file as a stream, in batches of `BATCH` rows; each batch is validated (no query), matched
(one query per kind of key) and written (a few grouped statements) in one transaction, together with the run's
counters, so the summary on the page always adds up to the rows read, and a run stopped half-way (a worker
killed) resumes after the last committed batch. A dry run goes through exactly the same decisions and writes
nothing but its report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q

from friday.accounts.models import User
from friday.accounts.scoping import require_write, visible_q
from friday.core import business, clock, fastinsert
from friday.core.errors import Collector, Conflict, FridayError, PermissionDenied
from friday.core.events import event_emit
from friday.core.lookups import Many
from friday.imports import formats, mapping
from friday.imports.formats import FileProblem, Reader, SourceRow
from friday.imports.models import (
    DateOrder,
    ExternalId,
    ImportFailure,
    ImportJob,
    ImportMapping,
    ImportRecord,
    ImportStatus,
    MatchOn,
    OnMatch,
    RecordAction,
)
from friday.imports.validate import ROLE_WORDS, Checked, Clean, Context, check_row
from friday.insights import metrics
from friday.insights.models import CustomerMetrics
from friday.parties import bulk
from friday.parties import vcard as party_vcard
from friday.parties.models import CustomField, EmailAddress, Party, PartyKind, Phone, RoleName
from friday.parties.services import clean_tags

log = logging.getLogger(__name__)

# Rows per transaction. Each commit writes every index page the batch touched to SQLite's log, and a batch of
# random names and emails touches most leaf pages of those indexes, so bigger batches write fewer pages per row:
# 5,000-row batches wrote ~35% faster than 1,000-row ones, 10,000 another 4–6% (writer CPU 12.9 → 12.2 s on
# 100k rows, +37 MB); 20,000 gained ~1.5% more for +57 MB. A batch holds the write lock for about 1.5 s, well
# inside the busy timeout others wait with.
BATCH = 10000
# Batches between two collections of the young objects (`fastinsert.collect_young`): each walks what the batches
# in flight hold (~13 ms), and an import leaves few reference cycles to free.
COLLECT_EVERY = 4
PARALLEL_FROM_BYTES = 2 * 1024 * 1024  # files this big have their rows checked by other processes too
PREVIEW_ROWS = 20
STALE_AFTER = dt.timedelta(
    minutes=2
)  # a running import whose worker has been silent this long can be resumed
MDY_REGIONS = {"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"}


# --- upload and settings ----------------------------------------------------------------------------------------


def _default_team(by: User):
    return None if by.sees_all else by.teams.order_by("name").first()


def _open(job: ImportJob) -> IO[bytes]:
    job.file.open("rb")
    return job.file.file


def _reader(job: ImportJob, handle: IO[bytes]) -> Reader:
    return formats.open_reader(
        handle, file_format=job.file_format, size=job.size, encoding=job.encoding, delimiter=job.delimiter
    )


def _read_headers(job: ImportJob) -> tuple[list[str], list[str]]:
    """The file's headers and its notes; FileProblem when it is empty or has a header and nothing under it."""
    handle = _open(job)
    try:
        reader = _reader(job, handle)
        first = next(reader.rows, None)
        if first is None:
            columns = ", ".join(reader.headers[:6]) + (" …" if len(reader.headers) > 6 else "")
            raise FileProblem(
                f"The file has a header row ({len(reader.headers)} columns: {columns}) but no rows under it: "
                "there is nothing to import.",
                code="import.header_only",
            )
        return reader.headers, reader.notes
    finally:
        job.file.close()


@transaction.atomic
def import_upload(
    *,
    by: User,
    upload: IO[bytes],
    filename: str,
    size: int,
    origin: str = "page",
    saved_mapping: ImportMapping | None = None,
) -> ImportJob:
    """Store the file, recognise its format, encoding and headers, and propose a mapping. Nothing is imported
    yet: the page shows a preview first. Refuses an empty file, one without rows and unreadable ones (422)."""
    require_write(by)
    head = upload.read(formats.SAMPLE_BYTES)
    upload.seek(0)
    sniffed = formats.sniff(filename, head)
    job = ImportJob(
        created_by=by,
        team=_default_team(by),
        created_at=clock.now(),
        filename=filename[:255],
        size=size,
        file_format=sniffed.file_format,
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        origin=origin,
        date_order=DateOrder.MDY if business.region() in MDY_REGIONS else DateOrder.DMY,
    )
    job.file.save(filename[-100:] or "import", File(upload), save=False)
    try:
        headers, _ = _read_headers(job)
    except FridayError:
        job.file.delete(save=False)
        raise
    job.headers = headers
    definitions = list(CustomField.objects.all())
    detected = mapping.detect(headers, definitions, file_format=job.file_format)
    job.detected = detected.label
    if saved_mapping is None and job.file_format != "vcard":
        saved_mapping = _saved_for(headers, detected.mapping)
    if saved_mapping is not None:
        job.mapping = mapping.with_saved(headers, saved_mapping.columns, detected.mapping)
        job.saved_mapping = saved_mapping
    else:
        job.mapping = detected.mapping
    job.source = detected.source
    job.match_on = _default_match(job.mapping)
    job.save()
    return job


def _saved_for(headers: list[str], detected: list[str]) -> ImportMapping | None:
    """The newest saved mapping made for files like this one: every column it names is in this file, and it
    maps at least as many of the file's columns as recognising the headers does."""
    present = {mapping.normalise_header(h) for h in headers}
    enough = sum(1 for t in detected if t)
    for saved in ImportMapping.objects.order_by("-updated_at", "-id"):
        columns = saved.columns or {}
        if (
            columns
            and set(columns) <= present
            and sum(1 for t in mapping.with_saved(headers, columns, detected) if t) >= enough
        ):
            return saved
    return None


def _default_match(targets: list[str]) -> str:
    if "external_id" in targets:
        return MatchOn.EXTERNAL_ID
    if "email" in targets:
        return MatchOn.EMAIL
    if "phone" in targets:
        return MatchOn.PHONE
    return MatchOn.NONE


def _require_draft(by: User, job: ImportJob) -> None:
    require_write(by)
    if job.status != ImportStatus.DRAFT:
        raise Conflict(
            "This import has already been run; start a new one to change it.", code="import.not_draft"
        )


@dataclass
class Settings:
    mapping: list[str]
    match_on: str = MatchOn.EMAIL
    on_match: str = OnMatch.SKIP
    date_order: str = DateOrder.DMY
    source: str = ""
    encoding: str = ""
    delimiter: str = ""
    roles: list[str] | None = None  # given to every row (None: leave as set)
    tags: list[str] | None = None


@transaction.atomic
def import_configure(*, by: User, job: ImportJob, data: Settings) -> ImportJob:
    """Change the mapping and options of an import not yet run. A new encoding or separator re-reads the headers
    (and proposes a mapping again when the columns changed)."""
    _require_draft(by, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    errors = Collector()
    if data.match_on not in MatchOn.values:
        errors.add("match_on", "Match on email, phone, the source's id, or nothing.", code="invalid.choice")
    if data.on_match not in OnMatch.values:
        errors.add("on_match", "On a match: skip, update or create.", code="invalid.choice")
    if data.date_order not in DateOrder.values:
        errors.add("date_order", "Dates are day first or month first.", code="invalid.choice")
    source = (data.source or job.source).strip().lower()
    if not source or len(source) > 40:
        errors.add("source", "Name the source in 1 to 40 characters (e.g. hubspot).", code="invalid.source")
    reread = False
    if data.encoding and data.encoding != job.encoding:
        import codecs

        try:
            codecs.lookup(data.encoding)
        except LookupError:
            errors.add("encoding", f"{data.encoding!r} is not an encoding.", code="invalid.encoding")
        else:
            job.encoding = data.encoding
            reread = True
    if data.delimiter and data.delimiter != job.delimiter:
        if data.delimiter not in formats.DELIMITERS:
            errors.add(
                "delimiter", "The separator is a comma, semicolon, tab or bar.", code="invalid.delimiter"
            )
        else:
            job.delimiter = data.delimiter
            reread = True
    roles = _every_row_roles(errors, data.roles) if data.roles is not None else job.add_roles
    tags = _every_row_tags(errors, data.tags) if data.tags is not None else job.add_tags
    errors.raise_if_any()
    job.add_roles, job.add_tags = roles, tags
    if reread:
        headers, _ = _read_headers(job)
        if headers != job.headers:
            job.headers = headers
            job.mapping = mapping.detect(
                headers, CustomField.objects.all(), file_format=job.file_format
            ).mapping
    else:
        keys = set(CustomField.objects.values_list("key", flat=True))
        mapping.check(job.headers, data.mapping, keys).raise_if_any()
        job.mapping = data.mapping
    job.match_on, job.on_match, job.date_order, job.source = (
        data.match_on,
        data.on_match,
        data.date_order,
        source,
    )
    if job.match_on == MatchOn.EXTERNAL_ID and "external_id" not in job.mapping:
        raise FridayError(
            "To match on the source's id, map a column as 'Id in the source system'.",
            code="import.no_external_id",
            field="match_on",
        )
    job.save()
    return job


MAX_EVERY_ROW_TAGS = 20


def _every_row_roles(errors: Collector, given: list[str]) -> list[str]:
    roles: list[str] = []
    for raw in given:
        word = raw.strip().lower()
        if not word:
            continue
        role = ROLE_WORDS.get(word, word)
        if role not in RoleName.values:
            errors.add(
                "roles",
                f"Unknown role {raw.strip()!r}; use {', '.join(RoleName.values)}.",
                code="invalid.role",
            )
        elif role not in roles:
            roles.append(role)
    return roles


def _every_row_tags(errors: Collector, given: list[str]) -> list[str]:
    tags = clean_tags(errors, given)
    if len(tags) > MAX_EVERY_ROW_TAGS:
        errors.add("tags", f"At most {MAX_EVERY_ROW_TAGS} tags for every row.", code="invalid.too_many")
    return tags


@transaction.atomic
def mapping_save(*, by: User, job: ImportJob, name: str) -> ImportMapping:
    """Keep this import's mapping under a name, to apply it to the next file with these headers."""
    require_write(by)
    name = name.strip()
    if not name or len(name) > 100:
        raise FridayError("Name the mapping in 1 to 100 characters.", code="invalid.name", field="name")
    now = clock.now()
    saved, created = ImportMapping.objects.get_or_create(
        name=name,
        defaults={"columns": {}, "created_by": by, "created_at": now, "updated_at": now},
    )
    if not created and saved.created_by_id != by.pk and not by.is_admin:
        raise PermissionDenied(
            f"The mapping {name!r} is someone else's: choose another name.", code="import.mapping_taken"
        )
    saved.columns = mapping.to_saved(job.headers, job.mapping)
    saved.updated_at = now
    saved.save()
    ImportJob.objects.filter(pk=job.pk).update(saved_mapping=saved)
    return saved


@transaction.atomic
def mapping_delete(*, by: User, saved: ImportMapping) -> None:
    require_write(by)
    if saved.created_by_id != by.pk and not by.is_admin:
        raise PermissionDenied(
            "Only its author or an admin can delete a saved mapping.", code="permission.denied"
        )
    saved.delete()


@transaction.atomic
def import_discard(*, by: User, job: ImportJob) -> None:
    """Throw away an import that was never run (uploaded, perhaps mapped): the job and its stored file."""
    _require_draft(by, job)
    if job.created_by_id != by.pk and not by.is_admin:
        raise PermissionDenied(
            "Only who uploaded it or an admin can discard this import.", code="permission.denied"
        )
    name, storage = job.file.name, job.file.storage
    job.delete()
    if name and not ImportJob.objects.filter(file=name).exists():
        transaction.on_commit(
            lambda: storage.delete(name)
        )  # not before: a rollback keeps the job, and its file


@transaction.atomic
def mapping_apply(*, by: User, job: ImportJob, saved: ImportMapping) -> ImportJob:
    _require_draft(by, job)
    detected = mapping.detect(job.headers, list(CustomField.objects.all()), file_format=job.file_format)
    job.mapping = mapping.with_saved(job.headers, saved.columns, detected.mapping)
    job.saved_mapping = saved
    job.save(update_fields=["mapping", "saved_mapping"])
    return job


@transaction.atomic
def import_start(*, by: User, job: ImportJob, dry_run: bool, enqueue: bool = True) -> ImportJob:
    """Queue the run (or dry run) for the worker. A finished dry run is run for real as a new import with the
    same file and settings, so the dry run's report stays as it was."""
    require_write(by)
    if job.dry_run and job.status == ImportStatus.DONE and not dry_run:
        job = _clone(job, by=by)
    elif job.status != ImportStatus.DRAFT:
        raise Conflict("This import has already been run.", code="import.not_draft")
    keys = set(CustomField.objects.values_list("key", flat=True))
    mapping.check(job.headers, job.mapping, keys).raise_if_any()
    job.dry_run = dry_run
    job.status = ImportStatus.QUEUED
    job.heartbeat_at = clock.now()  # the last sign of life: queued now (silent from here on means stuck)
    job.save(update_fields=["dry_run", "status", "heartbeat_at"])
    if enqueue:  # `friday import` runs it in its own process instead, with a progress bar
        from friday.imports.tasks import import_run_task

        import_run_task.enqueue(job_id=job.pk)
    return job


def _clone(job: ImportJob, *, by: User) -> ImportJob:
    copy = ImportJob.objects.create(
        created_by=by,
        team=_default_team(by),
        created_at=clock.now(),
        file=job.file.name,
        filename=job.filename,
        size=job.size,
        file_format=job.file_format,
        encoding=job.encoding,
        delimiter=job.delimiter,
        headers=job.headers,
        mapping=job.mapping,
        saved_mapping=job.saved_mapping,
        detected=job.detected,
        source=job.source,
        match_on=job.match_on,
        on_match=job.on_match,
        date_order=job.date_order,
        add_roles=job.add_roles,
        add_tags=job.add_tags,
        origin=job.origin,
    )
    return copy


def is_stuck(job: ImportJob) -> bool:
    """Queued or running, and no sign of life from a worker for STALE_AFTER (queuing counts as one)."""
    if job.status not in (ImportStatus.RUNNING, ImportStatus.QUEUED):
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return last < clock.now() - STALE_AFTER


@transaction.atomic
def import_resume(*, by: User, job: ImportJob) -> ImportJob:
    """Queue again a run whose worker stopped (killed, machine restarted): it goes on after the last batch."""
    require_write(by)
    job = ImportJob.objects.get(pk=job.pk)
    if not is_stuck(job):
        raise Conflict("This import is not stuck: nothing to resume.", code="import.not_stuck")
    from friday.imports.tasks import import_run_task

    import_run_task.enqueue(job_id=job.pk)
    return job


# --- preview ----------------------------------------------------------------------------------------------------


@dataclass
class PreviewCell:
    value: str
    target: str
    problem: str = ""


@dataclass
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    problems: list[tuple[str, str]]  # problems not tied to one column
    outcome: str = ""  # create / update / skip / fail / empty
    detail: str = ""
    clean: Clean | None = None


@dataclass
class Preview:
    headers: list[str]
    mapping: list[str]
    rows: list[PreviewRow]
    notes: list[str]
    problem: str = ""


def import_preview(*, by: User, job: ImportJob, limit: int = PREVIEW_ROWS) -> Preview:
    """The first rows as they would be imported: every cell validated, and what would happen to each row
    (create, update which record, skip, fail and why). Reads only."""
    handle = _open(job)
    try:
        try:
            reader = _reader(job, handle)
        except FileProblem as exc:
            return Preview(headers=job.headers, mapping=job.mapping, rows=[], notes=[], problem=exc.detail)
        ctx = Context.for_job(job, by=by, headers=reader.headers)
        checked: list[Checked] = []
        problem = ""
        try:
            for row in reader.rows:
                checked.append(check_row(row, ctx))
                if len(checked) >= limit:
                    break
        except FileProblem as exc:
            problem = exc.detail
        engine = Engine(job=job, by=by, ctx=ctx, dry_run=True, persist=False)
        outcomes = engine.decide_only(checked)
        rows = []
        for item, (outcome, detail) in zip(checked, outcomes, strict=True):
            by_column = defaultdict(list)
            loose = []
            for column, reason in item.problems:
                if column in reader.headers:
                    by_column[column].append(reason)
                else:
                    loose.append((column, reason))
            cells = [
                PreviewCell(
                    value=value,
                    target=job.mapping[i] if i < len(job.mapping) else "",
                    problem=" ".join(by_column.get(reader.headers[i], [])) if i < len(reader.headers) else "",
                )
                for i, value in enumerate(item.row.cells)
            ]
            rows.append(
                PreviewRow(
                    number=item.row.number,
                    cells=cells,
                    problems=loose,
                    outcome=outcome,
                    detail=detail,
                    clean=item.clean,
                )
            )
        return Preview(
            headers=reader.headers, mapping=job.mapping, rows=rows, notes=reader.notes, problem=problem
        )
    finally:
        job.file.close()


# --- the run ----------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    updated_unchanged: int = 0
    skipped: int = 0
    skipped_empty: int = 0
    failed: int = 0
    organisations_created: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Decision:
    item: Checked
    action: str  # create / update / skip / fail / empty
    party_id: int | None = None
    detail: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)


def _report_cell(value: str) -> str:
    """A cell as kept in the failure report: NUL and undecodable bytes shown, not stored (PostgreSQL refuses
    both in text and JSON)."""
    if "\x00" in value:
        value = value.replace("\x00", "\u2400")
    if formats._UNDECODABLE.search(value):
        value = formats._UNDECODABLE.sub("\ufffd", value)
    return value


class Engine:
    """Decides what each row does and writes it. `dry_run` decides the same way but writes only the report;
    it remembers the keys it would have created so later rows match them as they would for real."""

    def __init__(
        self, *, job: ImportJob, by: User, ctx: Context, dry_run: bool, persist: bool = True
    ) -> None:
        self.job = job
        self.by = by
        self.ctx = ctx
        self.dry_run = dry_run
        self.persist = persist
        self.source = job.source or "file"
        self.match_on = str(job.match_on)
        self.default_team = _default_team(by)
        self.pending: dict[str, int] = {}  # dry run: key → party (negative: would be created)
        self.pending_kind: dict[int, str] = {}
        self.pending_orgs: set[str] = set()
        self.next_fake = -1
        self.record_data = {"import_id": job.pk}
        self.subject_created = f"Imported from {job.filename} (import #{job.pk})"
        self.subject_updated = f"Updated by import #{job.pk} ({job.filename})"

    # keys ---------------------------------------------------------------------------------------------------

    def _match_keys(self, clean: Clean) -> list[str]:
        match_on = self.match_on
        if match_on == MatchOn.EMAIL:
            return [f"e:{e}" for e in clean.emails]
        if match_on == MatchOn.PHONE:
            return [f"p:{p}" for p in clean.phones]
        if match_on == MatchOn.EXTERNAL_ID and clean.external_id:
            return [f"x:{clean.external_id}"]
        return []

    def _lookup(self, items: list[Checked]) -> tuple[dict[str, set[int]], dict[int, str], dict[str, int]]:
        """Existing parties by key (visible to the importer), their kinds, and every party holding each
        external id of these rows (visible or not: an id belongs to one record only)."""
        emails: set[str] = set()
        phones: set[str] = set()
        externals: set[str] = set()
        by_email, by_phone = self.match_on == MatchOn.EMAIL, self.match_on == MatchOn.PHONE
        for item in items:
            clean = item.clean
            if clean is None:
                continue
            if by_email:
                emails.update(clean.emails)
            elif by_phone:
                phones.update(clean.phones)
            if clean.external_id:
                externals.add(clean.external_id)
        found: dict[str, set[int]] = defaultdict(set)
        kinds: dict[int, str] = {}
        scope = visible_q(self.by, owner="party__owner", team="party__team")
        for chunk in bulk.chunks(sorted(emails)):
            for address, pid, kind in EmailAddress.objects.filter(
                scope, address__in_list=Many(chunk)
            ).values_list("address", "party_id", "party__kind"):
                found[f"e:{address}"].add(pid)
                kinds[pid] = kind
        for chunk in bulk.chunks(sorted(phones)):
            for number, pid, kind in Phone.objects.filter(scope, number__in_list=Many(chunk)).values_list(
                "number", "party_id", "party__kind"
            ):
                found[f"p:{number}"].add(pid)
                kinds[pid] = kind
        owners: dict[str, int] = {}
        for chunk in bulk.chunks(sorted(externals)):
            rows = ExternalId.objects.filter(
                source=self.source, external_id__in_list=Many(chunk)
            ).values_list("external_id", "party_id")
            owners.update(dict(rows))
        # A vCard exported by this install names its record by its own id (UID friday-<install>-party-<id>).
        own: dict[str, int] = {}
        for ext in externals - owners.keys():
            if (named := party_vcard.own_party_id(ext)) is not None:
                own[ext] = named
        if own:
            there = set(Party.objects.filter(pk__in_list=Many(own.values())).values_list("id", flat=True))
            owners.update({ext: named for ext, named in own.items() if named in there})
        if owners and self.match_on == MatchOn.EXTERNAL_ID:
            visible = Party.objects.filter(visible_q(self.by), pk__in_list=Many(owners.values())).values_list(
                "id", "kind"
            )
            visible_kinds = dict(visible)
            for ext, pid in owners.items():
                if pid in visible_kinds:
                    found[f"x:{ext}"].add(pid)
                    kinds[pid] = visible_kinds[pid]
        return found, kinds, owners

    # decisions ----------------------------------------------------------------------------------------------

    def decide_only(self, items: list[Checked]) -> list[tuple[str, str]]:
        """What each row would do (for the preview): (action, detail), in the rows' order."""
        out: dict[int, tuple[str, str]] = {}
        waiting = items
        while waiting:
            decisions, waiting = self._decide(waiting)
            for d in decisions:
                reason = "; ".join(r for _, r in d.problems) if d.problems else d.detail
                out[id(d.item)] = (d.action, reason)
        return [out[id(item)] for item in items]

    def _decide(self, items: list[Checked]) -> tuple[list[_Decision], list[Checked]]:
        """Decide these rows, except those that depend on an earlier row here (the same key, the same matched
        record): they wait, in order, for the next pass — after this one is written and can be matched."""
        found, kinds, owners = self._lookup(items)
        decisions: list[_Decision] = []
        waiting: list[Checked] = []
        seen_keys: set[str] = set()
        seen_parties: set[int] = set()
        on_match = self.job.on_match
        for item in items:
            if item.empty:
                decisions.append(_Decision(item, "empty", detail="empty row"))
                continue
            if item.clean is None:
                decisions.append(_Decision(item, "fail", problems=item.problems))
                continue
            clean = item.clean
            match_keys = self._match_keys(clean)
            keys = set(match_keys)
            if clean.external_id:
                keys.add(f"x:{clean.external_id}")
            matched: set[int] = set()
            for key in match_keys:
                if key in found:
                    matched |= found[key]
                if key in self.pending:
                    matched.add(self.pending[key])
            if not self.dry_run and (keys & seen_keys or matched & seen_parties):
                waiting.append(item)
                seen_keys |= keys
                seen_parties |= matched
                continue
            ext_owner = owners.get(clean.external_id) if clean.external_id else None
            if clean.external_id and f"x:{clean.external_id}" in self.pending:
                ext_owner = self.pending[f"x:{clean.external_id}"]
            decision: _Decision
            if matched and on_match == OnMatch.SKIP:
                decision = _Decision(item, "skip", detail=f"matches {_refs(matched)}")
            elif matched and on_match == OnMatch.UPDATE:
                if len(matched) > 1:
                    decision = _Decision(
                        item,
                        "fail",
                        problems=[
                            (
                                "",
                                f"This row matches {len(matched)} records ({_refs(matched)}) by "
                                f"{MatchOn(self.job.match_on).label.lower()}: Friday cannot tell which to "
                                "update. Merge them first, or match on something else.",
                            )
                        ],
                    )
                else:
                    party_id = next(iter(matched))
                    kind = kinds.get(party_id) or self.pending_kind.get(party_id, "")
                    if kind and kind != clean.kind:
                        decision = _Decision(
                            item,
                            "fail",
                            problems=[
                                (
                                    "",
                                    f"This row is {'a person' if clean.kind == PartyKind.PERSON else 'an organisation'} "
                                    f"but matches {_refs({party_id})}, "
                                    f"{'a person' if kind == PartyKind.PERSON else 'an organisation'}.",
                                )
                            ],
                        )
                    elif ext_owner is not None and ext_owner != party_id:
                        decision = _Decision(
                            item, "fail", problems=[_ext_taken(clean, self.source, ext_owner)]
                        )
                    else:
                        decision = _Decision(
                            item, "update", party_id=party_id, detail=f"updates {_refs({party_id})}"
                        )
            else:
                if clean.required_missing:
                    decision = _Decision(item, "fail", problems=list(clean.required_missing))
                elif ext_owner is not None:
                    decision = _Decision(item, "fail", problems=[_ext_taken(clean, self.source, ext_owner)])
                else:
                    detail = "creates a new record" + (f" (it matches {_refs(matched)})" if matched else "")
                    decision = _Decision(item, "create", detail=detail)
            decisions.append(decision)
            if decision.action in ("create", "update"):
                seen_keys |= keys
                seen_parties |= matched
                if self.dry_run:
                    party_ref = decision.party_id
                    if party_ref is None:
                        party_ref = self.next_fake
                        self.next_fake -= 1
                        self.pending_kind[party_ref] = clean.kind
                    for key in keys:
                        self.pending[key] = party_ref
        return decisions, waiting

    # writing ------------------------------------------------------------------------------------------------

    def run_batch(self, items: list[Checked]) -> Counts:
        """Decide and write one batch; the caller holds the transaction."""
        counts = Counts(rows_read=len(items))
        failures: list[tuple] = []
        writing = self.persist and not self.dry_run
        with bulk.search_index_later() if writing else contextlib.nullcontext() as index:
            self._run_passes(items, counts, failures, index)
            if self.persist:
                fastinsert.insert_rows(ImportFailure, ["job_id", "row", "problems", "values"], failures)
        return counts

    def _run_passes(
        self, items: list[Checked], counts: Counts, failures: list[tuple], index: bulk.SearchIndexLater | None
    ) -> None:
        waiting = items
        while waiting:
            decisions, waiting = self._decide(waiting)
            creates = [d for d in decisions if d.action == "create"]
            updates = [d for d in decisions if d.action == "update"]
            for d in decisions:
                if d.action == "empty":
                    counts.skipped += 1
                    counts.skipped_empty += 1
                elif d.action == "skip":
                    counts.skipped += 1
                elif d.action == "fail":
                    counts.failed += 1
                    failures.append(
                        (
                            self.job.pk,
                            d.item.row.number,
                            [[c, _report_cell(r)] for c, r in d.problems],
                            [_report_cell(v) for v in d.item.row.cells],
                        )
                    )
            counts.created += len(creates)
            counts.updated += len(updates)
            made, unchanged = self._write(creates, updates, index)
            counts.organisations_created += made
            counts.updated_unchanged += unchanged

    def _write(
        self, creates: list[_Decision], updates: list[_Decision], index: bulk.SearchIndexLater | None = None
    ) -> tuple[int, int]:
        """Write one stretch of decisions. Returns the organisations created for company names, and how many
        updates held nothing new (a dry run cannot tell: 0)."""
        people = [d for d in creates + updates if d.item.clean and d.item.clean.organisation]
        wanted = {d.item.clean.organisation_key: d.item.clean.organisation for d in people if d.item.clean}
        if self.dry_run or not self.persist:
            made = 0
            if wanted:
                existing = set(
                    Party.objects.filter(
                        visible_q(self.by), kind=PartyKind.ORGANISATION, sort_name__in_list=Many(wanted)
                    ).values_list("sort_name", flat=True)
                )
                rows = {
                    d.item.clean.sort_name
                    for d in creates
                    if d.item.clean and d.item.clean.kind == PartyKind.ORGANISATION
                }
                for key in wanted:
                    if key not in existing and key not in rows and key not in self.pending_orgs:
                        self.pending_orgs.add(key)
                        made += 1
                for key in rows:
                    self.pending_orgs.add(key)
            return made, 0
        # Organisations for people's company names: an existing one (the oldest of that name), an organisation
        # row of this stretch, or a new one.
        orgs: dict[str, bulk.Saved | bulk.NewParty] = {}
        existing_orgs: set[int] = set()
        if wanted:
            for sort_name, pk in (
                Party.objects.filter(
                    visible_q(self.by), kind=PartyKind.ORGANISATION, sort_name__in_list=Many(wanted)
                )
                .order_by("-id")
                .values_list("sort_name", "id")
            ):
                orgs[sort_name] = bulk.Saved(pk=pk, kind=PartyKind.ORGANISATION)
                existing_orgs.add(pk)
        items: list[bulk.NewParty] = []
        item_rows: list[tuple[bulk.NewParty, _Decision | None]] = []
        for d in creates:
            clean = d.item.clean
            assert clean is not None
            item = bulk.NewParty(
                values=clean,
                owner_id=clean.owner_id or self.by.pk,
                team_id=clean.team_id
                if clean.team_id is not None
                else getattr(self.default_team, "pk", None),
                subject=f"{self.subject_created}, row {clean.row}",
                data={**self.record_data, "row": clean.row},
            )
            items.append(item)
            item_rows.append((item, d))
            if clean.kind == PartyKind.ORGANISATION:
                orgs.setdefault(clean.sort_name, item)
        made = 0
        first_row: dict[str, int] = {}
        for d in people:
            if d.item.clean:
                first_row.setdefault(d.item.clean.organisation_key, d.item.row.number)
        implicit: dict[int, int] = {}  # id(NewParty) → the row that named the company first
        for key, name in wanted.items():
            if key not in orgs:
                org_values = Clean(row=0, kind=PartyKind.ORGANISATION, name=name, sort_name=key)
                item = bulk.NewParty(
                    values=org_values,
                    owner_id=self.by.pk,
                    team_id=getattr(self.default_team, "pk", None),
                    subject=f"{self.subject_created}: a company named in row {first_row[key]}",
                    data={**self.record_data, "row": first_row[key]},
                )
                orgs[key] = item
                implicit[id(item)] = first_row[key]
                items.insert(0, item)
                item_rows.insert(0, (item, None))
                made += 1
        for item, source in item_rows:
            if (
                source is not None
                and source.item.clean
                and source.item.clean.kind == PartyKind.PERSON
                and source.item.clean.organisation
            ):
                item.organisation = orgs[source.item.clean.organisation_key]
        bulk.party_bulk_create(by=self.by, items=items, index=index)
        records: list[tuple] = []  # job, party, party_ref, row, action, changes
        externals: list[tuple] = []  # source, external_id, party, job, created_at
        now = clock.now()
        job_id = self.job.pk
        for item, source in item_rows:
            assert item.party is not None
            pk = item.party.pk
            if source is None:
                records.append((job_id, pk, pk, implicit.get(id(item), 0), RecordAction.ORGANISATION, {}))
                continue
            clean = source.item.clean
            assert clean is not None
            records.append((job_id, pk, pk, clean.row, RecordAction.CREATED, {}))
            if clean.external_id:
                externals.append((self.source, clean.external_id, pk, job_id, now))
        patches = []
        for d in updates:
            clean = d.item.clean
            assert clean is not None and d.party_id is not None
            org = orgs.get(clean.organisation_key) if clean.organisation else None
            patches.append(
                bulk.Patch(
                    party_id=d.party_id,
                    values=clean,
                    organisation=org,
                    subject=f"{self.subject_updated}, row {clean.row}",
                    data={**self.record_data, "row": clean.row},
                )
            )
        changes = bulk.party_bulk_update(by=self.by, patches=patches, index=index)
        # No per-party events (rules must not fire on an import), so the customer figures that an import can
        # change are recomputed here: the scoping copies of a changed owner or team, a party that became a
        # customer, and an organisation that had nobody on file and now has someone. (New customers without a
        # purchase get their row from the nightly recompute; their figures are all zero until then.)
        refigure = {
            p.party_id
            for p, change in zip(patches, changes, strict=True)
            if {"owner_id", "team_id"} & set(change.get("fields", ()))
            or "customer" in change.get("roles", ())
        }
        staffed = existing_orgs | {pk for change in changes for pk in change.get("affiliations", ())}
        if staffed:
            refigure |= set(
                CustomerMetrics.objects.filter(party_id__in_list=Many(staffed), has_people=False).values_list(
                    "party_id", flat=True
                )
            )
        if refigure:
            metrics.compute(refigure)
        have_ext = set(
            ExternalId.objects.filter(
                source=self.source, party_id__in_list=Many(p.party_id for p in patches)
            ).values_list("party_id", "external_id")
        )
        for d, change in zip(updates, changes, strict=True):
            clean = d.item.clean
            assert clean is not None and d.party_id is not None
            if (
                clean.external_id
                and (d.party_id, clean.external_id) not in have_ext
                and party_vcard.own_party_id(clean.external_id) != d.party_id  # its own id: nothing to keep
            ):
                externals.append((self.source, clean.external_id, d.party_id, job_id, now))
                change["external_id"] = True
            records.append((job_id, d.party_id, d.party_id, clean.row, RecordAction.UPDATED, change))
        fastinsert.insert_rows(
            ImportRecord, ["job_id", "party_id", "party_ref", "row", "action", "changes"], records
        )
        fastinsert.insert_rows(
            ExternalId, ["source", "external_id", "party_id", "job_id", "created_at"], externals
        )
        return made, sum(1 for change in changes if not change)


def _refs(ids: set[int]) -> str:
    real = sorted(i for i in ids if i > 0)
    pending = len([i for i in ids if i < 0])
    parts = [f"#{i}" for i in real[:5]] + (["…"] if len(real) > 5 else [])
    if pending:
        parts.append(f"{pending} earlier row{'s' if pending > 1 else ''} of this file")
    return ", ".join(parts)


def _ext_taken(clean: Clean, source: str, owner: int) -> tuple[str, str]:
    where = f"record #{owner}" if owner > 0 else "an earlier row of this file"
    return (
        "",
        f"The id {clean.external_id!r} from {source} already belongs to {where}: match on the source's id to "
        "update it.",
    )


# --- running a whole file ---------------------------------------------------------------------------------------

Progress = Callable[[ImportJob], None]


def _claim(job_id: int) -> ImportJob | None:
    """Take the job for this process: queued, or running with a silent worker (resumed after a crash)."""
    now = clock.now()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(of=("self",)).filter(pk=job_id).first()
        if job is None:
            return None
        stale = job.heartbeat_at is None or job.heartbeat_at < now - STALE_AFTER
        if job.status == ImportStatus.QUEUED or (job.status == ImportStatus.RUNNING and stale):
            job.status = ImportStatus.RUNNING
            job.started_at = job.started_at or now
            job.heartbeat_at = now
            job.save(update_fields=["status", "started_at", "heartbeat_at"])
            return job
    return None


def import_run(
    *, job_id: int, progress: Progress | None = None, workers: int | None = None
) -> ImportJob | None:
    """Run a queued import to the end (the worker's task and `friday import` call this). Returns None when the
    job is not runnable here (already finished, or running in another worker)."""
    job = _claim(job_id)
    if job is None:
        return None
    by = job.created_by
    try:
        if by is None or not by.can_write:
            raise FileProblem(
                "The user who started this import can no longer change records.", code="import.user"
            )
        with fastinsert.bulk_session():
            _run(job, by, progress, workers)
    except FileProblem as exc:
        _finish(job, ImportStatus.FAILED, exc.detail)
    except Exception as exc:
        log.exception("import %s stopped", job.pk)
        _finish(job, ImportStatus.FAILED, f"The import stopped on an internal error ({type(exc).__name__}).")
        raise
    return ImportJob.objects.get(pk=job.pk)


def _run(job: ImportJob, by: User, progress: Progress | None, workers: int | None) -> None:
    if job.dry_run and job.rows_read:
        # A dry run remembers what it would have created only in memory: an interrupted one starts over.
        ImportFailure.objects.filter(job=job).delete()
        ImportJob.objects.filter(pk=job.pk).update(**dict.fromkeys(vars(Counts()), 0))
        job.refresh_from_db()
    handle = _open(job)
    try:
        reader = _reader(job, handle)
        ctx = Context.for_job(job, by=by, headers=reader.headers)
        engine = Engine(job=job, by=by, ctx=ctx, dry_run=job.dry_run)
        already = job.rows_read
        job.progress_total = reader.total
        batches = _batches(reader.rows, skip=already)
        for n, checked in enumerate(_checked(batches, ctx, _worker_count(job, workers)), start=1):
            with transaction.atomic():
                counts = engine.run_batch(checked)
                job.heartbeat_at = clock.now()
                job.progress_done = reader.done()
                _add_counts(job, counts)
            if progress is not None:
                progress(job)
            del checked  # the batch is written: let it go before the collector looks at what is left
            if n % COLLECT_EVERY == 0:
                fastinsert.collect_young()
        if job.rows_read == 0:
            raise FileProblem(
                "The file has a header row but no rows under it: there is nothing to import.",
                code="import.header_only",
            )
        _finish(job, ImportStatus.DONE, "")
    finally:
        job.file.close()


def _batches(rows: Iterator[SourceRow], *, skip: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for n, row in enumerate(rows):
        if n < skip:
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _worker_count(job: ImportJob, workers: int | None) -> int:
    """Processes that check rows while this one writes: none for small files (starting them costs more than
    it saves), else one fewer than the machine's processors (FRIDAY_IMPORT_WORKERS overrides)."""
    if workers is not None:
        return workers
    if job.size < PARALLEL_FROM_BYTES:
        return 0
    return (
        settings.FRIDAY_IMPORT_WORKERS
        if settings.FRIDAY_IMPORT_WORKERS >= 0
        else max(0, (os.cpu_count() or 1) - 1)
    )


def _checked(batches: Iterator[list[SourceRow]], ctx: Context, workers: int) -> Iterator[list[Checked]]:
    """Each batch checked, in order — here, or by `workers` processes a few batches ahead (never more, so the
    file is not read faster than it is written and memory stays flat)."""
    if workers <= 0:
        for batch in batches:
            yield [check_row(row, ctx) for row in batch]
        return
    import multiprocessing
    import pickle
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    from friday.imports import pool as pool_module

    # Spawned, not forked: a worker process may have threads (the scheduler) whose locks a fork would copy. A
    # pool process that dies breaks the pool (BrokenProcessPool): the import stops with an error, never hangs.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=pool_module.start,
        initargs=(pickle.dumps(ctx),),
    )
    try:
        # Starting the pool (a new process, Django set up in it) takes a second or two: until it answers, the
        # batches are checked here, and written as they are; then the pool keeps `workers * 2` batches ahead.
        started = pool.submit(pool_module.started)
        ahead: deque[tuple[list[SourceRow], Future | None]] = deque()

        def done(rows: list[SourceRow], future: Future | None) -> list[Checked]:
            return [check_row(row, ctx) for row in rows] if future is None else _unpack(rows, future)

        for batch in batches:
            ahead.append((batch, pool.submit(pool_module.check, batch) if started.done() else None))
            while ahead and (ahead[0][1] is None or len(ahead) > workers * 2):
                yield done(*ahead.popleft())
        while ahead:
            yield done(*ahead.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _unpack(rows: list[SourceRow], result: Any) -> list[Checked]:
    checked = []
    for row, (empty, problems, state) in zip(rows, result.result(), strict=True):
        clean = None if state is None else Clean(*state)
        checked.append(Checked(row=row, clean=clean, problems=problems, empty=empty))
    return checked


def _add_counts(job: ImportJob, counts: Counts) -> None:
    """Add a batch's counts to the job in the batch's own transaction: what is committed always adds up."""
    for name, value in vars(counts).items():
        setattr(job, name, getattr(job, name) + value)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=job.heartbeat_at,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        **{name: getattr(job, name) for name in vars(counts)},
    )


def _finish(job: ImportJob, status: str, error: str) -> None:
    with transaction.atomic():
        job.refresh_from_db()
        job.status = status
        job.error = error
        job.finished_at = clock.now()
        job.save(update_fields=["status", "error", "finished_at"])
        if job.created_by is not None:
            event_emit(
                name="import.finished" if status == ImportStatus.DONE else "import.stopped",
                subject=job,
                actor=job.created_by,
                payload={
                    "dry_run": job.dry_run,
                    "file": job.filename,
                    **{name: getattr(job, name) for name in vars(Counts())},
                    "error": error,
                },
            )


# --- undo -------------------------------------------------------------------------------------------------------


def _require_undoable(by: User, job: ImportJob) -> None:
    require_write(by)
    if job.created_by_id != by.pk and not by.sees_all:
        raise PermissionDenied(
            "Only who ran an import, a manager or an admin can undo it.", code="import.undo_denied"
        )
    if job.dry_run:
        raise Conflict("A dry run wrote nothing: there is nothing to undo.", code="import.dry_run")
    if job.status not in (ImportStatus.DONE, ImportStatus.FAILED):
        raise Conflict(
            f"This import is {job.get_status_display().lower()}: it cannot be undone now.",
            code="import.not_undoable",
        )


@transaction.atomic
def import_undo_request(*, by: User, job: ImportJob) -> ImportJob:
    """Queue the undo for the worker (a large import takes a while to take back)."""
    _require_undoable(by, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _require_undoable(by, job)
    job.status = ImportStatus.UNDOING
    job.undone_by = by
    job.save(update_fields=["status", "undone_by"])
    from friday.imports.tasks import import_undo_task

    import_undo_task.enqueue(job_id=job.pk, by_id=by.pk)
    return job


def import_undo(*, by: User, job: ImportJob) -> ImportJob:
    """Take back everything the import did, in one transaction: updated records get back the values it
    replaced (except fields changed again since), what it added is removed, and the records it created are
    deleted — except those worked on since (a deal, a note, an invoice …), which are kept and listed."""
    with fastinsert.bulk_session():
        return _undo(by, job)


@transaction.atomic
def _undo(by: User, job: ImportJob) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportStatus.UNDOING:
        require_write(by)
    else:
        _require_undoable(by, job)
    data = {"import_id": job.pk, "undo": True}
    subject = f"Import #{job.pk} ({job.filename}) undone: its changes taken back"
    restored = bulk.RestoreResult()
    updated = ImportRecord.objects.filter(job=job, action=RecordAction.UPDATED).order_by("-id")
    batch: list[tuple[int, dict]] = []
    for record in updated.iterator(chunk_size=2000):
        batch.append((record.party_ref, record.changes))
        if len(batch) >= BATCH:
            _restore(by, batch, subject, data, restored)
            batch = []
            fastinsert.collect_young()
    _restore(by, batch, subject, data, restored)
    removed_ids = ExternalId.objects.filter(job=job).delete()[0]
    created = ImportRecord.objects.filter(
        job=job, action__in=[RecordAction.CREATED, RecordAction.ORGANISATION]
    )
    gone_created = created.filter(party=None).count()
    kept: set[int] = set()
    deleted = 0
    # People first: an organisation the import created is kept only if something outside the import uses it.
    for people in (True, False):
        records = (
            created.filter(party__kind=PartyKind.PERSON)
            if people
            else created.exclude(party__kind=PartyKind.PERSON)
        )
        last = 0
        while True:  # a thousand at a time, in the order they were written: memory stays flat
            rows = list(
                records.filter(id__gt=last, party__isnull=False)
                .order_by("id")
                .values_list("id", "party_id")[:BATCH]
            )
            if not rows:
                break
            last = rows[-1][0]
            chunk = [pid for _, pid in rows if pid is not None]
            worked = bulk.parties_worked_on(chunk, skip=(ImportRecord, ExternalId), own_keys=("import_id",))
            kept |= worked
            deleted += bulk.party_bulk_delete(by=by, ids=[pk for pk in chunk if pk not in worked])
            fastinsert.collect_young()
    now = clock.now()
    job.status = ImportStatus.UNDONE
    job.undone_at = now
    job.undone_by = by
    job.undo_summary = {
        "deleted": deleted,
        "restored": restored.restored,
        "kept_fields": restored.kept_fields,
        "gone": restored.gone + gone_created,
        "kept": sorted(kept)[:100],
        "kept_count": len(kept),
        "external_ids_removed": removed_ids,
    }
    job.save(update_fields=["status", "undone_at", "undone_by", "undo_summary"])
    event_emit(
        name="import.undone", subject=job, actor=by, payload={"file": job.filename, **job.undo_summary}
    )
    return job


def _restore(
    by: User, batch: list[tuple[int, dict]], subject: str, data: dict, total: bulk.RestoreResult
) -> None:
    if not batch:
        return
    result = bulk.party_bulk_restore(by=by, changes=batch, subject=subject, data=data)
    metrics.compute([pk for pk, _ in batch])  # their figures' owner and team copies follow the restore
    total.restored += result.restored
    total.kept_fields += result.kept_fields
    total.gone += result.gone


def failures_rows(job: ImportJob) -> Iterator[list[Any]]:
    """The failure report: one line per failed row — its row, the columns at fault, the reasons — then the row's
    cells as read, so the file can be corrected and imported again (a row with two problems is still one row;
    with several, each reason is on its own line of the cell, after its column)."""
    for failure in ImportFailure.objects.filter(job=job).order_by("row").iterator(chunk_size=2000):
        problems = failure.problems or [["", ""]]
        columns = list(dict.fromkeys(c for c, _ in problems if c))
        if len(problems) == 1:
            reason = problems[0][1]
        else:
            reason = "\n".join(f"{c}: {r}" if c else r for c, r in problems)
        yield [failure.row, "; ".join(columns), reason, *failure.values]


def failures_header(job: ImportJob) -> list[str]:
    return ["row", "column", "reason", *job.headers]


def importable_users(by: User) -> Q:
    return visible_q(by, owner="created_by", team="team")
