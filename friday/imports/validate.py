"""Turning one row of cells into a clean party, or into the reasons it cannot be one — with no database query.

The field rules are the party services' own (`parties.services._clean`, `_text`, `_clean_address`): the same
email and phone normalisation (E.164 in the business's region), roles, tag syntax, custom field types, text
lengths and future birthdays. What is added here is what only a file needs: splitting "a@x.com ::: b@y.com",
reading dates in the import's day/month order, yes/no words, country names, owners by name, and saying which
column each problem came from. Nothing is cut to fit: a value too long for its field fails the row, with its
length.

Everything the rules need from the database (custom fields, users, teams) is loaded once into a `Context`, so
validating a row costs no query — and rows can be validated before anything is written (the preview).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from friday.accounts.models import Team, User
from friday.core import business, clock
from friday.core.errors import Collector
from friday.imports.formats import SourceRow
from friday.imports.mapping import LABEL_WORDS, value_labels
from friday.imports.models import ImportJob
from friday.parties import normalise
from friday.parties import services as party_services
from friday.parties.models import CustomField, FieldType, PartyKind
from friday.parties.services import AddressIn, PartyIn

PERSON_WORDS = {"person", "people", "individual", "contact", "human", "private"}
ORG_WORDS = {"organisation", "organization", "org", "company", "business", "account", "group"}
TRUE_WORDS = {"yes", "y", "true", "1", "x", "✓", "✔"}
FALSE_WORDS = {"no", "n", "false", "0"}
ROLE_WORDS = {
    "customer": "customer",
    "customers": "customer",
    "client": "customer",
    "supplier": "supplier",
    "suppliers": "supplier",
    "vendor": "supplier",
    "employee": "employee",
    "employees": "employee",
    "staff": "employee",
    "partner": "partner",
    "partners": "partner",
}
# Google Contacts puts every contact in "* myContacts": a system group, not a label anyone chose.
SYSTEM_LABELS = {"mycontacts", "my contacts"}
_MULTI = re.compile(r"\s*:::\s*|\s*;\s*|\s*,\s*|\n+")
_MULTI_PHONE = re.compile(r"\s*:::\s*|\s*;\s*|\n+")
_MULTI_TAG = re.compile(r"\s*:::\s*|\s*;\s*|\s*,\s*|\n+")
_MULTI_LABEL = re.compile(r"\s*:::\s*|\n+")  # one label per value of the cell next to it, or one for all
MAX_LABEL = 30  # as the model's column
MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%b %d %Y", "%B %d %Y")
MAX_EXTERNAL_ID = 200


@dataclass
class Context:
    """What validating rows needs, loaded once per import."""

    mapping: list[str]
    headers: list[str]
    by: User
    date_order: str
    definitions: dict[str, CustomField]
    users: dict[str, int]
    user_names: dict[int, str]
    allowed_owners: set[int] | None
    teams: dict[str, int]
    allowed_teams: set[int] | None
    today: dt.date = field(default_factory=clock.today)
    add_roles: list[str] = field(default_factory=list)  # every row's, besides its cells' (checked already)
    add_tags: list[str] = field(default_factory=list)
    # The business as the import started: its region reads phone numbers. The processes that check rows for
    # the writer use it (`business.pin`) rather than each reading the row themselves.
    business: business.Info = field(default_factory=business.current)
    # Each email and phone column's label column (-1: none) and the label its own name gives (`mapping`).
    value_labels: dict[int, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def for_job(cls, job: ImportJob, *, by: User, headers: list[str]) -> Context:
        ctx = cls.load(by=by, headers=headers, mapping=job.mapping, date_order=job.date_order)
        ctx.add_roles, ctx.add_tags = list(job.add_roles), list(job.add_tags)
        return ctx

    @classmethod
    def load(cls, *, by: User, headers: list[str], mapping: list[str], date_order: str) -> Context:
        users: dict[str, int] = {}
        ambiguous: set[str] = set()
        names: dict[int, str] = {}
        for user in User.objects.filter(is_active=True).only(
            "id", "username", "email", "first_name", "last_name"
        ):
            names[user.pk] = user.display
            for key in {user.username.lower(), user.email.lower(), user.get_full_name().lower()} - {""}:
                if key in users and users[key] != user.pk:
                    ambiguous.add(key)
                users[key] = user.pk
        for key in ambiguous:
            users[key] = -1
        teams = {t.name.lower(): t.pk for t in Team.objects.all()}
        if by.sees_all:
            allowed_owners, allowed_teams = None, None
        else:
            mine = set(by.teams.values_list("id", flat=True))
            allowed_teams = mine
            allowed_owners = {by.pk} | set(
                User.objects.filter(is_active=True, teams__in=mine).values_list("id", flat=True)
            )
        return cls(
            mapping=mapping,
            headers=headers,
            by=by,
            date_order=date_order,
            definitions={d.key: d for d in CustomField.objects.all()},
            users=users,
            user_names=names,
            allowed_owners=allowed_owners,
            teams=teams,
            allowed_teams=allowed_teams,
            value_labels=value_labels(headers, mapping),
        )


@dataclass(slots=True)
class Clean:
    """A row as a party would be written: every value normalised and checked."""

    row: int
    kind: str
    given: str = ""
    family: str = ""
    name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[AddressIn] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    organisation: str = ""
    job_title: str = ""
    birthday: dt.date | None = None
    customer_since: dt.date | None = None
    time_zone: str | None = None
    email_consent: bool | None = None
    do_not_contact: bool | None = None
    notes: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None
    team_id: int | None = None
    external_id: str = ""
    # Required custom fields with no value: a problem only if the row creates a record (an update keeps them).
    required_missing: list[tuple[str, str]] = field(default_factory=list)
    # What search matches a new record by, worked out here where rows are checked (in parallel for big files).
    search_text: str = ""
    phone_forms: list[str] = field(default_factory=list)  # each phone's search forms, as `phones`
    email_labels: list[str] = field(default_factory=list)  # each email's label, as `emails` (empty: none)
    phone_labels: list[str] = field(default_factory=list)
    sort_name: str = ""  # the services' sort key of the display name
    organisation_key: str = ""  # … and of the organisation's name, to find it among existing ones

    @property
    def display(self) -> str:
        if self.kind == PartyKind.PERSON:
            return " ".join(p for p in (self.given, self.family) if p)
        return self.name


@dataclass(slots=True)
class Checked:
    row: SourceRow
    clean: Clean | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = False


def check_row(row: SourceRow, ctx: Context) -> Checked:
    """Validate one row. Never raises for bad data: every problem is returned with its column."""
    if row.problem:
        return Checked(row=row, problems=[(row.problem_column, row.problem)])
    if row.is_empty:
        return Checked(row=row, empty=True)
    values: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, list[tuple[str, str]]] = {}  # (column, label cell) of each email and phone cell
    for i, target in enumerate(ctx.mapping):
        if not target or i >= len(row.cells):
            continue
        cell = row.cells[i]
        if cell.strip():
            values.setdefault(target, []).append((ctx.headers[i], cell))
            if target in ("email", "phone"):
                j, by_name = ctx.value_labels.get(i, (-1, ""))
                given = row.cells[j].strip() if 0 <= j < len(row.cells) else ""
                labels.setdefault(target, []).append((ctx.headers[j], given) if given else ("", by_name))
    problems: list[tuple[str, str]] = []
    clean = _build(row.number, values, ctx, problems, labels)
    if problems:
        order = {h: i for i, h in enumerate(ctx.headers)}
        problems.sort(key=lambda p: order.get(p[0], -1))  # as the columns read, left to right
        return Checked(row=row, problems=problems)
    return Checked(row=row, clean=clean)


def _first(values: dict[str, list[tuple[str, str]]], target: str) -> tuple[str, str]:
    found = values.get(target)
    return found[0] if found else ("", "")


def _labels(bad: Callable[[str, str], None], column: str, cell: str, count: int) -> list[str]:
    """The labels of a cell's `count` values: one each when the label cell holds as many, else its one label for
    all. Google marks the primary one with "* "; a vCard's CELL is a mobile."""
    parts = _MULTI_LABEL.split(cell.strip()) if cell.strip() else []  # an empty part: that value has none
    if len(parts) != count:
        parts = [cell.strip()] * count
    out: list[str] = []
    said = False
    for part in parts:
        word = part.strip().lstrip("*").strip()
        word = LABEL_WORDS.get(word.lower(), word)
        if len(word) > MAX_LABEL:
            if not said:  # one cell labelling several values: said once
                shown = f"{word!r}" if len(word) <= 40 else f"{word[:40]!r}…"
                bad(column, f"A label has at most {MAX_LABEL} characters: {shown} has {len(word)}.")
                said = True
            word = ""
        out.append(word)
    return out


def _build(
    number: int,
    values: dict[str, list[tuple[str, str]]],
    ctx: Context,
    problems: list,
    labels: dict[str, list[tuple[str, str]]],
) -> Clean:
    def bad(column: str, reason: str) -> None:
        problems.append((column, reason))

    # Names and kind.
    given_col, given = _first(values, "given_name")
    middle_col, middle = _first(values, "middle_name")
    family_col, family = _first(values, "family_name")
    full_col, full = _first(values, "full_name")
    org_col, organisation = _first(values, "organisation")
    given, family, middle, full, organisation = (
        v.strip() for v in (given, family, middle, full, organisation)
    )
    if middle:
        given = f"{given} {middle}".strip()
        given_col = given_col or middle_col
    if full and not (given or family):
        given, family = _split_name(full)
        given_col = family_col = full_col
    kind_col, kind_value = _first(values, "kind")
    kind = ""
    if kind_value.strip():
        word = kind_value.strip().lower()
        if word in PERSON_WORDS:
            kind = PartyKind.PERSON
        elif word in ORG_WORDS:
            kind = PartyKind.ORGANISATION
        else:
            bad(kind_col, f"{kind_value.strip()!r} is not a kind: write person or organisation.")
    if not kind:
        if given or family:
            kind = PartyKind.PERSON
        elif organisation:
            kind = PartyKind.ORGANISATION
        elif not problems:
            bad("", "This row has no name: a person needs a given or family name, an organisation its name.")
            kind = PartyKind.PERSON
    clean = Clean(row=number, kind=kind)
    errors = Collector()
    if kind == PartyKind.ORGANISATION:
        name = organisation or full or " ".join(p for p in (given, family) if p)
        name_col = org_col or full_col or given_col
        clean.name = _text(errors, name_col, name, 220) or ""
        if not clean.name and not problems:
            bad(name_col or org_col, "An organisation needs a name.")
    else:
        clean.given = _text(errors, given_col, given, 100) or ""
        clean.family = _text(errors, family_col, family, 100) or ""
        if not (given or family) and not problems:
            bad(given_col or full_col, "A person needs a given or family name.")
        if organisation:
            clean.organisation = _text(errors, org_col, organisation, 220) or ""
    title_col, title = _first(values, "job_title")
    if title.strip():
        if kind == PartyKind.PERSON and organisation:
            clean.job_title = _text(errors, title_col, title, 120) or ""
        elif kind == PartyKind.PERSON:
            bad(
                title_col,
                "A job title needs the organisation it is held at: map or fill the organisation column.",
            )

    # Contact points, roles and tags: split cells holding several values.
    email_cols: list[str] = []
    emails: list[str] = []
    email_labels: list[str] = []
    for (column, cell), (label_col, label) in zip(
        values.get("email", []), labels.get("email", []), strict=True
    ):
        found = [p for p in _MULTI.split(cell.strip()) if p]
        emails += [_address_only(p) for p in found]
        email_cols += [column] * len(found)
        email_labels += _labels(bad, label_col, label, len(found))
    phone_cols: list[str] = []
    phones: list[str] = []
    phone_labels: list[str] = []
    for (column, cell), (label_col, label) in zip(
        values.get("phone", []), labels.get("phone", []), strict=True
    ):
        found = [p for p in _MULTI_PHONE.split(cell.strip()) if p]
        phones += found
        phone_cols += [column] * len(found)
        phone_labels += _labels(bad, label_col, label, len(found))
    role_col = ""
    roles: list[str] = []
    for column, cell in values.get("roles", []):
        role_col = role_col or column
        for part in _MULTI.split(cell.strip()):
            if part:
                roles.append(ROLE_WORDS.get(part.lower(), part.lower()))
    tag_cols: list[str] = []
    tags: list[str] = []
    for column, cell in values.get("tags", []):
        for part in _MULTI_TAG.split(cell.strip()):
            part = part.strip().removeprefix("* ").strip()
            if part and part.lower() not in SYSTEM_LABELS:
                tags.append(part)
                tag_cols.append(column)

    roles += [r for r in ctx.add_roles if r not in roles]
    for tag in ctx.add_tags:
        if tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
            tag_cols.append("")

    # Dates, flags, time zone, notes.
    for target in ("birthday", "customer_since"):
        column, cell = _first(values, target)
        if cell.strip():
            try:
                setattr(clean, target, parse_date(cell, ctx.date_order))
            except ValueError as exc:
                bad(column, str(exc))
    for target in ("email_consent", "do_not_contact"):
        column, cell = _first(values, target)
        if cell.strip():
            try:
                setattr(clean, target, parse_bool(cell))
            except ValueError as exc:
                bad(column, str(exc))
    _, tz = _first(values, "time_zone")
    if tz.strip():
        clean.time_zone = tz.strip()
    notes = [cell.strip() for _, cell in values.get("notes", []) if cell.strip()]
    notes_col = values["notes"][0][0] if notes else ""
    if notes:
        clean.notes = _text(errors, notes_col, "\n\n".join(notes), party_services.MAX_TEXT)

    # Custom fields: dates and yes/no read the way the rest of the file is read, then the services' types.
    custom: dict[str, Any] = {}
    custom_cols: dict[str, str] = {
        target[7:]: header
        for header, target in zip(ctx.headers, ctx.mapping, strict=False)
        if target.startswith("custom.")
    }
    for target, cells in values.items():
        if not target.startswith("custom."):
            continue
        key = target[7:]
        column, cell = cells[0]
        definition = ctx.definitions.get(key)
        value: Any = cell.strip()
        try:
            if definition is not None and definition.field_type == FieldType.DATE:
                value = parse_date(cell, ctx.date_order)
            elif definition is not None and definition.field_type == FieldType.YES_NO:
                value = parse_bool(cell)
            elif definition is not None and definition.field_type == FieldType.NUMBER:
                value = parse_number(cell)
        except ValueError as exc:
            bad(column, f"{definition.label if definition else key}: {exc}")
            continue
        custom[key] = value

    # Ownership.
    owner_col, owner = _first(values, "owner")
    if owner.strip():
        owner_id = ctx.users.get(owner.strip().lower())
        if owner_id is None:
            bad(
                owner_col, f"There is no active user {owner.strip()!r} (give a username, email or full name)."
            )
        elif owner_id == -1:
            bad(owner_col, f"Several users are called {owner.strip()!r}: give the username or email.")
        elif ctx.allowed_owners is not None and owner_id not in ctx.allowed_owners:
            bad(owner_col, f"{owner.strip()} is not in your teams: you can give records only to your teams.")
        else:
            clean.owner_id = owner_id
    team_col, team = _first(values, "team")
    if team.strip():
        team_id = ctx.teams.get(team.strip().lower())
        if team_id is None:
            bad(team_col, f"There is no team {team.strip()!r}.")
        elif ctx.allowed_teams is not None and team_id not in ctx.allowed_teams:
            bad(team_col, f"You are not in the team {team.strip()!r}: you cannot file records there.")
        else:
            clean.team_id = team_id
    ext_col, external = _first(values, "external_id")
    if external.strip():
        if len(external.strip()) > MAX_EXTERNAL_ID:
            bad(
                ext_col,
                f"An id may be at most {MAX_EXTERNAL_ID} characters (this has {len(external.strip())}).",
            )
        else:
            clean.external_id = external.strip()

    # Addresses.
    address_cols: list[dict[str, str]] = []
    addresses: list[AddressIn] = []
    for slot, parts in _address_slots(values).items():
        address, columns = _address(slot, parts, bad)
        if address is not None:
            addresses.append(address)
            address_cols.append(columns)

    # The services' own rules for everything else.
    data = PartyIn(
        kind=kind,
        emails=emails,
        phones=phones,
        roles=roles,
        tags=tags,
        custom=custom,
        birthday=clean.birthday,
        customer_since=clean.customer_since,
        time_zone=clean.time_zone,
    )
    out = party_services._clean(
        errors, data, kind, existing_custom=None, creating=True, definitions=ctx.definitions
    )
    cleaned_addresses = []
    for i, address in enumerate(addresses):
        result = party_services._clean_address(errors, i, address)
        if result is not None:
            cleaned_addresses.append(result)
    for error in errors.errors:
        column = _column_for(
            error.field or "",
            given_col=given_col,
            family_col=family_col,
            email_cols=email_cols,
            phone_cols=phone_cols,
            role_col=role_col,
            tag_cols=tag_cols,
            custom_cols=custom_cols,
            address_cols=address_cols,
            values=values,
        )
        if error.code == "custom.required":
            clean.required_missing.append((column, error.detail))
        else:
            bad(column, error.detail)
    clean.emails = out.emails or []
    clean.phones = out.phones or []
    if any(email_labels):
        clean.email_labels = [email_labels[i] for i in out.email_from]
    if any(phone_labels):
        clean.phone_labels = [phone_labels[i] for i in out.phone_from]
    clean.roles = out.roles or []
    clean.tags = out.tags or []
    clean.custom = out.custom or {}
    clean.addresses = cleaned_addresses
    if not problems:
        display = clean.display
        clean.phone_forms = [normalise.phone_search_forms(p) for p in clean.phones]
        clean.search_text = party_services.search_text_from_forms(display, clean.emails, clean.phone_forms)
        clean.sort_name = normalise.sort_key(display)
        if clean.organisation:
            clean.organisation_key = normalise.sort_key(clean.organisation)
    return clean


def _text(errors: Collector, column: str, value: str, limit: int) -> str | None:
    """The services' text rule (no NUL, at most `limit` characters), reported under the column's name."""
    return party_services._text(errors, f"@{column}", value, max_length=limit)


def _column_for(path: str, **ctx: Any) -> str:
    """The column a services' field path (emails.2, custom.vat, addresses.0.line1 …) came from."""
    if path.startswith("@"):
        return path[1:]
    head, _, rest = path.partition(".")
    index = int(rest.split(".")[0]) if rest.split(".")[0].isdigit() else None

    def pick(columns: list[str]) -> str:
        if index is not None and index < len(columns):
            return columns[index]
        return columns[0] if columns else ""

    if head == "emails":
        return pick(ctx["email_cols"])
    if head == "phones":
        return pick(ctx["phone_cols"])
    if head == "tags":
        return pick(ctx["tag_cols"])
    if head == "roles":
        return ctx["role_col"]
    if head == "custom":
        return ctx["custom_cols"].get(rest, "")
    if head == "addresses" and index is not None and index < len(ctx["address_cols"]):
        part = rest.split(".", 1)[1] if "." in rest else ""
        columns = ctx["address_cols"][index]
        return columns.get(part) or next(iter(columns.values()), "")
    if head in ("birthday", "customer_since", "time_zone"):
        found = ctx["values"].get(head)
        return found[0][0] if found else ""
    return ""


def _split_name(full: str) -> tuple[str, str]:
    """ "Ada Lovelace" → (Ada, Lovelace); "Lovelace, Ada" → (Ada, Lovelace); "Madonna" → (Madonna, "")."""
    full = " ".join(full.split())
    if "," in full:
        family, _, given = full.partition(",")
        return given.strip(), family.strip()
    given, _, family = full.rpartition(" ")
    return (given, family) if given else (family, "")


def _address_only(value: str) -> str:
    """ "Ada Lovelace <ada@example.com>" → the address; anything else as it is (and validated as it is)."""
    if "<" in value and ">" in value:
        _, address = email.utils.parseaddr(value)
        if address:
            return address
    return value.strip()


def _address_slots(values: dict[str, list[tuple[str, str]]]) -> dict[str, dict[str, list[tuple[str, str]]]]:
    slots: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for target, cells in values.items():
        if target.startswith("address."):
            _, slot, part = target.split(".", 2)
            slots.setdefault(slot, {})[part] = cells
    return slots


def _address(
    slot: str, parts: dict[str, list[tuple[str, str]]], bad
) -> tuple[AddressIn | None, dict[str, str]]:
    columns: dict[str, str] = {}

    def get(part: str) -> str:
        cells = parts.get(part, [])
        if cells:
            columns.setdefault(part, cells[0][0])
        return ", ".join(c.strip() for _, c in cells if c.strip())

    street_lines = [line.strip() for line in get("street").splitlines() if line.strip()]
    if "street" in columns:
        columns.setdefault("line1", columns["street"])
        columns.setdefault("line2", columns["street"])
    explicit = get("line1")
    if explicit:
        line1, extra = explicit, street_lines
    else:
        line1, extra = (street_lines[0] if street_lines else ""), street_lines[1:]
    line2 = ", ".join(p for p in (*extra, get("line2")) if p)
    country_col = parts["country"][0][0] if parts.get("country") else ""
    country_value = get("country")
    country = ""
    if country_value:
        country = country_code(country_value)
        if not country:
            bad(
                country_col,
                f"{country_value!r} is not a country Friday knows: use its name in English or its two-letter "
                "code (GB, FR, US …).",
            )
    label = get("label").removeprefix("* ").strip().lower() or ("" if slot.isdigit() else slot)
    address = AddressIn(
        line1=line1,
        line2=line2,
        city=get("city"),
        region=get("region"),
        postcode=get("postcode"),
        country=country,
        label=label,
    )
    if not any((address.line1, address.line2, address.city, address.region, address.postcode, country_value)):
        return None, columns
    if not address.line1:
        named = ", ".join(sorted(k for k, v in vars(address).items() if v and k != "label"))
        bad(
            next(iter(columns.values()), ""),
            f"An address needs its first line (the street); this one has only {named}. Map a street column, "
            "or set these address columns to 'Not imported'.",
        )
        return None, columns
    return address, columns


# --- values ------------------------------------------------------------------------------------------------------


def parse_date(value: str, order: str = "dmy") -> dt.date:
    """ISO (2026-01-31, 20260131, with or without a time), D/M/Y or M/D/Y as the import says, or month names."""
    text = value.strip()
    if re.fullmatch(r"--\d{2}-?\d{2}", text):
        raise ValueError(f"{text!r} has no year: Friday keeps full dates only.")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?", text)
    if m is None:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T[\dZ:+-]*)?", text) or re.fullmatch(
            r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", text
        )
    if m:
        year, month, day = (int(g) for g in m.groups())
        return _date(text, year, month, day)
    m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?: [\d:]+(?: ?[AaPp][Mm])?)?", text)
    if m:
        a, b, y = m.groups()
        if len(y) != 4:
            raise ValueError(f"{text!r}: write the year with four digits.")
        day, month = (int(a), int(b)) if order == "dmy" else (int(b), int(a))
        return _date(text, int(y), month, day, order=order)
    for fmt in MONTH_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    first = "DD/MM/YYYY" if order == "dmy" else "MM/DD/YYYY"
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or {first}.")


def _date(text: str, year: int, month: int, day: int, *, order: str = "") -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        hint = ""
        if order:
            mine, other = ("day", "month") if order == "dmy" else ("month", "day")
            hint = f" (this import reads dates {mine} first: is the file {other} first?)"
        raise ValueError(f"{text!r} is not a real date{hint}.") from None


def parse_number(value: str) -> str:
    """A number as the custom field stores it; "1,234.50" is not guessed at (is the comma a decimal point?)."""
    from decimal import Decimal, InvalidOperation

    text = value.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number (write it like 1234.50).") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a number (write it like 1234.50).")
    return text


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value.strip()!r} is not yes or no.")


@functools.cache
def _countries() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for locale in ("en", "fr", "de", "es", "it", "nl", "pt"):
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(_fold(name), code)
                names.setdefault(code.lower(), code)
    aliases = {
        "uk": "GB",
        "great britain": "GB",
        "britain": "GB",
        "england": "GB",
        "scotland": "GB",
        "wales": "GB",
        "northern ireland": "GB",
        "united kingdom of great britain and northern ireland": "GB",
        "usa": "US",
        "us": "US",
        "u s a": "US",
        "u s": "US",
        "america": "US",
        "united states of america": "US",
        "holland": "NL",
        "the netherlands": "NL",
        "republic of ireland": "IE",
        "eire": "IE",
        "south korea": "KR",
        "korea": "KR",
        "russia": "RU",
        "czech republic": "CZ",
        "ivory coast": "CI",
        "uae": "AE",
    }
    names.update(aliases)
    return names


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def country_code(value: str) -> str:
    """A country name (English, or French, German, Spanish, Italian, Dutch, Portuguese) or ISO code → "GB"."""
    return _countries().get(_fold(value), "")


def business_region() -> str:
    return business.region()
