"""Reads of parties shared by the pages, the API and later insights — always scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz

from friday.accounts.models import Team, User
from friday.accounts.scoping import visible_q
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page, page_order
from friday.parties import normalise
from friday.parties.models import (
    Activity,
    Address,
    Affiliation,
    CustomField,
    EmailAddress,
    Party,
    PartyKind,
    PartyRole,
    PartyTag,
    Phone,
    RoleName,
    Tag,
)

# Sort name → the keyset order it stands for; anything else is refused (422), never passed to order_by.
SORTS: dict[str, list[str]] = {
    "name": ["sort_name", "id"],
    "-name": ["-sort_name", "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
}
MAX_LIMIT = 200


def parties_visible(user: User) -> QuerySet[Party]:
    return Party.objects.filter(visible_q(user))


def party_get(*, user: User, party_id: int, for_write: bool = False) -> Party:
    """The party if `user` may see it (and, with for_write, change it); otherwise NotFound — never 403."""
    party = None
    if valid_id(party_id):
        party = parties_visible(user).select_related("owner", "team").filter(pk=party_id).first()
    if party is None:
        raise NotFound("No such party.", code="party.not_found")
    if for_write:
        from friday.accounts.scoping import require_write

        require_write(user)
    return party


def party_detail(*, user: User, party_id: int) -> Party:
    party = party_get(user=user, party_id=party_id)
    party_prefetch([party], user=user, members=party.kind == PartyKind.ORGANISATION)
    return party


def party_prefetch(parties: list[Party], *, user: User, members: bool = False) -> None:
    """Load roles, tags, contact points and links of these parties in a fixed number of queries.

    Links to organisations (and, with `members`, an organisation's people) are limited to what `user`
    may see: a record outside the scope does not show up, not even as a name.
    """
    from django.db.models import prefetch_related_objects

    # The scope applies to the linked party through the join (a few rows), never as an IN over all parties.
    org_scope = visible_q(user, owner="organisation__owner", team="organisation__team")
    lookups: list[str | Prefetch] = [
        Prefetch("roles", queryset=PartyRole.objects.order_by("role")),
        Prefetch("party_tags", queryset=PartyTag.objects.select_related("tag").order_by("tag__slug")),
        "emails",
        "phones",
        "addresses",
        Prefetch(
            "affiliations",
            queryset=Affiliation.objects.select_related("organisation").filter(org_scope).order_by("id"),
        ),
    ]
    if members:
        person_scope = visible_q(user, owner="person__owner", team="person__team")
        people = Affiliation.objects.select_related("person").filter(person_scope)
        lookups.append(Prefetch("members", queryset=people.order_by("person__sort_name", "id")))
    prefetch_related_objects(parties, *lookups)


@dataclass
class PartyFilters:
    q: str = ""
    kind: str = ""
    role: str = ""
    tag: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    # Filters the apps above add (lifecycle stage, segment): name → the value as the user sent it.
    extra: dict[str, str] = field(default_factory=dict)


# Apps above parties add list filters here (processes: "stage", "segment"), so every party list — page, API,
# export — offers them without this app knowing about them. name → (user, value) → condition on Party.
EXTRA_FILTERS: dict[str, Callable[[User, str], Q]] = {}


def register_party_filter(name: str, condition: Callable[[User, str], Q]) -> None:
    EXTRA_FILTERS[name] = condition


def _search_condition(q: str) -> Q:
    """Substring search over names, emails and phone digits: FTS5 trigram (SQLite) or pg_trgm (PostgreSQL)."""
    q = q.strip().lower()
    if "\x00" in q:
        raise FridayError("Null characters are not allowed.", code="invalid.null_character", field="q")
    if len(q) > 100:
        raise FridayError("Search for at most 100 characters.", code="invalid.too_long", field="q")
    terms = [q]
    digits = re.sub(r"[\s().\-+/]", "", q)
    if digits.isdigit() and digits != q:
        terms.append(digits)  # "0161 496 0001" finds the stored digits 01614960001
    condition = Q()
    for term in terms:
        condition |= _term_condition(term)
    return condition


def _term_condition(term: str) -> Q:
    if connection.vendor == "sqlite" and len(term) >= 3:
        # The trigram tokenizer matches any substring of 3+ characters; quote the term as one FTS5 string.
        phrase = '"' + term.replace('"', '""') + '"'
        return Q(id__in=RawSQL("SELECT rowid FROM party_fts WHERE party_fts MATCH %s", [phrase]))
    # PostgreSQL: the gin_trgm_ops index serves ILIKE '%term%'. Short SQLite terms fall back to a scan.
    return Q(search_text__contains=term)


def party_queryset(*, user: User, filters: PartyFilters) -> QuerySet[Party]:
    qs = parties_visible(user)
    if filters.kind:
        if filters.kind not in PartyKind.values:
            raise FridayError("Kind must be person or organisation.", code="invalid.kind", field="kind")
        qs = qs.filter(kind=filters.kind)
    if filters.role:
        if filters.role not in RoleName.values:
            raise FridayError(
                f"Role must be one of {', '.join(RoleName.values)}.", code="invalid.role", field="role"
            )
        qs = qs.filter(id__in=PartyRole.objects.filter(role=filters.role).values("party_id"))
    if filters.tag:
        tag = Tag.objects.filter(slug=filters.tag.strip().lower()).first()
        qs = qs.filter(id__in=PartyTag.objects.filter(tag=tag).values("party_id")) if tag else qs.none()
    for name in ("owner_id", "team_id"):
        value = getattr(filters, name)
        if value is not None and not valid_id(value):
            raise FridayError("No such id.", code="invalid.id", field=name)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.team_id is not None:
        qs = qs.filter(team_id=filters.team_id)
    for name, value in filters.extra.items():
        if name not in EXTRA_FILTERS:
            raise FridayError(f"Unknown filter {name!r}.", code="invalid.filter", field=name)
        if value not in ("", None):
            qs = qs.filter(EXTRA_FILTERS[name](user, value))
    if filters.q.strip():
        qs = qs.filter(_search_condition(filters.q))
    return qs


@dataclass(slots=True)
class PartySummary:
    """One row of a party list: what lists show, read without building model instances (see bench/)."""

    id: int
    kind: str
    display_name: str
    sort_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    owner: dict[str, Any] | None = None
    team: dict[str, Any] | None = None
    roles: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    email: str = ""
    phone: str = ""

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_person(self) -> bool:
        return self.kind == PartyKind.PERSON


SUMMARY_FIELDS = (
    "id",
    "kind",
    "display_name",
    "sort_name",
    "created_at",
    "updated_at",
    "owner_id",
    "team_id",
)


def party_list(
    *, user: User, filters: PartyFilters, sort: str = "name", cursor: str | None = None, limit: int = 50
) -> Page:
    """A page of PartySummary rows: one query for the page, one per related table, whatever the page size."""
    order = page_order(SORTS, sort, limit, MAX_LIMIT)
    qs = party_queryset(user=user, filters=filters).values(*SUMMARY_FIELDS)
    page = keyset_page(qs, order=order, cursor=cursor, limit=limit)
    page.items = party_summaries(page.items)
    return page


EXPORT_FIELDS = (
    "id",
    "given_name",
    "family_name",
    "birthday",
    "customer_since",
    "email_consent",
    "do_not_contact",
    "notes",
    "custom",
)


def party_export_rows(
    *, user: User, filters: PartyFilters, sort: str = "name"
) -> Iterator[tuple[PartySummary, dict[str, Any]]]:
    """Every party of the list as filtered and sorted (its own pages, so its own scope), with the fields an export
    adds to what the list shows — every email and phone, the first organisation and address, notes: four more
    queries per page of 200."""
    cursor: str | None = None
    while True:
        page = party_list(user=user, filters=filters, sort=sort, cursor=cursor, limit=MAX_LIMIT)
        ids = [p.id for p in page.items]
        extra = {row["id"]: row for row in Party.objects.filter(pk__in=ids).values(*EXPORT_FIELDS)}
        for row in extra.values():
            row.update(emails=[], phones=[], organisation="", job_title="", address=None)
        for pid, address in (
            EmailAddress.objects.filter(party_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("party_id", "address")
        ):
            extra[pid]["emails"].append(address)
        for pid, number in (
            Phone.objects.filter(party_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("party_id", "number")
        ):
            extra[pid]["phones"].append(number)
        for pid, org, title in (
            Affiliation.objects.filter(person_id__in=ids)
            .order_by("-id")  # the first link wins: written last
            .values_list("person_id", "organisation__display_name", "job_title")
        ):
            extra[pid].update(organisation=org, job_title=title)
        for place in Address.objects.filter(party_id__in=ids).order_by("-id"):
            extra[place.party_id]["address"] = place
        for summary in page.items:
            yield summary, extra[summary.id]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def party_summaries(rows: list[dict[str, Any]]) -> list[PartySummary]:
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    people = {
        u["id"]: {"id": u["id"], "name": f"{u['first_name']} {u['last_name']}".strip() or u["username"]}
        for u in User.objects.filter(pk__in={r["owner_id"] for r in rows if r["owner_id"]}).values(
            "id", "username", "first_name", "last_name"
        )
    }
    teams = {
        t["id"]: {"id": t["id"], "name": t["name"]}
        for t in Team.objects.filter(pk__in={r["team_id"] for r in rows if r["team_id"]}).values("id", "name")
    }
    summaries = {}
    for row in rows:
        owner_id, team_id = row.pop("owner_id"), row.pop("team_id")
        summaries[row["id"]] = PartySummary(**row, owner=people.get(owner_id), team=teams.get(team_id))
    for pid, role in (
        PartyRole.objects.filter(party_id__in=ids).order_by("role").values_list("party_id", "role")
    ):
        summaries[pid].roles.append(role)
    tags = (
        PartyTag.objects.filter(party_id__in=ids).order_by("tag__slug").values_list("party_id", "tag__name")
    )
    for pid, name in tags:
        summaries[pid].tags.append(name)
    for pid, address in EmailAddress.objects.filter(party_id__in=ids, is_primary=True).values_list(
        "party_id", "address"
    ):
        summaries[pid].email = address
    for pid, number in Phone.objects.filter(party_id__in=ids, is_primary=True).values_list(
        "party_id", "number"
    ):
        summaries[pid].phone = number
    return [summaries[i] for i in ids]


def contact_point_get(
    *, party: Party, model: type[EmailAddress] | type[Phone] | type[Address], row_id: int
) -> EmailAddress | Phone | Address:
    """An email, phone or address row of `party` (already scoped); NotFound if it belongs elsewhere."""
    row = model.objects.filter(party=party, pk=row_id).first() if valid_id(row_id) else None
    if row is None:
        raise NotFound(f"No such {model._meta.verbose_name} on this party.", code="contact_point.not_found")
    return row


def activity_list(*, user: User, party: Party, cursor: str | None = None, limit: int = 20) -> Page:
    """A party's timeline, newest first. `party` must come from party_get (already scoped)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FridayError(f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit", field="limit")
    qs = Activity.objects.filter(party=party).select_related("author")
    return keyset_page(qs, order=["-occurred_at", "-id"], cursor=cursor, limit=limit)


# --- duplicates -------------------------------------------------------------------------------------------


@dataclass
class DuplicateMatch:
    party: Party
    reasons: list[str]
    score: int

    def as_dict(self) -> dict:
        return {
            "id": self.party.pk,
            "display_name": self.party.display_name,
            "kind": self.party.kind,
            "reasons": self.reasons,
            "score": self.score,
        }


@dataclass
class Duplicates:
    visible: list[DuplicateMatch] = field(default_factory=list)
    hidden_count: int = 0

    def summary(self) -> str:
        parts = [f"{m.party.display_name} ({'; '.join(m.reasons)})" for m in self.visible[:3]]
        if self.hidden_count:
            parts.append(f"{self.hidden_count} record(s) you cannot see")
        return ", ".join(parts)


NAME_SIMILARITY = 88


def _similar_name_ids(kind: str, name: str, limit: int = 200) -> list[int]:
    """Ids of the `limit` parties of this kind whose names share the most trigrams with `name`."""
    words = [w for w in re.split(r"[^\w]+", name) if len(w) >= 3]
    if not words:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            grams = sorted({w[i : i + 3] for w in words for i in range(len(w) - 2)})
            match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
            cursor.execute(
                "SELECT p.id FROM party_fts JOIN parties_party p ON p.id = party_fts.rowid "
                "WHERE party_fts MATCH %s AND p.kind = %s ORDER BY party_fts.rank LIMIT %s",
                [match, kind, limit],
            )
        else:
            cursor.execute(
                "SELECT id FROM parties_party WHERE kind = %s AND %s <%% search_text "
                "ORDER BY word_similarity(%s, search_text) DESC LIMIT %s",
                [kind, name, name, limit],
            )
        return [row[0] for row in cursor.fetchall()]


def party_find_duplicates(
    *,
    user: User,
    kind: str,
    display_name: str,
    emails: list[str],
    phones: list[str],
    organisation_ids: list[int] | None = None,
    exclude_id: int | None = None,
) -> Duplicates:
    """Records that share an email or phone, or whose name is very close (same organisation, or same kind)."""
    reasons: dict[int, list[str]] = {}
    scores: dict[int, int] = {}

    def add(pid: int, reason: str, score: int) -> None:
        if pid == exclude_id:
            return
        reasons.setdefault(pid, []).append(reason)
        scores[pid] = max(scores.get(pid, 0), score)

    if emails:
        for pid, address in EmailAddress.objects.filter(address__in=emails).values_list(
            "party_id", "address"
        )[:50]:
            add(pid, f"same email {address}", 100)
    if phones:
        for pid, number in Phone.objects.filter(number__in=phones).values_list("party_id", "number")[:50]:
            add(pid, f"same phone {normalise.phone_display(number)}", 100)

    wanted = normalise.sort_key(display_name)
    if wanted:
        # Each candidate once (one found both ways is at the same organisation).
        candidates: dict[int, tuple[str, bool]] = {}
        if organisation_ids:
            for pid, name in Party.objects.filter(
                affiliations__organisation_id__in=organisation_ids
            ).values_list("id", "sort_name")[:500]:
                candidates[pid] = (name, True)
        # The search index ranks names by shared trigrams (typos included); rapidfuzz then decides.
        ids = _similar_name_ids(kind, wanted)
        for pid, name in Party.objects.filter(pk__in=ids).values_list("id", "sort_name"):
            candidates.setdefault(pid, (name, False))
        for pid, (name, same_org) in candidates.items():
            score = int(fuzz.token_sort_ratio(wanted, name))
            if score >= NAME_SIMILARITY:
                reason = "same name" if score == 100 else f"similar name ({score}%)"
                add(pid, reason + (" at the same organisation" if same_org else ""), score)

    if not reasons:
        return Duplicates()
    visible = {p.pk: p for p in parties_visible(user).filter(pk__in=list(reasons))}
    matches = [DuplicateMatch(party=p, reasons=reasons[pid], score=scores[pid]) for pid, p in visible.items()]
    matches.sort(key=lambda m: (-m.score, m.party.sort_name))
    return Duplicates(visible=matches[:10], hidden_count=len(reasons) - len(visible))


def organisation_by_name(*, user: User, name: str) -> Party:
    """The visible organisation with exactly this name (ignoring case and accents)."""
    key = normalise.sort_key(name)
    org = parties_visible(user).filter(kind=PartyKind.ORGANISATION, sort_name=key).order_by("id").first()
    if org is None:
        raise FridayError(
            f"There is no organisation called {name!r}; create it first.",
            code="party.organisation_not_found",
            field="affiliations",
        )
    return org


def organisation_suggestions(*, user: User, q: str, limit: int = 10) -> list[Party]:
    if len(q.strip()) < 2:
        return []
    qs = party_queryset(user=user, filters=PartyFilters(q=q, kind=PartyKind.ORGANISATION))
    return list(qs.order_by("sort_name", "id")[:limit])


def custom_field_list() -> QuerySet[CustomField]:
    """Custom field definitions: every signed-in user may read them (forms and API clients need them)."""
    return CustomField.objects.order_by("position", "id")


def party_custom_values(party: Party) -> list[tuple[str, Any]]:
    """(label, value) of the party's custom fields, in the admin's order, yes/no spelled out."""
    out: list[tuple[str, Any]] = []
    for definition in custom_field_list():
        if definition.key in party.custom:
            value = party.custom[definition.key]
            out.append((definition.label, ("Yes" if value else "No") if isinstance(value, bool) else value))
    return out
