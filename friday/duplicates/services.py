"""The only write path for duplicates: the scan that stores likely pairs, dismissing a pair, and the merge.

A merge (`party_merge`) is one transaction: the survivor takes the chosen values, contact points, roles, tags,
addresses and affiliations are unioned, every row of the other party moves to the survivor (see `relations`),
the other party is deleted, the survivor's customer figures are recomputed, and the timeline entry, the merge
record (the audit) and the `party.merged` event are written. A refusal changes nothing.

Who may merge: anyone who may change records (not read-only) and can see both parties — admins and managers
see all; a member merges records of their own scope (own or team). A member may already edit and delete such
records; a merge is an edit of one and a deletion of the other that loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from friday.accounts.models import User
from friday.accounts.scoping import require_write
from friday.core import clock
from friday.core.errors import Collector, FridayError, NotFound
from friday.core.events import event_emit
from friday.duplicates import relations, scan
from friday.duplicates.models import DuplicatePair, DuplicateScan, PartyMerge
from friday.parties import normalise
from friday.parties.models import (
    Activity,
    Address,
    Affiliation,
    EmailAddress,
    Party,
    PartyKind,
    PartyRole,
    PartyTag,
    Phone,
    RoleName,
)
from friday.parties.selectors import parties_visible
from friday.parties.services import MAX_TEXT, search_text_for, timeline_add

logger = logging.getLogger("friday.duplicates")

# When more than this share of the book (and more than FULL_SCAN_MIN parties) changed since the last scan, an
# incremental scan does a full one instead: reading every block once is then cheaper than many look-ups.
FULL_SCAN_SHARE = 0.2
FULL_SCAN_MIN = 1000

# --- the scan -------------------------------------------------------------------------------------------------


def _last_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.filter(finished_at__isnull=False).order_by("-started_at", "-id").first()


def duplicates_scan(
    *, full: bool = False, by: User | None = None, progress: Callable[[str, int, int], None] | None = None
) -> DuplicateScan:
    """Find likely duplicates and store them. Incremental (the default) looks again at the parties changed
    since the last scan started — a full scan when there was none, or when most of the book changed.

    Reading and scoring happen outside any transaction (progress is written as it goes); the pairs are stored
    in one transaction at the end, so the page never shows half a scan."""
    began = time.perf_counter()
    started = clock.now()
    last = None if full else _last_scan()
    changed: set[int] | None = None
    if last is not None:
        # Anything written while the last scan was reading has updated_at after its start: seen now.
        changed = set(Party.objects.filter(updated_at__gte=last.started_at).values_list("pk", flat=True))
        if len(changed) > max(FULL_SCAN_MIN, FULL_SCAN_SHARE * Party.objects.count()):
            changed = None
    record = DuplicateScan.objects.create(
        full=changed is None,
        since=last.started_at if changed is not None and last is not None else None,
        started_at=started,
        by=by,
        stage="reading",
    )
    last_write = [0.0]

    def tick(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)
        now = time.perf_counter()
        if now - last_write[0] >= 1.0 or done >= total:
            last_write[0] = now
            DuplicateScan.objects.filter(pk=record.pk).update(stage=stage[:40], done=done, total=total)

    result = scan.find_pairs(changed, progress=tick)
    rows = scan.scored(result)
    tick("saving", 0, len(rows))
    _store(rows, changed, started)
    record.finished_at = clock.now()
    record.stage, record.done, record.total = "done", len(rows), len(rows)
    record.parties, record.pairs, record.skipped_groups = result.parties, len(rows), result.skipped_groups
    record.seconds = round(time.perf_counter() - began, 3)
    record.save()
    logger.info(
        "duplicate scan (%s): %s parties, %s pairs in %.1f s",
        "full" if record.full else "incremental",
        record.parties,
        record.pairs,
        record.seconds,
    )
    if progress is not None:
        progress("done", len(rows), len(rows))
    return record


@transaction.atomic
def _store(rows: list[dict[str, Any]], changed: set[int] | None, at: dt.datetime) -> None:
    """Replace the open pairs the scan covered (all, or those touching `changed`); dismissed pairs stay."""
    open_pairs = DuplicatePair.objects.filter(dismissed_at__isnull=True)
    if changed is None:
        open_pairs.delete()
    else:
        for chunk in scan._chunks(sorted(changed)):
            open_pairs.filter(Q(party_a_id__in=chunk) | Q(party_b_id__in=chunk)).delete()
    # A party deleted while the scan was reading has no pairs: drop rows that would point at nothing.
    ids = sorted({r["party_a_id"] for r in rows} | {r["party_b_id"] for r in rows})
    alive: set[int] = set()
    for chunk in scan._chunks(ids):
        alive.update(Party.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    _insert(
        [r for r in rows if r["party_a_id"] in alive and r["party_b_id"] in alive],
        at,
    )


def _insert(rows: list[dict[str, Any]], at: dt.datetime) -> None:
    """Insert pairs with one prepared statement per batch (a full scan writes ~100k; building a model instance
    for each took longer than finding them). A pair already stored — a dismissed one — is left as it is."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = DuplicatePair._meta
    reasons = meta.get_field("reasons")
    when = meta.get_field("scanned_at").get_db_prep_save(at, connection)
    table = quote(meta.db_table)
    columns = ", ".join(quote(c) for c in ("party_a_id", "party_b_id", "score", "reasons", "scanned_at"))
    # Only names from the model's own metadata are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({quote('party_a_id')}, {quote('party_b_id')}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(
                sql,
                [
                    (
                        r["party_a_id"],
                        r["party_b_id"],
                        r["score"],
                        reasons.get_db_prep_save(r["reasons"], connection),
                        when,
                    )
                    for r in rows[start : start + 5000]
                ],
            )


@transaction.atomic
def pair_dismiss(*, by: User, pair: DuplicatePair) -> DuplicatePair:
    """ "Not a duplicate": the pair leaves the list and later scans leave it out. `pair` comes from pair_get."""
    require_write(by)
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.dismissed_at is None:
        pair.dismissed_at, pair.dismissed_by = clock.now(), by
        pair.save(update_fields=["dismissed_at", "dismissed_by"])
        event_emit(
            name="duplicate.dismissed",
            subject=pair,
            actor=by,
            payload={"party_ids": [pair.party_a_id, pair.party_b_id]},
        )
    return pair


@transaction.atomic
def pair_restore(*, by: User, pair: DuplicatePair) -> DuplicatePair:
    """Undo a dismissal: the pair is back on the list."""
    require_write(by)
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.dismissed_at is not None:
        pair.dismissed_at, pair.dismissed_by = None, None
        pair.save(update_fields=["dismissed_at", "dismissed_by"])
        event_emit(
            name="duplicate.restored",
            subject=pair,
            actor=by,
            payload={"party_ids": [pair.party_a_id, pair.party_b_id]},
        )
    return pair


# --- the merge ------------------------------------------------------------------------------------------------

SURVIVOR, OTHER, BOTH = "survivor", "other", "both"
NAME_FIELDS = {PartyKind.PERSON: ("given_name", "family_name"), PartyKind.ORGANISATION: ("name",)}
COMMON_FIELDS = (
    "birthday",
    "customer_since",
    "time_zone",
    "owner",
    "team",
    "email_consent",
    "do_not_contact",
    "notes",
)


def merge_fields(kind: str) -> tuple[str, ...]:
    """The fields a user chooses between, for parties of this kind, in the order the page shows them."""
    return NAME_FIELDS[PartyKind(kind)] + COMMON_FIELDS


@dataclass
class MergeChoices:
    """Which party's value each field takes ("survivor" or "other"; notes may be "both"), per custom field key,
    and which address and number are primary. Anything left out takes its default (`merge_defaults`)."""

    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    primary_email: str | None = None
    primary_phone: str | None = None


def field_value(party: Party, name: str) -> Any:
    if name == "name":
        return party.display_name
    if name in ("owner", "team"):
        return getattr(party, f"{name}_id")
    return getattr(party, name)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def merge_defaults(survivor: Party, other: Party) -> dict[str, str]:
    """What each field takes unless the user chooses: the survivor's value, or the other's where the survivor's
    is empty — except the customer-since date (the earlier one: the relationship began with the first record)
    and the two consent flags (set if either says so: a "never contact" on either record must survive)."""
    out: dict[str, str] = {}
    for name in merge_fields(survivor.kind):
        mine, theirs = field_value(survivor, name), field_value(other, name)
        if name == "customer_since":
            side = OTHER if theirs is not None and (mine is None or theirs < mine) else SURVIVOR
        elif name in ("email_consent", "do_not_contact"):
            side = OTHER if theirs and not mine else SURVIVOR
        elif name == "owner":  # never a colleague who has left
            usable = other.owner is not None and other.owner.is_active
            side = OTHER if mine is None and theirs is not None and usable else SURVIVOR
        else:
            side = OTHER if _empty(mine) and not _empty(theirs) else SURVIVOR
        out[name] = side
    for key in sorted(set(survivor.custom) | set(other.custom)):
        out[f"custom.{key}"] = SURVIVOR if key in survivor.custom else OTHER
    return out


def _primary(rows: list[Any], attr: str) -> str | None:
    for row in rows:
        if row.is_primary:
            return getattr(row, attr)
    return getattr(rows[0], attr) if rows else None


def _address_key(address: Address) -> tuple[str, ...]:
    parts = (address.line1, address.line2, address.city, address.region, address.postcode, address.country)
    return tuple(re.sub(r"\s+", " ", normalise.sort_key(p)) for p in parts)


def _snapshot(party: Party) -> dict[str, Any]:
    """The merged-away party as it was, kept in the merge record."""
    return {
        "kind": party.kind,
        "given_name": party.given_name,
        "family_name": party.family_name,
        "display_name": party.display_name,
        "birthday": party.birthday.isoformat() if party.birthday else None,
        "customer_since": party.customer_since.isoformat() if party.customer_since else None,
        "time_zone": party.time_zone,
        "owner_id": party.owner_id,
        "team_id": party.team_id,
        "email_consent": party.email_consent,
        "do_not_contact": party.do_not_contact,
        "notes": party.notes,
        "custom": party.custom,
        "created_at": party.created_at.isoformat(),
        "emails": list(EmailAddress.objects.filter(party=party).values_list("address", flat=True)),
        "phones": list(Phone.objects.filter(party=party).values_list("number", flat=True)),
        "addresses": [
            {k: v for k, v in a.items() if k not in ("id", "party_id")}
            for a in Address.objects.filter(party=party).values()
        ],
        "roles": sorted(PartyRole.objects.filter(party=party).values_list("role", flat=True)),
        "tags": sorted(PartyTag.objects.filter(party=party).values_list("tag__name", flat=True)),
        "affiliations": list(
            Affiliation.objects.filter(Q(person=party) | Q(organisation=party)).values_list(
                "person_id", "organisation_id", "job_title"
            )
        ),
    }


def _check_choices(
    errors: Collector, survivor: Party, other: Party, choices: MergeChoices
) -> tuple[dict[str, str], dict[str, str]]:
    """The choices as applied (defaults filled in) — fields and custom keys — with every bad one reported."""
    allowed = merge_fields(survivor.kind)
    defaults = merge_defaults(survivor, other)
    applied = {name: defaults[name] for name in allowed}
    for name, side in choices.fields.items():
        path = f"choices.fields.{name}"
        if name not in allowed:
            errors.add(
                path,
                f"{name!r} is not a field to choose for {survivor.get_kind_display().lower()}s; "
                f"choose among {', '.join(allowed)}.",
                code="merge.unknown_field",
            )
        elif side not in ((SURVIVOR, OTHER, BOTH) if name == "notes" else (SURVIVOR, OTHER)):
            extra = ", or both" if name == "notes" else ""
            errors.add(path, f"Choose survivor or other{extra}.", code="merge.invalid_choice")
        else:
            applied[name] = side
    keys = sorted(set(survivor.custom) | set(other.custom))
    custom = {key: defaults[f"custom.{key}"] for key in keys}
    for key, side in choices.custom.items():
        path = f"choices.custom.{key}"
        if key not in custom:
            errors.add(path, f"Neither record has a value for {key!r}.", code="merge.unknown_field")
        elif side not in (SURVIVOR, OTHER):
            errors.add(path, "Choose survivor or other.", code="merge.invalid_choice")
        else:
            custom[key] = side
    return applied, custom


@transaction.atomic
def party_merge(
    *, by: User, survivor: Party, other: Party, choices: MergeChoices | None = None
) -> PartyMerge:
    """Merge `other` into `survivor` (see the module docstring). Both come from the caller's scoped fetch and
    are checked again here. Refuses — changing nothing — when `by` is read-only (403), cannot see either (404),
    they are the same party or of different kinds, or a choice is invalid (422, each with its field path)."""
    choices = choices or MergeChoices()
    require_write(by)
    wanted = {survivor.pk, other.pk}
    if len(wanted) != parties_visible(by).filter(pk__in=wanted).count():
        raise NotFound("No such party.", code="party.not_found")
    errors = Collector()
    if survivor.pk == other.pk:
        errors.add("other_id", "A party cannot be merged with itself.", code="merge.same_party")
        errors.raise_if_any()
    # Lock both in id order (two merges of the same pair cannot interleave, nor deadlock).
    locked = {
        p.pk: p
        for p in Party.objects.select_for_update(of=("self",))
        .select_related("owner", "team")
        .filter(pk__in=sorted(wanted))
        .order_by("pk")
    }
    if len(locked) != 2:
        raise NotFound("No such party.", code="party.not_found")
    survivor, other = locked[survivor.pk], locked[other.pk]
    if survivor.kind != other.kind:
        errors.add(
            "other_id",
            "A person and an organisation cannot be merged: they are different kinds of record.",
            code="merge.kind_mismatch",
        )
        errors.raise_if_any()
    applied, custom = _check_choices(errors, survivor, other, choices)

    def pick(name: str) -> Any:
        return field_value(other if applied[name] == OTHER else survivor, name)

    if survivor.kind == PartyKind.PERSON:
        given, family = pick("given_name"), pick("family_name")
        if not (given or family):
            errors.add(
                "choices.fields.given_name",
                "The merged person needs a given or family name: choose one that is filled in.",
                code="invalid.required",
            )
        display = " ".join(p for p in (given, family) if p)
    else:
        given = family = ""
        display = pick("name")
    owner_id = pick("owner")
    if owner_id is not None and owner_id != survivor.owner_id:
        owner = other.owner
        if owner is not None and not owner.is_active:
            errors.add(
                "choices.fields.owner",
                f"{owner.display} is deactivated; keep the survivor's owner.",
                code="invalid.owner_inactive",
            )

    emails = list(EmailAddress.objects.filter(party_id__in=sorted(wanted)).order_by("id"))
    phones = list(Phone.objects.filter(party_id__in=sorted(wanted)).order_by("id"))
    survivor_emails = [e for e in emails if e.party_id == survivor.pk]
    other_emails = [e for e in emails if e.party_id == other.pk]
    survivor_phones = [p for p in phones if p.party_id == survivor.pk]
    other_phones = [p for p in phones if p.party_id == other.pk]
    all_emails = {e.address.strip().lower() for e in emails}
    all_phones = {p.number for p in phones}
    primary_email = (choices.primary_email or "").strip().lower() or None
    if primary_email is not None and primary_email not in all_emails:
        errors.add(
            "choices.primary_email",
            f"{choices.primary_email!r} is not an address of either record.",
            code="merge.unknown_email",
        )
    primary_phone = (choices.primary_phone or "").strip() or None
    if primary_phone is not None:
        try:
            primary_phone = normalise.normalise_phone(primary_phone, field="choices.primary_phone")
        except FridayError as exc:
            errors.add("choices.primary_phone", exc.detail, code=exc.code)
        else:
            if primary_phone not in all_phones:
                errors.add(
                    "choices.primary_phone",
                    f"{choices.primary_phone!r} is not a number of either record.",
                    code="merge.unknown_phone",
                )
    errors.raise_if_any()

    snapshot = _snapshot(other)
    now = clock.now()

    # 1. Contact points, roles, tags, addresses, affiliations: the union, without duplicates.
    primary_email = primary_email or _primary(survivor_emails, "address") or _primary(other_emails, "address")
    primary_phone = primary_phone or _primary(survivor_phones, "number") or _primary(other_phones, "number")
    unioned = _union_party_data(survivor, other, survivor_emails, other_emails, survivor_phones, other_phones)
    if primary_email:
        EmailAddress.objects.filter(party=survivor).update(is_primary=False)
        EmailAddress.objects.filter(party=survivor, address__iexact=primary_email).update(is_primary=True)
    if primary_phone:
        Phone.objects.filter(party=survivor).update(is_primary=False)
        Phone.objects.filter(party=survivor, number=primary_phone).update(is_primary=True)

    # 2. Every other row that points at the other party. Its own creation entries say whose they were, so the
    # survivor's timeline does not seem to have been created twice.
    for entry in Activity.objects.filter(
        party=other, event="party.created"
    ).exclude(
        subject__endswith=", merged into this record"  # a record merged into `other` before: already says whose
    ):
        entry.subject = f"{entry.subject} — as {other.display_name} (#{other.pk}), merged into this record"[
            :200
        ]
        entry.save(update_fields=["subject"])
    moved = relations.move_all(survivor, other)
    moved = {**{k: v for k, v in unioned.items() if v}, **moved}

    # 3. The survivor's fields, as chosen.
    survivor.given_name, survivor.family_name = given, family
    survivor.display_name = display
    survivor.sort_name = normalise.sort_key(display)
    for name in ("birthday", "customer_since", "time_zone", "email_consent", "do_not_contact"):
        setattr(survivor, name, pick(name))
    survivor.owner_id = owner_id
    survivor.team_id = pick("team")
    if applied["notes"] == BOTH:
        survivor.notes = "\n\n".join(n for n in (survivor.notes, other.notes) if n)[:MAX_TEXT]
    else:
        survivor.notes = pick("notes")
    survivor.custom = {
        key: (other if side == OTHER else survivor).custom[key]
        for key, side in custom.items()
        if key in (other if side == OTHER else survivor).custom
    }
    if (
        survivor.customer_since is None
        and PartyRole.objects.filter(party=survivor, role=RoleName.CUSTOMER).exists()
    ):
        survivor.customer_since = clock.today()
    survivor.updated_at = now

    # 4. The other party goes (nothing points at it any more).
    other_pk, other_name = other.pk, other.display_name
    Party.objects.filter(pk=other_pk).delete()
    survivor.search_text = search_text_for(
        display,
        list(EmailAddress.objects.filter(party=survivor).values_list("address", flat=True)),
        list(Phone.objects.filter(party=survivor).values_list("number", flat=True)),
    )
    survivor.save()

    # 5. What depends on the rows that moved.
    from friday.insights import metrics

    metrics.compute([survivor.pk], now=now)

    # 6. The record of it: the merge row (audit), the timeline, the event.
    applied_choices: dict[str, Any] = {
        "fields": applied,
        "custom": custom,
        "primary_email": primary_email,
        "primary_phone": primary_phone,
    }
    merge = PartyMerge.objects.create(
        survivor=survivor,
        survivor_name=display[:220],
        other_id=other_pk,
        other_name=other_name[:220],
        other_snapshot=snapshot,
        choices=applied_choices,
        moved=moved,
        by=by,
        at=now,
    )
    taken = sorted(
        [n.replace("_", " ") for n, side in applied.items() if side != SURVIVOR]
        + [f"{k} (custom)" for k, side in custom.items() if side == OTHER]
    )
    summary = ", ".join(f"{what}: {n}" for what, n in moved.items()) or "nothing else"
    body = f"Moved here: {summary}."
    if taken:
        body += f"\nTaken from {other_name}: {', '.join(taken)}."
    timeline_add(
        survivor,
        event="party.merged",
        subject=f"Merged {other_name} (#{other_pk}) into this record",
        body=body,
        by=by,
        data={"merge_id": merge.pk, "other_id": other_pk, "other_name": other_name, "moved": moved},
    )
    event_emit(
        name="party.merged",
        subject=survivor,
        actor=by,
        payload={
            "merge_id": merge.pk,
            "other_id": other_pk,
            "other_name": other_name,
            "moved": moved,
            "fields": sorted(n for n, side in applied.items() if side != SURVIVOR),
        },
    )
    return merge


def _union_party_data(
    survivor: Party,
    other: Party,
    survivor_emails: list[EmailAddress],
    other_emails: list[EmailAddress],
    survivor_phones: list[Phone],
    other_phones: list[Phone],
) -> dict[str, int]:
    """Move the other's emails, phones, addresses, roles, tags and affiliations that the survivor lacks; drop
    the rest (the survivor already has them). Returns how many of each moved."""
    have = {e.address.strip().lower() for e in survivor_emails}
    keep = [e.pk for e in other_emails if e.address.strip().lower() not in have]
    EmailAddress.objects.filter(party=other).exclude(pk__in=keep).delete()
    emails = EmailAddress.objects.filter(pk__in=keep).update(party=survivor, is_primary=False)

    have = {p.number for p in survivor_phones}
    keep = [p.pk for p in other_phones if p.number not in have]
    Phone.objects.filter(party=other).exclude(pk__in=keep).delete()
    phones = Phone.objects.filter(pk__in=keep).update(party=survivor, is_primary=False)

    seen = {_address_key(a) for a in Address.objects.filter(party=survivor)}
    keep = []
    for address in Address.objects.filter(party=other).order_by("id"):
        key = _address_key(address)
        if key not in seen:
            seen.add(key)
            keep.append(address.pk)
    Address.objects.filter(party=other).exclude(pk__in=keep).delete()
    addresses = Address.objects.filter(pk__in=keep).update(party=survivor)

    held = PartyRole.objects.filter(party=survivor).values("role")
    PartyRole.objects.filter(party=other, role__in=held).delete()
    roles = PartyRole.objects.filter(party=other).update(party=survivor)

    tagged = PartyTag.objects.filter(party=survivor).values("tag_id")
    PartyTag.objects.filter(party=other, tag_id__in=tagged).delete()
    tags = PartyTag.objects.filter(party=other).update(party=survivor)

    links = 0
    for side, partner in (("person", "organisation"), ("organisation", "person")):
        mine = {getattr(x, f"{partner}_id"): x for x in Affiliation.objects.filter(**{side: survivor})}
        for link in Affiliation.objects.filter(**{side: other}):
            existing = mine.get(getattr(link, f"{partner}_id"))
            if existing is not None:
                if not existing.job_title and link.job_title:
                    existing.job_title = link.job_title
                    existing.save(update_fields=["job_title"])
                link.delete()
            else:
                setattr(link, side, survivor)
                link.save(update_fields=[side])
                links += 1
    return {
        "email addresses": emails,
        "phone numbers": phones,
        "addresses": addresses,
        "roles": roles,
        "tags": tags,
        "affiliations": links,
    }
