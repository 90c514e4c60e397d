"""Writing many parties at once (imports): the same rows the services write, in a few grouped statements.

`party_create` costs a dozen queries per party; an import of 100,000 rows cannot afford that, so these write a
whole batch with `bulk_create` and grouped updates — still building every row as the services do (display and
sort names, the search text, the first email and phone primary, `customer_since` for customers, a timeline
entry and an event per party). Values arrive already validated by the services' own rules
(`services._clean`); the caller holds the transaction.

Updates only add and overwrite what a row gives — they never remove an email, phone, address, role or tag — and
return exactly what they changed, so `party_bulk_restore` can put it back: fields only where they still hold
the imported value (a later edit is kept), and the added contact points, roles and tags removed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.db import connection, models, transaction

from friday.accounts.models import User
from friday.core import clock, fastinsert
from friday.core.lookups import Many
from friday.parties import normalise
from friday.parties.models import (
    Activity,
    ActivityKind,
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
from friday.parties.services import AddressIn, search_text_for, search_text_from_forms, tags_get_or_create

CHUNK = 5000  # values per IN (…) list
SCALARS = ("birthday", "customer_since", "time_zone", "email_consent", "do_not_contact", "notes")


class PartyValues(Protocol):
    """Validated values of one party, as `imports.validate.Clean` holds them ("" / None / [] = not given)."""

    kind: str
    given: str
    family: str
    name: str
    emails: list[str]
    phones: list[str]
    addresses: list[AddressIn]
    roles: list[str]
    tags: list[str]
    job_title: str
    birthday: dt.date | None
    customer_since: dt.date | None
    time_zone: str | None
    email_consent: bool | None
    do_not_contact: bool | None
    notes: str | None
    custom: dict[str, Any]
    owner_id: int | None
    team_id: int | None


@dataclass(frozen=True)
class Saved:
    """A party that exists (or will once the batch is written): its id and kind, without loading it."""

    pk: int
    kind: str


@dataclass(eq=False)
class NewParty:
    values: PartyValues
    owner_id: int
    team_id: int | None
    # A person's organisation: a saved one, or a NewParty of the same call (ids are reserved first).
    organisation: Party | Saved | NewParty | None = None
    party: Saved | None = None  # set once created
    subject: str = ""  # the timeline entry's text
    data: dict = field(default_factory=dict)  # on the timeline entry and the event


@dataclass(eq=False)
class Patch:
    party_id: int
    values: PartyValues
    organisation: Party | Saved | NewParty | None = None  # a NewParty must have been created already
    subject: str = ""
    data: dict = field(default_factory=dict)


# SQLite keeps the search index (FTS5, trigram) in step with `search_text` by triggers. Through a trigger every
# row written or deleted costs ~100 µs on a 100k-party database (FTS5 flushes its pending terms at each trigger's statement savepoint,
# one tiny segment per row), against ~6 µs when the same rows are indexed by one INSERT … SELECT. A batch at least
# this big therefore drops the trigger, writes, indexes the rows itself, and puts the trigger back — all in one
# savepoint: a failure anywhere rolls the schema back with the rows, and SQLite's single writer means no other
# connection writes parties meanwhile.
SEARCH_INDEX_BATCH = 50


@contextmanager
def _search_index_by_batch(trigger: str, size: int) -> Iterator[bool]:
    """Inside: the `trigger` is off (yields True: the caller indexes its rows) — SQLite and big batches only."""
    if connection.vendor != "sqlite" or size < SEARCH_INDEX_BATCH:
        yield False
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [trigger])
            found = cursor.fetchone()
            if found is None:
                raise RuntimeError(f"the search index trigger {trigger} is missing (run `friday migrate`)")
            cursor.execute(f"DROP TRIGGER {trigger}")
        yield True
        with connection.cursor() as cursor:
            cursor.execute(found[0])


class SearchIndexLater:
    """The search index work of one transaction, done at its end (`search_index_later`): the parties written
    meanwhile, and the text each had in the index before it was first changed."""

    def __init__(self) -> None:
        self.added: set[int] = set()
        self.removed: dict[int, str] = {}  # party → the text the index holds for it

    def created(self, ids: Iterable[int]) -> None:
        self.added.update(ids)

    def retexted(self, pk: int, old_text: str) -> None:
        # Only the first change of a party here tells what the index holds: one created or already changed in
        # this transaction is indexed at its end anyway, from its last text.
        if pk not in self.added:
            self.removed[pk] = old_text
            self.added.add(pk)

    def flush(self) -> None:
        if self.removed:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO party_fts(party_fts, rowid, search_text) VALUES ('delete', %s, %s)",
                    list(self.removed.items()),
                )
        if self.added:
            _index_rows(sorted(self.added))
        self.added, self.removed = set(), {}


@contextmanager
def search_index_later() -> Iterator[SearchIndexLater | None]:
    """Inside (SQLite only; elsewhere yields None): the search index triggers on inserts and on changes of
    `search_text` are off, `party_bulk_create` and `party_bulk_update` given the yielded object note what they
    wrote, and the index learns it all at the end, in one savepoint with the rows.

    Why at the end: once a statement has touched the FTS5 table, every later statement of the transaction that
    opens a statement savepoint (any insert into a table with foreign keys) makes FTS5 flush and close its
    readers — ~7% of an import's writer. Nothing but these two functions may write parties inside."""
    if connection.vendor != "sqlite":
        yield None
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            saved = []
            for trigger in ("party_fts_ai", "party_fts_au"):
                cursor.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [trigger]
                )
                found = cursor.fetchone()
                if found is None:
                    raise RuntimeError(
                        f"the search index trigger {trigger} is missing (run `friday migrate`)"
                    )
                cursor.execute(f"DROP TRIGGER {trigger}")
                saved.append(found[0])
        later = SearchIndexLater()
        yield later
        later.flush()
        with connection.cursor() as cursor:
            for sql in saved:
                cursor.execute(sql)


def _index_rows(ids: list[int]) -> None:
    """Add these parties' search text to SQLite's search index (their rows are written, the trigger was off)."""
    # One statement for the whole batch: FTS5 writes a new segment of its index at the end of each statement,
    # and merging many small segments cost more than making them (10 statements of 500: ~9 µs a row).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO party_fts(rowid, search_text) SELECT id, search_text FROM parties_party "
            "WHERE id IN (SELECT value FROM json_each(%s))",
            [json.dumps(ids)],
        )


def _saved(org: Party | Saved | NewParty | None) -> Party | Saved | None:
    if isinstance(org, NewParty):
        if org.party is None:
            raise ValueError("an organisation must be created before the people linked to it")
        return org.party
    return org


def chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _labels_of(values: PartyValues, name: str, contacts: list[str]) -> list[str]:
    """The labels (Work, Mobile …) of these emails or phones, if the values carry them (`email_labels`,
    `phone_labels`, one per contact); else none."""
    labels = getattr(values, name, None) or []
    return labels if len(labels) == len(contacts) else [""] * len(contacts)


def _display(kind: str, given: str, family: str, name: str) -> str:
    if kind == PartyKind.PERSON:
        return " ".join(p for p in (given, family) if p) or name
    return name


# --- create -----------------------------------------------------------------------------------------------------


def party_bulk_create(
    *, by: User, items: list[NewParty], index: SearchIndexLater | None = None
) -> list[Saved]:
    """Create these parties with everything they carry. Organisations given as `organisation` must be saved
    first, or be items of the same call: ids are reserved before anything is written, so links resolve. Inside
    `search_index_later`, pass its `index`."""
    if not items:
        return []
    now = clock.now()
    today = clock.today()
    ids = fastinsert.reserve_ids(Party, len(items))
    party_rows: list[tuple] = []
    parties: list[Saved] = []
    author = by.pk
    person_kind, customer = str(PartyKind.PERSON), str(RoleName.CUSTOMER)  # plain strings compare faster
    for pk, item in zip(ids, items, strict=True):
        v = item.values
        person = v.kind == person_kind
        display = (" ".join(p for p in (v.given, v.family) if p) or v.name) if person else v.name
        customer_since = v.customer_since
        if customer_since is None and customer in v.roles:
            customer_since = today
        search_text = getattr(v, "search_text", "") or search_text_for(display, v.emails, v.phones)
        party_rows.append(
            (
                pk,
                v.kind,
                v.given if person else "",
                v.family if person else "",
                display,
                getattr(v, "sort_name", "") or normalise.sort_key(display),
                v.birthday,
                customer_since,
                v.time_zone or "",
                item.owner_id,
                item.team_id,
                bool(v.email_consent),
                bool(v.do_not_contact),
                v.notes or "",
                v.custom or {},
                search_text,
                now,
                now,
                author,
            )
        )
        item.party = Saved(pk=pk, kind=v.kind)
        parties.append(item.party)
    if index is not None:
        fastinsert.insert_rows(Party, PARTY_FIELDS, party_rows)
        index.created(ids)
    else:
        with _search_index_by_batch("party_fts_ai", len(party_rows)) as by_batch:
            fastinsert.insert_rows(Party, PARTY_FIELDS, party_rows)
            if by_batch:
                _index_rows(ids)

    emails, phones, roles, addresses, affiliations, party_tags, timeline = [], [], [], [], [], [], []
    names = sorted({t for i in items for t in i.values.tags}, key=str.lower)
    tags = {t.slug: t.pk for t in tags_get_or_create(names)} if names else {}
    system = str(ActivityKind.SYSTEM)
    for pk, item in zip(ids, items, strict=True):
        v = item.values
        if v.emails:
            labels = _labels_of(v, "email_labels", v.emails)
            emails += [(pk, e, i == 0, labels[i]) for i, e in enumerate(v.emails)]
        if v.phones:
            labels = _labels_of(v, "phone_labels", v.phones)
            phones += [(pk, n, i == 0, labels[i]) for i, n in enumerate(v.phones)]
        if v.roles:
            roles += [(pk, r) for r in v.roles]
        if v.addresses:
            addresses += [
                (pk, a.label, a.line1, a.line2, a.city, a.region, a.postcode, a.country) for a in v.addresses
            ]
        if v.tags:
            party_tags += [(pk, tags[t.lower()]) for t in v.tags]
        if item.organisation is not None and v.kind == person_kind:
            org = _saved(item.organisation)
            if org is not None:
                affiliations.append((pk, org.pk, v.job_title))
        timeline.append(
            (pk, system, "party.created", (item.subject or "Created")[:200], "", now, now, author, item.data)
        )
    fastinsert.insert_rows(EmailAddress, ["party_id", "address", "is_primary", "label"], emails)
    fastinsert.insert_rows(Phone, ["party_id", "number", "is_primary", "label"], phones)
    fastinsert.insert_rows(PartyRole, ["party_id", "role"], roles)
    fastinsert.insert_rows(
        Address, ["party_id", "label", "line1", "line2", "city", "region", "postcode", "country"], addresses
    )
    fastinsert.insert_rows(PartyTag, ["party_id", "tag_id"], party_tags)
    fastinsert.insert_rows(Affiliation, ["person_id", "organisation_id", "job_title"], affiliations)
    fastinsert.insert_rows(Activity, ACTIVITY_FIELDS, timeline)
    return parties


PARTY_FIELDS = [
    "id",
    "kind",
    "given_name",
    "family_name",
    "display_name",
    "sort_name",
    "birthday",
    "customer_since",
    "time_zone",
    "owner_id",
    "team_id",
    "email_consent",
    "do_not_contact",
    "notes",
    "custom",
    "search_text",
    "created_at",
    "updated_at",
    "created_by_id",
]
ACTIVITY_FIELDS = [
    "party_id",
    "kind",
    "event",
    "subject",
    "body",
    "occurred_at",
    "created_at",
    "author_id",
    "data",
]


# --- update -----------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _from_json(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("birthday", "customer_since"):
        return dt.date.fromisoformat(value)
    if name == "updated_at":
        return dt.datetime.fromisoformat(value)
    return value


_UPDATED_FIELDS = (
    "kind",
    "given_name",
    "family_name",
    "display_name",
    "sort_name",
    *SCALARS,
    "custom",
    "owner_id",
    "team_id",
    "search_text",
    "updated_at",
)


class _Current:
    """A party's columns as `party_bulk_update` reads and changes them (attributes, like the model's)."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.pk = row.pop("id")
        self.__dict__.update(row)

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


def party_bulk_update(*, by: User, patches: list[Patch], index: SearchIndexLater | None = None) -> list[dict]:
    """Apply each patch to its party (at most one patch per party). Returns, per patch, what changed:
    {"fields": {name: [before, after]}, "emails": [added], …} — empty when nothing was new. Inside
    `search_index_later`, pass its `index`."""
    if not patches:
        return []
    ids = [p.party_id for p in patches]
    if len(set(ids)) != len(ids):
        raise ValueError("party_bulk_update: one patch per party")
    now = clock.now()
    today = clock.today()
    # Plain records, not model instances: an import updates thousands of parties and reads only these.
    parties = {
        row["id"]: _Current(row)
        for chunk in chunks(ids)
        for row in Party.objects.filter(pk__in_list=Many(chunk)).values("id", *_UPDATED_FIELDS)
    }
    many = Many(ids)
    emails = _grouped(
        EmailAddress.objects.filter(party_id__in_list=many).order_by("-is_primary", "id"), "address"
    )
    phones = _grouped(Phone.objects.filter(party_id__in_list=many).order_by("-is_primary", "id"), "number")
    roles = _grouped(PartyRole.objects.filter(party_id__in_list=many), "role")
    tag_slugs = _grouped(PartyTag.objects.filter(party_id__in_list=many), "tag__slug")
    addresses: dict[int, list[dict]] = defaultdict(list)
    fields = ["line1", "line2", "city", "region", "postcode", "country", "label"]
    for row in Address.objects.filter(party_id__in_list=many).values("party_id", *fields):
        addresses[row.pop("party_id")].append(row)
    affiliations: dict[int, dict[int, str]] = defaultdict(dict)
    for person_id, org_id, title in Affiliation.objects.filter(person_id__in_list=many).values_list(
        "person_id", "organisation_id", "job_title"
    ):
        affiliations[person_id][org_id] = title
    tags = {
        t.slug: t
        for t in tags_get_or_create(sorted({t for p in patches for t in p.values.tags}, key=str.lower))
    }

    results: list[dict] = []
    changed_parties: list[tuple[_Current, list[str]]] = []
    old_texts: list[tuple[_Current, str]] = []
    new_emails, new_phones, new_roles, new_tags, new_affiliations = [], [], [], [], []
    address_rows: list[tuple[int, Address]] = []
    title_updates: list[tuple[int, int, str]] = []
    timeline: list[tuple] = []
    for patch in patches:
        party = parties.get(patch.party_id)
        v = patch.values
        change: dict[str, Any] = {}
        if party is None:
            results.append(change)
            continue
        before: dict[str, Any] = {}

        def set_field(name: str, value: Any, party: _Current = party, before: dict = before) -> None:
            current = getattr(party, name)
            if current != value:
                before.setdefault(name, current)
                setattr(party, name, value)

        if party.kind == PartyKind.PERSON:
            if v.given:
                set_field("given_name", v.given)
            if v.family:
                set_field("family_name", v.family)
            display = _display(party.kind, party.given_name, party.family_name, party.display_name)
        else:
            display = v.name or party.display_name
        if display != party.display_name:
            set_field("display_name", display)
            set_field("sort_name", normalise.sort_key(display))
        for name in SCALARS:
            value = getattr(v, name)
            if value is not None:
                set_field(name, value)
        if v.custom:
            set_field("custom", {**party.custom, **v.custom})
        if v.owner_id is not None:
            set_field("owner_id", v.owner_id)
        if v.team_id is not None:
            set_field("team_id", v.team_id)
        added_emails = [e for e in v.emails if e not in emails[party.pk]]
        added_phones = [n for n in v.phones if n not in phones[party.pk]]
        added_roles = [r for r in v.roles if r not in roles[party.pk]]
        added_tags = [t for t in v.tags if t.lower() not in tag_slugs[party.pk]]
        if RoleName.CUSTOMER in added_roles and party.customer_since is None:
            set_field("customer_since", today)
        if added_emails:
            label_of = dict(zip(v.emails, _labels_of(v, "email_labels", v.emails), strict=True))
            new_emails += [
                (party.pk, e, i == 0 and not emails[party.pk], label_of[e])
                for i, e in enumerate(added_emails)
            ]
        if added_phones:
            label_of = dict(zip(v.phones, _labels_of(v, "phone_labels", v.phones), strict=True))
            new_phones += [
                (party.pk, n, i == 0 and not phones[party.pk], label_of[n])
                for i, n in enumerate(added_phones)
            ]
        new_roles += [(party.pk, r) for r in added_roles]
        new_tags += [(party.pk, tags[t.lower()].pk) for t in added_tags]
        for a in v.addresses:
            if vars(a) not in addresses[party.pk]:
                address_rows.append((len(results), Address(party_id=party.pk, **vars(a))))
                addresses[party.pk].append(vars(a))
        org = _saved(patch.organisation)
        if org is not None and party.kind == PartyKind.PERSON:
            current_title = affiliations[party.pk].get(org.pk)
            if current_title is None:
                new_affiliations.append((party.pk, org.pk, v.job_title))
                change["affiliations"] = [org.pk]
            elif v.job_title and v.job_title != current_title:
                title_updates.append((party.pk, org.pk, v.job_title))
                change["job_titles"] = {str(org.pk): [current_title, v.job_title]}
        for key, added in (
            ("emails", added_emails),
            ("phones", added_phones),
            ("roles", added_roles),
            ("tags", [t.lower() for t in added_tags]),
        ):
            if added:
                change[key] = added
        if added_emails or added_phones or "display_name" in before:
            set_field(
                "search_text",
                _search_text_after(
                    party,
                    before.get("display_name", party.display_name),
                    emails[party.pk],
                    added_emails,
                    phones[party.pk],
                    added_phones,
                    dict(zip(v.phones, getattr(v, "phone_forms", None) or [], strict=False)),
                ),
            )
        results.append(change)
        touched = bool(before) or bool(change) or any(i == len(results) - 1 for i, _ in address_rows)
        if not touched:
            continue
        set_field("updated_at", now)
        change["fields"] = {
            name: [_jsonable(old), _jsonable(getattr(party, name))] for name, old in before.items()
        }
        changed_parties.append((party, sorted(before)))
        if "search_text" in before:
            old_texts.append((party, before["search_text"]))
        labels = _labels(before, change)
        change["labels"] = labels
        subject = f"{patch.subject}: {', '.join(labels)}" if patch.subject else f"Changed {', '.join(labels)}"
        timeline.append(
            (
                party.pk,
                ActivityKind.SYSTEM,
                "party.updated",
                subject[:200],
                "",
                now,
                now,
                by.pk,
                {"fields": labels, **patch.data},
            )
        )
    # One UPDATE statement per set of changed columns, run for every party that changed exactly those.
    groups: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    for party, names in changed_parties:
        groups[tuple(names)].append((*(getattr(party, n) for n in names), party.pk))
    # The search index forgets the old text of the parties whose text changed, then learns the new one.
    retext = [(party.pk, before_text) for party, before_text in old_texts]
    if index is not None:
        for pk, before_text in retext:
            index.retexted(pk, before_text)
    with _search_index_by_batch("party_fts_au", 0 if index is not None else len(retext)) as by_batch:
        for columns, rows in groups.items():
            fastinsert.update_rows(Party, columns, rows)
        if by_batch:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO party_fts(party_fts, rowid, search_text) VALUES ('delete', %s, %s)", retext
                )
            _index_rows([pk for pk, _ in retext])
    fastinsert.insert_rows(EmailAddress, ["party_id", "address", "is_primary", "label"], new_emails)
    fastinsert.insert_rows(Phone, ["party_id", "number", "is_primary", "label"], new_phones)
    fastinsert.insert_rows(PartyRole, ["party_id", "role"], new_roles)
    fastinsert.insert_rows(PartyTag, ["party_id", "tag_id"], new_tags)
    fastinsert.insert_rows(Affiliation, ["person_id", "organisation_id", "job_title"], new_affiliations)
    for person_id, org_id, title in title_updates:
        Affiliation.objects.filter(person_id=person_id, organisation_id=org_id).update(job_title=title)
    created_addresses = Address.objects.bulk_create([a for _, a in address_rows])
    for (at, _), address in zip(address_rows, created_addresses, strict=True):
        results[at].setdefault("addresses", []).append(address.pk)
    fastinsert.insert_rows(Activity, ACTIVITY_FIELDS, timeline)
    return results


def _search_text_after(
    party: _Current,
    old_display: str,
    old_emails: list[str],
    added_emails: list[str],
    old_phones: list[str],
    added_phones: list[str],
    forms: dict[str, str],
) -> str:
    """What `search_text_for` gives for the party's (new) name, its emails and phones with these added —
    keeping the phones' search forms from its current text when that text is what `search_text_for` made:
    formatting a number costs ~50 µs in libphonenumber, and an import updates thousands of parties."""
    head = " ".join(p for p in (old_display, *old_emails) if p).lower()
    old_text = party.search_text
    old_forms: list[str] = []
    if old_phones:
        prefix = f"{head} " if head else ""
        if not (old_text.startswith(prefix) and len(old_text) > len(prefix)):
            return search_text_for(party.display_name, old_emails + added_emails, old_phones + added_phones)
        old_forms = [old_text[len(prefix) :]]
    elif old_text != head:
        return search_text_for(party.display_name, old_emails + added_emails, old_phones + added_phones)
    new_forms = [forms.get(n) or normalise.phone_search_forms(n) for n in added_phones]
    return search_text_from_forms(party.display_name, old_emails + added_emails, old_forms + new_forms)


def _labels(before: dict, change: dict) -> list[str]:
    names = {n for n in before if n not in ("sort_name", "search_text", "updated_at")}
    if "display_name" in names:
        names.discard("display_name")
        names.add("name")
    names |= {k for k in ("emails", "phones", "roles", "tags", "addresses", "affiliations") if change.get(k)}
    if change.get("job_titles"):
        names.add("job title")
    return sorted(n.replace("_id", "").replace("_", " ") for n in names)


def _grouped(queryset: models.QuerySet, value: str) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for party_id, item in queryset.values_list("party_id", value):
        out[party_id].append(item)
    return out


# --- undo -------------------------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    restored: int = 0
    kept_fields: int = 0  # fields changed again since the import: left as they are now
    gone: int = 0  # parties deleted since the import


def party_bulk_restore(
    *, by: User, changes: list[tuple[int, dict]], subject: str, data: dict
) -> RestoreResult:
    """Undo `party_bulk_update`: for each (party id, change), put back the fields that still hold what the
    update wrote, and remove the contact points, roles, tags, addresses and links it added."""
    result = RestoreResult()
    ids = [pid for pid, _ in changes]
    parties = {p.pk: p for p in Party.objects.filter(pk__in_list=Many(ids))}
    now = clock.now()
    to_save: list[Party] = []
    names: set[str] = set()
    timeline: list[Activity] = []
    for party_id, change in changes:
        if not change:  # the row matched but brought nothing new: nothing to take back
            continue
        party = parties.get(party_id)
        if party is None:
            result.gone += 1
            continue
        restored: list[str] = []
        for name, (old, new) in change.get("fields", {}).items():
            if name == "updated_at":
                continue
            if _jsonable(getattr(party, name)) == new:
                setattr(party, name, _from_json(name, old))
                names.add(name)
                restored.append(name)
            else:
                result.kept_fields += 1
        for model, column, key in (
            (EmailAddress, "address", "emails"),
            (Phone, "number", "phones"),
            (PartyRole, "role", "roles"),
            (PartyTag, "tag__slug", "tags"),
            (Address, "pk", "addresses"),
        ):
            if change.get(key):
                model._default_manager.filter(party_id=party_id, **{f"{column}__in": change[key]}).delete()
        if change.get("affiliations"):
            Affiliation.objects.filter(
                person_id=party_id, organisation_id__in=change["affiliations"]
            ).delete()
        for org_id, (old_title, new_title) in change.get("job_titles", {}).items():
            Affiliation.objects.filter(
                person_id=party_id, organisation_id=int(org_id), job_title=new_title
            ).update(job_title=old_title)
        # The import's own timestamp goes back too, unless the party was changed again since.
        stamp = change.get("fields", {}).get("updated_at")
        if stamp and _jsonable(party.updated_at) == stamp[1]:
            party.updated_at = _from_json("updated_at", stamp[0])
            names.add("updated_at")
        else:
            party.updated_at = now
            names.add("updated_at")
        to_save.append(party)
        result.restored += 1
        timeline.append(
            Activity(
                party_id=party_id,
                kind=ActivityKind.SYSTEM,
                event="party.updated",
                subject=subject[:200],
                occurred_at=now,
                created_at=now,
                author=by,
                data={"fields": sorted(restored), **data},
            )
        )
    if to_save:
        Party.objects.bulk_update(to_save, sorted(names), batch_size=500)
        # The search text follows the contact points that are left.
        _refresh_search_text([p.pk for p in to_save])
    Activity.objects.bulk_create(timeline)
    return result


def _refresh_search_text(ids: list[int]) -> None:
    many = Many(ids)
    emails = _grouped(
        EmailAddress.objects.filter(party_id__in_list=many).order_by("-is_primary", "id"), "address"
    )
    phones = _grouped(Phone.objects.filter(party_id__in_list=many).order_by("-is_primary", "id"), "number")
    stale = []
    for party in Party.objects.filter(pk__in_list=many).only("id", "display_name", "search_text"):
        text = search_text_for(party.display_name, emails[party.pk], phones[party.pk])
        if text != party.search_text:
            party.search_text = text
            stale.append(party)
    Party.objects.bulk_update(stale, ["search_text"], batch_size=500)


def parties_worked_on(
    ids: list[int], *, skip: Iterable[type[models.Model]] = (), own_keys: Iterable[str] = ()
) -> set[int]:
    """Of these parties, those that something besides their own contact points, roles, tags and creation entry
    now refers to — a deal, a job, an invoice, a note, a person who joined them … — in one query per relation."""
    own = {EmailAddress, Phone, Address, PartyRole, PartyTag, *skip}
    wanted = set(ids)
    found: set[int] = set()
    for relation in Party._meta.related_objects:
        model = relation.related_model
        if model in own or not isinstance(relation, models.ManyToOneRel):
            continue
        fk = relation.field.name
        if model is Affiliation and fk == "person":
            continue
        for chunk in chunks(ids):
            qs = model._default_manager.filter(**{f"{relation.field.attname}__in_list": Many(chunk)})
            if model is Activity:
                # Entries written by imports (this one's "created", a later import's update and its undo)
                # are not work someone did on the record.
                qs = qs.exclude(event="party.created")
                for key in own_keys:
                    qs = qs.exclude(data__has_key=key)
            if model is Affiliation:
                qs = qs.exclude(person_id__in=wanted)
            found.update(qs.values_list(relation.field.attname, flat=True).distinct())
    return found & wanted


def party_bulk_delete(*, by: User, ids: list[int]) -> int:
    """Delete these parties and what cascades from them (the caller records why, e.g. the import's undo)."""
    if not ids:
        return 0
    deleted = Party.objects.filter(pk__in_list=Many(ids)).count()
    with _search_index_by_batch("party_fts_ad", len(ids)) as by_batch:
        if by_batch:
            with connection.cursor() as cursor:
                for chunk in chunks(ids, 500):
                    cursor.execute(
                        "INSERT INTO party_fts(party_fts, rowid, search_text) "  # noqa: S608
                        "SELECT 'delete', id, search_text FROM parties_party "
                        f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                        chunk,
                    )
        Party.objects.filter(pk__in=ids).delete()
    return deleted
