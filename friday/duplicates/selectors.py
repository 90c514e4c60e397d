"""Reads of duplicate pairs and merges, scoped: a user sees a pair only when they may see both parties."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import dateformat

from friday.accounts.models import User
from friday.accounts.scoping import visible_q
from friday.core.errors import FridayError, NotFound
from friday.core.ids import valid_id
from friday.core.pagination import Page, keyset_page
from friday.duplicates import relations
from friday.duplicates.models import DuplicatePair, DuplicateScan, PartyMerge
from friday.duplicates.services import field_value, merge_defaults, merge_fields
from friday.parties.models import Affiliation, CustomField, Party
from friday.parties.normalise import phone_display
from friday.parties.selectors import party_get, party_prefetch

REASONS = ("email", "phone", "name", "org_name")
MAX_LIMIT = 200


def pairs_visible(user: User) -> QuerySet[DuplicatePair]:
    return DuplicatePair.objects.filter(
        visible_q(user, owner="party_a__owner", team="party_a__team"),
        visible_q(user, owner="party_b__owner", team="party_b__team"),
    )


def pair_list(
    *,
    user: User,
    cursor: str | None = None,
    limit: int = 50,
    dismissed: bool = False,
    reason: str = "",
    min_score: int = 0,
) -> Page:
    """Open pairs (or the dismissed ones), most likely first, with both parties loaded: one query a page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FridayError(f"Limit must be between 1 and {MAX_LIMIT}.", code="invalid.limit", field="limit")
    if reason and reason not in REASONS:
        raise FridayError(
            f"Reason must be one of {', '.join(REASONS)}.", code="invalid.reason", field="reason"
        )
    if not 0 <= min_score <= 100:
        raise FridayError("A score is between 0 and 100.", code="invalid.min_score", field="min_score")
    qs = pairs_visible(user).filter(dismissed_at__isnull=not dismissed)
    if min_score:
        qs = qs.filter(score__gte=min_score)
    if reason:
        # Reasons are a short JSON list; a text match on the code works the same on both databases.
        qs = qs.filter(reasons__icontains=f'"code": "{reason}"')
    qs = qs.select_related("party_a__owner", "party_b__owner", "dismissed_by")
    return keyset_page(qs, order=["-score", "id"], cursor=cursor, limit=limit)


def pair_get(*, user: User, pair_id: int) -> DuplicatePair:
    pair = None
    if valid_id(pair_id):
        pair = pairs_visible(user).select_related("party_a", "party_b").filter(pk=pair_id).first()
    if pair is None:
        raise NotFound("No such duplicate pair.", code="duplicate.not_found")
    return pair


def scan_latest() -> DuplicateScan | None:
    return DuplicateScan.objects.order_by("-started_at", "-id").first()


def merge_get(*, user: User, merge_id: int) -> PartyMerge:
    """A merge record, if the user can see its survivor."""
    merge = None
    if valid_id(merge_id):
        merge = (
            PartyMerge.objects.filter(survivor__in=Party.objects.filter(visible_q(user)))
            .select_related("by", "survivor")
            .filter(pk=merge_id)
            .first()
        )
    if merge is None:
        raise NotFound("No such merge.", code="merge.not_found")
    return merge


@dataclass
class FieldRow:
    name: str
    label: str
    survivor: Any
    other: Any
    default: str
    same: bool
    choices: tuple[str, ...] = ("survivor", "other")
    # What the form shows chosen (the default, or what was posted) and the refusal beside it, if any.
    chosen: str = ""
    error: str = ""

    def __post_init__(self) -> None:
        self.chosen = self.chosen or self.default


@dataclass
class MergePreview:
    survivor: Party
    other: Party
    fields: list[FieldRow]
    custom: list[FieldRow]
    emails: list[tuple[str, str, bool]]  # address, whose, primary by default
    phones: list[tuple[str, str, bool]]  # E.164, display, primary by default
    roles: list[str]
    tags: list[str]
    addresses: list[str]
    works_at: list[str] = field(default_factory=list)  # "Acme Ltd (Buyer)": a person's organisations, unioned
    moves: dict[str, int] = field(default_factory=dict)
    pair: DuplicatePair | None = None


LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "name": "Name",
    "birthday": "Birthday",
    "customer_since": "Customer since",
    "time_zone": "Time zone",
    "owner": "Owner",
    "team": "Team",
    "email_consent": "Marketing email consent",
    "do_not_contact": "Do not contact",
    "notes": "Notes",
}


def _shown(party: Party, name: str) -> Any:
    if name == "owner":
        return party.owner.display if party.owner else ""
    if name == "team":
        return party.team.name if party.team else ""
    if name in ("email_consent", "do_not_contact"):
        return "Yes" if getattr(party, name) else "No"
    value = field_value(party, name)
    if isinstance(value, dt.date):
        return dateformat.format(value, "j M Y")
    return "" if value is None else value


def merge_preview(*, user: User, survivor_id: int, other_id: int) -> MergePreview:
    """Both parties side by side, the defaults the merge would take, and what would move. Scoped: either party
    outside the user's scope is a 404."""
    survivor = party_get(user=user, party_id=survivor_id, for_write=True)
    other = party_get(user=user, party_id=other_id, for_write=True)
    if survivor.pk == other.pk:
        raise FridayError("A party cannot be merged with itself.", code="merge.same_party", field="other_id")
    party_prefetch([survivor, other], user=user)
    defaults = merge_defaults(survivor, other)
    rows = []
    for name in merge_fields(survivor.kind) if survivor.kind == other.kind else ():
        mine, theirs = _shown(survivor, name), _shown(other, name)
        rows.append(
            FieldRow(
                name=name,
                label=LABELS[name],
                survivor=mine,
                other=theirs,
                default=defaults[name],
                same=mine == theirs,
                choices=("survivor", "other", "both")
                if name == "notes" and mine and theirs
                else ("survivor", "other"),
            )
        )
    names = dict(CustomField.objects.values_list("key", "label"))
    custom = [
        FieldRow(
            name=key,
            label=names.get(key, key),
            survivor=survivor.custom.get(key, ""),
            other=other.custom.get(key, ""),
            default=defaults[f"custom.{key}"],
            same=survivor.custom.get(key) == other.custom.get(key),
        )
        for key in sorted(set(survivor.custom) | set(other.custom))
    ]
    emails, seen = [], set()
    primary_email = next((e.address for e in survivor.emails.all() if e.is_primary), None)
    for party, whose in ((survivor, "survivor"), (other, "other")):
        for e in party.emails.all():
            if e.address not in seen:
                seen.add(e.address)
                primary_email = primary_email or (e.address if e.is_primary else None)
                emails.append((e.address, whose, False))
    if primary_email is None and emails:
        primary_email = emails[0][0]
    emails = [(a, w, a == primary_email) for a, w, _ in emails]
    phones, seen = [], set()
    primary_phone = next((p.number for p in survivor.phones.all() if p.is_primary), None)
    for party in (survivor, other):
        for p in party.phones.all():
            if p.number not in seen:
                seen.add(p.number)
                primary_phone = primary_phone or (p.number if p.is_primary else None)
                phones.append((p.number, phone_display(p.number), False))
    if primary_phone is None and phones:
        primary_phone = phones[0][0]
    phones = [(n, d, n == primary_phone) for n, d, _ in phones]
    roles = sorted({r.get_role_display() for p in (survivor, other) for r in p.roles.all()})
    tags = sorted({t.tag.name for p in (survivor, other) for t in p.party_tags.all()}, key=str.lower)
    addresses = list(dict.fromkeys(str(a) for p in (survivor, other) for a in p.addresses.all()))
    works_at: dict[int, str] = {}  # organisation → as shown (the survivor's job title first)
    for link in (
        Affiliation.objects.filter(person__in=(survivor, other))
        .select_related("organisation")
        .order_by("-person_id" if survivor.pk > other.pk else "person_id", "id")
    ):
        if link.organisation_id not in (survivor.pk, other.pk):
            title = f" ({link.job_title})" if link.job_title else ""
            works_at.setdefault(link.organisation_id, f"{link.organisation.display_name}{title}")
    a, b = sorted((survivor.pk, other.pk))
    pair = DuplicatePair.objects.filter(party_a_id=a, party_b_id=b).first()
    return MergePreview(
        survivor=survivor,
        other=other,
        fields=rows,
        custom=custom,
        emails=emails,
        phones=phones,
        roles=roles,
        tags=tags,
        addresses=addresses,
        works_at=list(works_at.values()),
        moves=relations.count_all(other),
        pair=pair,
    )
