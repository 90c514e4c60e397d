"""Parties as vCards (version 3.0, RFC 2426 — the version every address book imports), one or a list as filtered.

Written by `vobject` (escaping of `,` `;` `\\` and newlines, lines folded at 75 octets, CRLF). A person gets N and FN,
their organisations as ORG with their job title; an organisation gets ORG and FN, and `X-ABShowAs:COMPANY` so Apple's
Contacts files it as a company. Every email, phone (E.164) and address goes in, the primary first and marked PREF;
tags are CATEGORIES. UID is stable (`friday-<install>-party-<id>`, the install being a digest of this install's
secret key), so importing the file again here finds the same records rather than adding them — and a file from
another Friday install does not pass for this one's records.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import vobject
from django.conf import settings

from friday.accounts.models import User
from friday.parties import selectors
from friday.parties.models import Address, Affiliation, EmailAddress, Party, PartyKind, PartyTag, Phone

CONTENT_TYPE = "text/vcard; charset=utf-8"
_OWN_UID = re.compile(r"friday-([0-9a-f]{10})-party-([0-9]{1,18})")


def install_mark() -> str:
    """This install's mark in the UIDs it writes (a digest of its secret key: the same for every process)."""
    return _mark(settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _mark(secret: str) -> str:  # an import asks once per row with an id: digest each key once
    return hashlib.sha256(f"friday-vcard-uid:{secret}".encode()).hexdigest()[:10]


def uid(party_id: int) -> str:
    return f"friday-{install_mark()}-party-{party_id}"


def own_party_id(value: str) -> int | None:
    """The party a UID written by this install names, or None (another system's UID, another install's)."""
    found = _OWN_UID.fullmatch(value.strip())
    if found is None or found.group(1) != install_mark():
        return None
    return int(found.group(2))


FIELDS = ("id", "kind", "given_name", "family_name", "display_name", "birthday", "notes", "updated_at")


VCARD_TYPES = {"MOBILE": "CELL"}  # the label's word as vCard spells it, where it differs


def _types(label: str, primary: bool, *base: str) -> list[str]:
    kinds = [*base]
    word = "".join(ch for ch in label.upper() if ch.isalnum())
    if word:
        kinds.append(VCARD_TYPES.get(word, word))
    if primary:
        kinds.append("PREF")
    return kinds


def card(party: dict[str, Any], related: dict[str, list[Any]]) -> str:
    """One vCard: `party` has FIELDS; `related` its emails, phones, addresses, affiliations and tag names."""
    c = vobject.vCard()
    c.add("uid").value = uid(party["id"])
    c.add("fn").value = party["display_name"]
    if party["kind"] == PartyKind.PERSON:
        c.add("n").value = vobject.vcard.Name(family=party["family_name"], given=party["given_name"])
        for a in related["affiliations"]:
            c.add("org").value = [a.organisation.display_name]
            if a.job_title:
                c.add("title").value = a.job_title
    else:
        c.add("n").value = vobject.vcard.Name(family="", given="")
        c.add("org").value = [party["display_name"]]
        c.add("x-abshowas").value = "COMPANY"
    for e in related["emails"]:
        line = c.add("email")
        line.value = e.address
        line.type_param = _types(e.label, e.is_primary, "INTERNET")
    for p in related["phones"]:
        line = c.add("tel")
        line.value = p.number
        if kinds := _types(p.label, p.is_primary):
            line.type_param = kinds
    for a in related["addresses"]:
        line = c.add("adr")
        line.value = vobject.vcard.Address(
            street="\n".join(x for x in (a.line1, a.line2) if x),
            city=a.city,
            region=a.region,
            code=a.postcode,
            country=a.country,
        )
        if kinds := _types(a.label, False):
            line.type_param = kinds
    if party["birthday"]:
        c.add("bday").value = party["birthday"].isoformat()
    if related["tags"]:
        c.add("categories").value = related["tags"]
    if party["notes"]:
        c.add("note").value = party["notes"]
    c.add("rev").value = party["updated_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(c.serialize())


def _related(ids: list[int]) -> dict[int, dict[str, list[Any]]]:
    """Each party's contact points, organisations and tags: one query per table for the whole batch."""
    out: dict[int, dict[str, list[Any]]] = defaultdict(
        lambda: {"emails": [], "phones": [], "addresses": [], "affiliations": [], "tags": []}
    )
    for e in EmailAddress.objects.filter(party_id__in=ids).order_by("-is_primary", "id"):
        out[e.party_id]["emails"].append(e)
    for p in Phone.objects.filter(party_id__in=ids).order_by("-is_primary", "id"):
        out[p.party_id]["phones"].append(p)
    for a in Address.objects.filter(party_id__in=ids).order_by("id"):
        out[a.party_id]["addresses"].append(a)
    for f in Affiliation.objects.filter(person_id__in=ids).select_related("organisation").order_by("id"):
        out[f.person_id]["affiliations"].append(f)
    for pid, name in (
        PartyTag.objects.filter(party_id__in=ids).order_by("tag__slug").values_list("party", "tag__name")
    ):
        out[pid]["tags"].append(name)
    return out


def party_card(party: Party) -> str:
    """The vCard of one party (the caller has checked the user may see it)."""
    row = Party.objects.filter(pk=party.pk).values(*FIELDS).get()
    return card(row, _related([party.pk])[party.pk])


def cards(*, user: User, filters: selectors.PartyFilters, sort: str = "name") -> Iterator[str]:
    """The vCards of every party of the list as filtered (its own pages, so its own scope), a page at a time."""
    cursor: str | None = None
    while True:
        page = selectors.party_list(
            user=user, filters=filters, sort=sort, cursor=cursor, limit=selectors.MAX_LIMIT
        )
        ids = [p.id for p in page.items]
        rows = {r["id"]: r for r in Party.objects.filter(pk__in=ids).values(*FIELDS)}
        related = _related(ids)
        for pid in ids:
            yield card(rows[pid], related[pid])
        if not page.next_cursor:
            return
        cursor = page.next_cursor
