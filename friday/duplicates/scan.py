"""Finding likely duplicate parties across the whole book without comparing every pair (blocking).

Candidates only ever come from a shared key, never from all n² pairs:

- **email**: the same address (folded to lower case, spaces trimmed) on two records of the same kind;
- **phone**: the same number (E.164, as the services store it; digits only as the key);
- **name, people**: two people of one organisation (the organisation is the block) whose names are close —
  rapidfuzz's token-sort ratio, the scorer and threshold the create-time check uses (`parties.selectors`);
- **name, organisations**: organisations whose names are close once legal words (Ltd, Limited, & Co …) are set
  aside. Blocks: the whole core name, and each significant word's first four letters; a word shared by more
  than `MAX_NAME_BLOCK` organisations ("services") does not discriminate and forms no block.

People with the same name and no organisation in common are *not* candidates: 80k generated people repeat
12k names, and a real book repeats "John Smith" just as often. A group larger than `MAX_GROUP` (an address or
number on hundreds of records: a switchboard, a placeholder) is left out and counted, never silently.

`find_pairs(changed=None)` scans everything; `find_pairs(changed={ids})` returns only the pairs that touch those
parties, reading only their blocks — what the incremental scan uses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from rapidfuzz import fuzz, process

from friday.parties.models import Affiliation, EmailAddress, Party, PartyKind, Phone
from friday.parties.normalise import phone_display
from friday.parties.selectors import NAME_SIMILARITY

MAX_GROUP = 50
MAX_NAME_BLOCK = 1000
# Above this many members an organisation is cut into smaller blocks by the first letters of name words.
MAX_ORG_BLOCK = 2000
CHUNK = 900  # ids per IN (...) list: under SQLite's 999 variables on old builds

# Words that do not tell one organisation from another.
LEGAL_WORDS = frozenset(
    [
        "ltd",
        "limited",
        "llp",
        "lp",
        "plc",
        "inc",
        "incorporated",
        "llc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sarl",
        "sas",
        "bv",
        "nv",
        "pty",
        "srl",
        "spa",
        "oy",
        "ab",
        "as",
        "the",
        "and",
        "group",
        "sons",
    ]
)

# How sure each kind of evidence is on its own (0–100); each further kind of evidence adds BONUS.
EMAIL, PHONE = 95, 85
BONUS = 10

Progress = Callable[[str, int, int], None]
T = TypeVar("T")


class Evidence:
    """What two parties share. Turned into a confidence and reasons in words by `score`/`reasons`. (A plain
    class with slots: a full scan makes one per candidate pair, ~100k on the bench book.)"""

    __slots__ = ("emails", "name", "org_name", "organisation", "phones")

    def __init__(self) -> None:
        self.emails: list[str] = []
        self.phones: list[str] = []
        self.name = 0  # the best name similarity found (0: none)
        self.org_name = 0
        self.organisation = ""  # where the names matched (people)

    def score(self) -> int:
        parts = []
        if self.emails:
            parts.append(EMAIL)
        if self.phones:
            parts.append(PHONE)
        if self.name:
            # 88% → 70, 100% → 85: a close name inside one organisation is good evidence, not proof.
            parts.append(70 + (self.name - NAME_SIMILARITY) * 15 // (100 - NAME_SIMILARITY))
        if self.org_name:
            parts.append(65 + (self.org_name - NAME_SIMILARITY) * 15 // (100 - NAME_SIMILARITY))
        if not parts:
            return 0
        return min(100, max(parts) + BONUS * (len(parts) - 1))

    def reasons(self) -> list[dict[str, str]]:
        out = []
        for address in self.emails:
            out.append({"code": "email", "text": f"Same email {address}"})
        for number in self.phones:
            out.append({"code": "phone", "text": f"Same phone {phone_display(number)}"})
        if self.name:
            what = "Same name" if self.name == 100 else f"Similar name ({self.name}%)"
            out.append({"code": "name", "text": f"{what} at {self.organisation}"})
        if self.org_name:
            what = "Same name" if self.org_name == 100 else f"Similar name ({self.org_name}%)"
            out.append({"code": "org_name", "text": f"{what}, leaving aside words such as Ltd"})
        return out


@dataclass
class ScanResult:
    pairs: dict[tuple[int, int], Evidence]
    parties: int
    skipped_groups: int


def _chunks(ids: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    items = list(ids)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def email_key(address: str) -> str:
    return address.strip().lower()


def phone_key(number: str) -> str:
    return re.sub(r"\D", "", number)


def words(sort_name: str) -> list[str]:
    """The words of a (case- and accent-folded) name."""
    return re.findall(r"\w+", sort_name)


def org_core(sort_name: str) -> str:
    """An organisation's name without legal words, words sorted: "The Acme Co. Ltd" → "acme"."""
    found = words(sort_name)
    core = [w for w in found if w not in LEGAL_WORDS] or found
    return " ".join(sorted(core))


class _Collector:
    def __init__(self, changed: set[int] | None) -> None:
        self.changed = changed
        self.pairs: dict[tuple[int, int], Evidence] = {}

    def wanted(self, a: int, b: int) -> bool:
        return a != b and (self.changed is None or a in self.changed or b in self.changed)

    def get(self, a: int, b: int) -> Evidence:
        key = (a, b) if a < b else (b, a)
        found = self.pairs.get(key)
        if found is None:
            found = self.pairs[key] = Evidence()
        return found


def _shared_values(
    collector: _Collector,
    rows: Iterable[tuple[int, str]],
    key: Callable[[str], str],
    kinds: dict[int, str],
    add: Callable[[Evidence, str], None],
) -> int:
    """Pairs of same-kind parties sharing a key; returns the groups left out for their size."""
    groups: dict[str, dict[int, str]] = defaultdict(dict)
    for party_id, value in rows:
        k = key(value)
        if k:
            groups[k].setdefault(party_id, value)
    skipped = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        if len(members) > MAX_GROUP:
            skipped += 1
            continue
        ids = sorted(members)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if kinds.get(a) == kinds.get(b) and collector.wanted(a, b):
                    add(collector.get(a, b), members[a])
    return skipped


def _kinds(ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(ids))):
        out.update(Party.objects.filter(pk__in=chunk).values_list("pk", "kind"))
    return out


def _similar(names: list[str], cutoff: int = NAME_SIMILARITY) -> Iterator[tuple[int, int, int]]:
    """(i, j, score) for i < j whose names score at least `cutoff`: all pairs of one block, in C."""
    n = len(names)
    if n < 2:
        return
    if n <= 8:  # a few direct calls beat building a matrix
        for i in range(n):
            for j in range(i + 1, n):
                s = int(fuzz.token_sort_ratio(names[i], names[j], score_cutoff=cutoff))
                if s:
                    yield i, j, s
        return
    matrix = process.cdist(
        names, names, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, dtype=np.uint8, workers=1
    )
    rows, cols = np.nonzero(np.triu(matrix, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        yield i, j, int(matrix[i, j])


def _similar_to(name: str, names: list[str], cutoff: int = NAME_SIMILARITY) -> Iterator[tuple[int, int]]:
    """(index, score) of the names close to `name`."""
    for _, score, index in process.extract(
        name, names, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, limit=None
    ):
        yield index, int(score)


def _people_in_organisations(collector: _Collector, progress: Progress) -> int:
    """Close names of people in one organisation. Returns how many organisations were looked at."""
    affiliations = Affiliation.objects.all()
    if collector.changed is not None:
        orgs: set[int] = set()
        for chunk in _chunks(collector.changed):
            orgs.update(
                Affiliation.objects.filter(person_id__in=chunk).values_list("organisation_id", flat=True)
            )
        if not orgs:
            return 0
        affiliations = affiliations.filter(organisation_id__in=sorted(orgs))
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for org_id, person_id, name in affiliations.values_list(
        "organisation_id", "person_id", "person__sort_name"
    ).iterator(chunk_size=5000):
        members[org_id].append((person_id, " ".join(words(name))))
    blocks = [(org_id, people) for org_id, people in members.items() if len(people) > 1]
    where: dict[tuple[int, int], int] = {}  # pair → the organisation its names matched in
    for n, (org_id, people) in enumerate(blocks):
        if n % 1000 == 0:
            progress("people in organisations", n, len(blocks))
        for sub in _org_sub_blocks(people):
            names = [name for _, name in sub]
            for i, j, score in _similar(names):
                a, b = sub[i][0], sub[j][0]
                if collector.wanted(a, b):
                    evidence = collector.get(a, b)
                    if score > evidence.name:
                        evidence.name = score
                        where[(a, b) if a < b else (b, a)] = org_id
    names_of: dict[int, str] = {}
    for chunk in _chunks(sorted(set(where.values()))):
        names_of.update(Party.objects.filter(pk__in=chunk).values_list("pk", "display_name"))
    for key, org_id in where.items():
        collector.pairs[key].organisation = names_of.get(org_id, f"organisation #{org_id}")
    progress("people in organisations", len(blocks), len(blocks))
    return len(members)


def _org_sub_blocks(people: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """An organisation small enough is one block; a huge one is cut by the first three letters of each word
    (a pair of close names shares at least one word start unless every word has a typo in its first letters)."""
    if len(people) <= MAX_ORG_BLOCK:
        return [people]
    keyed: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for person in people:
        for key in {w[:3] for w in person[1].split()}:  # once per key: "Ann Annan" is one member of "ann"
            keyed[key].append(person)
    return [b for b in keyed.values() if 1 < len(b) <= MAX_ORG_BLOCK]


def _org_keys(core: str) -> set[str]:
    """The blocks of an organisation's core name: the whole of it, and each word's first four letters — each
    key once, so "Birch Birchwood" is one member of the "birc" block, never paired with itself."""
    return {"=" + core} | {w[:4] for w in core.split() if len(w) >= 3}


def _organisation_names(collector: _Collector, progress: Progress) -> tuple[int, int]:
    """Close organisation names. Returns (organisations looked at, blocks left out for their size)."""
    orgs = list(
        Party.objects.filter(kind=PartyKind.ORGANISATION).values_list("pk", "sort_name").iterator(5000)
    )
    cores = [org_core(name) for _, name in orgs]
    blocks: dict[str, list[int]] = defaultdict(list)  # key → indexes into orgs
    for index, core in enumerate(cores):
        if not core:
            continue
        for key in _org_keys(core):
            blocks[key].append(index)
    skipped = 0
    if collector.changed is None:
        todo = [b for b in blocks.values() if len(b) > 1]
        for n, block in enumerate(todo):
            if n % 1000 == 0:
                progress("organisation names", n, len(todo))
            if len(block) > MAX_NAME_BLOCK:
                skipped += 1
                continue
            names = [cores[i] for i in block]
            for i, j, score in _similar(names):
                evidence = collector.get(orgs[block[i]][0], orgs[block[j]][0])
                evidence.org_name = max(evidence.org_name, score)
        progress("organisation names", len(todo), len(todo))
        return len(orgs), skipped
    # Incremental: each changed organisation against the members of its own blocks.
    position = {pk: i for i, (pk, _) in enumerate(orgs)}
    for pk in collector.changed:
        found = position.get(pk)
        if found is None or not cores[found]:
            continue
        core = cores[found]
        keys = _org_keys(core)
        candidates = sorted(
            {i for k in keys if len(blocks[k]) <= MAX_NAME_BLOCK for i in blocks[k]} - {found}
        )
        if not candidates:
            continue
        names = [cores[i] for i in candidates]
        for at, score in _similar_to(core, names):
            evidence = collector.get(pk, orgs[candidates[at]][0])
            evidence.org_name = max(evidence.org_name, score)
    return len(orgs), skipped


def find_pairs(changed: set[int] | None = None, *, progress: Progress | None = None) -> ScanResult:
    """Every likely duplicate pair (changed=None), or those that touch the `changed` parties."""
    say: Progress = progress or (lambda stage, done, total: None)
    collector = _Collector(changed)
    skipped = 0

    say("emails", 0, 1)
    if changed is None:
        email_rows = list(EmailAddress.objects.values_list("party_id", "address").iterator(10_000))
        phone_rows = list(Phone.objects.values_list("party_id", "number").iterator(10_000))
        kinds = dict(Party.objects.values_list("pk", "kind").iterator(10_000))
        parties = len(kinds)
    else:
        email_rows, phone_rows = [], []
        mine_emails: set[str] = set()
        mine_phones: set[str] = set()
        for chunk in _chunks(sorted(changed)):
            mine_emails.update(
                EmailAddress.objects.filter(party_id__in=chunk).values_list("address", flat=True)
            )
            mine_phones.update(Phone.objects.filter(party_id__in=chunk).values_list("number", flat=True))
        # The stored forms and their folded keys (services store them folded already).
        emails = sorted(mine_emails | {email_key(e) for e in mine_emails})
        for part in _chunks(emails, 500):
            email_rows += list(
                EmailAddress.objects.filter(address__in=part).values_list("party_id", "address")
            )
        for part in _chunks(sorted(mine_phones), 500):
            phone_rows += list(Phone.objects.filter(number__in=part).values_list("party_id", "number"))
        kinds = _kinds([pid for pid, _ in email_rows] + [pid for pid, _ in phone_rows])
        parties = len(changed)

    def add_email(evidence: Evidence, value: str) -> None:
        evidence.emails.append(email_key(value))

    def add_phone(evidence: Evidence, value: str) -> None:
        evidence.phones.append(value)

    skipped += _shared_values(collector, email_rows, email_key, kinds, add_email)
    say("phones", 0, 1)
    skipped += _shared_values(collector, phone_rows, phone_key, kinds, add_phone)
    _people_in_organisations(collector, say)
    _, skipped_names = _organisation_names(collector, say)
    skipped += skipped_names
    return ScanResult(pairs=collector.pairs, parties=parties, skipped_groups=skipped)


def scored(result: ScanResult) -> list[dict[str, Any]]:
    """The pairs as rows to store: ids, confidence, reasons in words."""
    rows = []
    for (a, b), e in result.pairs.items():
        score = e.score()
        if score:
            rows.append({"party_a_id": a, "party_b_id": b, "score": score, "reasons": e.reasons()})
    return rows
