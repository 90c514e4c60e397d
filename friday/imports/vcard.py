"""A streaming vCard reader for versions 2.1, 3.0 (RFC 2426) and 4.0 (RFC 6350): one card in memory at a time.

Each card becomes a row of fixed columns (`COLUMNS`), so vCards go through the same mapping, validation and
preview as a spreadsheet. It unfolds continued lines, drops group prefixes (`item1.EMAIL`), reads parameters
in both the 3.0 (`TYPE=work;TYPE=pref`) and 4.0 (`TYPE="work,voice";PREF=1`) styles and 2.1's bare types,
decodes quoted-printable and base64 text, un-escapes `\\n \\, \\;` and splits structured values (N, ADR) on
unescaped semicolons. Photos, logos, sounds and keys are skipped without being decoded; other properties that
have no place in Friday are counted, so the preview can say what was left out.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

ADDRESS_SLOTS = 3
ADDRESS_PARTS = ("street", "city", "region", "postcode", "country", "type")
COLUMNS: tuple[str, ...] = (
    "KIND",
    "FN",
    "N given",
    "N family",
    "N additional",
    "ORG",
    "TITLE",
    "EMAIL type",
    "EMAIL",
    "TEL type",
    "TEL",
    *(f"ADR {n} {part}" for n in range(1, ADDRESS_SLOTS + 1) for part in ADDRESS_PARTS),
    "BDAY",
    "NOTE",
    "CATEGORIES",
    "UID",
)
# What each column is imported as, unless the mapping on the page says otherwise.
MAPPING: dict[str, str] = {
    "KIND": "kind",
    "FN": "full_name",
    "N given": "given_name",
    "N family": "family_name",
    "N additional": "middle_name",
    "ORG": "organisation",
    "TITLE": "job_title",
    "EMAIL type": "email_label",
    "EMAIL": "email",
    "TEL type": "phone_label",
    "TEL": "phone",
    **{
        f"ADR {n} {part}": f"address.{n}.{'label' if part == 'type' else part}"
        for n in range(1, ADDRESS_SLOTS + 1)
        for part in ADDRESS_PARTS
    },
    "BDAY": "birthday",
    "NOTE": "notes",
    "CATEGORIES": "tags",
    "UID": "external_id",
}
SEPARATOR = " ::: "  # several values in one cell, as Google's CSV export writes them
SKIPPED = {"PHOTO", "LOGO", "SOUND", "KEY"}
KNOWN = {"BEGIN", "END", "VERSION", "PRODID", "REV", "X-ABSHOWAS", *(c.split()[0] for c in COLUMNS)}
_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"}


@dataclass
class Property:
    name: str
    params: dict[str, list[str]]
    value: str

    @property
    def types(self) -> set[str]:
        return {t.lower() for t in self.params.get("TYPE", [])}

    @property
    def pref(self) -> int:
        """Lower is more preferred (4.0's PREF=1); 3.0's TYPE=pref counts as 1; none as 100."""
        if "PREF" in self.params:
            try:
                return int(self.params["PREF"][0])
            except ValueError:
                return 100
        return 1 if "pref" in self.types else 100


@dataclass
class Card:
    number: int
    line: int
    properties: list[Property] = field(default_factory=list)
    problem: str = ""
    problem_property: str = ""

    def first(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name]

    def cells(self) -> list[str]:
        values: dict[str, str] = dict.fromkeys(COLUMNS, "")
        kind = self.first("KIND")
        show_as = self.first("X-ABSHOWAS")
        if kind is not None:
            values["KIND"] = _text(kind.value).strip()
        elif show_as is not None and _text(show_as.value).strip().upper() == "COMPANY":
            values["KIND"] = "organisation"
        if fn := self.first("FN"):
            values["FN"] = _text(fn.value)
        if structured_name := self.first("N"):
            parts = _structured(structured_name.value, 5)
            values["N family"], values["N given"], values["N additional"] = parts[0], parts[1], parts[2]
        if orgs := self.all("ORG"):
            # ORG is "name;unit;unit": the organisation is the first part; several ORGs are all kept.
            values["ORG"] = SEPARATOR.join(_structured(o.value, 1)[0] for o in orgs)
        values["TITLE"] = ", ".join(_text(p.value) for p in self.all("TITLE"))
        emails, phones = _by_pref(self.all("EMAIL")), _by_pref(self.all("TEL"))
        values["EMAIL"] = SEPARATOR.join(_text(p.value).strip() for p in emails)
        values["TEL"] = SEPARATOR.join(_tel(p) for p in phones)
        if any(_label(p) for p in emails):  # one label per value, in the same order
            values["EMAIL type"] = SEPARATOR.join(_label(p) for p in emails)
        if any(_label(p) for p in phones):
            values["TEL type"] = SEPARATOR.join(_label(p) for p in phones)
        for n, adr in enumerate(_by_pref(self.all("ADR")), start=1):
            pobox, extended, street, city, region, code, country = _structured(adr.value, 7)
            prefix = f"ADR {n} "
            values[prefix + "street"] = "\n".join(p for p in (street, extended, pobox) if p)
            values[prefix + "city"] = city
            values[prefix + "region"] = region
            values[prefix + "postcode"] = code
            values[prefix + "country"] = country
            values[prefix + "type"] = next((t for t in sorted(adr.types) if t not in {"pref", "postal"}), "")
        if bday := self.first("BDAY"):
            values["BDAY"] = _text(bday.value).strip()
        values["NOTE"] = "\n\n".join(_text(p.value) for p in self.all("NOTE"))
        categories: list[str] = []
        for p in self.all("CATEGORIES"):
            categories += [c.strip() for c in _split(p.value, ",") if c.strip()]
        values["CATEGORIES"] = SEPARATOR.join(_unescape(c) for c in categories)
        if uid := self.first("UID"):
            values["UID"] = _text(uid.value).strip()
        return [values[c] for c in COLUMNS]


class Cards:
    """The cards of a stream, one at a time; `notes` says what was left out of the cards read so far."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.ignored: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.count = 0

    @property
    def notes(self) -> list[str]:
        out = [
            f"{name} is not imported (in {count} card{'s' if count != 1 else ''})"
            for name, count in sorted(self.skipped.items())
        ]
        if self.ignored:
            names = ", ".join(sorted(self.ignored))
            out.append(f"Properties with no place in Friday, left out: {names}")
        return out

    def __iter__(self) -> Iterator[Card]:
        card: Card | None = None
        for line_no, line in _logical_lines(self._lines):
            if not line.strip():
                continue
            prop = _parse(line)
            if prop is None:
                if card is not None and not card.problem:
                    card.problem = f"Line {line_no} is not a vCard property (NAME:value): {line[:60]!r}."
                    card.problem_property = "line"
                continue
            if prop.name == "BEGIN" and prop.value.strip().upper() == "VCARD":
                if card is not None:  # a BEGIN before the last card's END: nested (AGENT) or cut short
                    if not card.problem:
                        card.problem = f"The card starting on line {card.line} has no END:VCARD."
                        card.problem_property = "END"
                    yield self._finish(card)
                self.count += 1
                card = Card(number=self.count, line=line_no)
                continue
            if card is None:
                continue
            if prop.name == "END" and prop.value.strip().upper() == "VCARD":
                yield self._finish(card)
                card = None
                continue
            if prop.name in SKIPPED:
                self.skipped[prop.name] += 1
                continue
            if prop.name not in KNOWN:
                self.ignored[prop.name] += 1
                continue
            card.properties.append(prop)
        if card is not None:
            if not card.problem:
                card.problem = f"The file ends inside the card starting on line {card.line} (no END:VCARD)."
                card.problem_property = "END"
            yield self._finish(card)

    def _finish(self, card: Card) -> Card:
        addresses = len(card.all("ADR"))
        if addresses > ADDRESS_SLOTS and not card.problem:
            card.problem = (
                f"This card has {addresses} addresses; Friday imports at most {ADDRESS_SLOTS} from a vCard. "
                "Remove the ones not needed."
            )
            card.problem_property = "ADR"
        return card


def read_cards(text: Iterable[str]) -> Cards:
    return Cards(text)


# --- lines, properties, values ----------------------------------------------------------------------------------


def _logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Unfold: a line starting with a space or tab continues the one before (RFC 6350 §3.2). vCard 2.1's
    quoted-printable values continue after a line ending in "=" instead."""
    current: str | None = None
    start = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if current is not None and line[:1] in (" ", "\t"):
            current += line[1:]
            continue
        if current is not None and current.endswith("=") and _is_quoted_printable(current):
            current = current[:-1] + "=\n" + line  # keep the soft break for the decoder
            continue
        if current is not None:
            yield start, current
        current, start = line, number
    if current is not None:
        yield start, current


def _is_quoted_printable(line: str) -> bool:
    head = line.split(":", 1)[0].upper()
    return "QUOTED-PRINTABLE" in head


_NAME = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)$")


def _parse(line: str) -> Property | None:
    colon = _find_unquoted(line, ":")
    if colon < 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    parts = _split(head, ";", quotes=True)
    match = _NAME.match(parts[0].strip())
    if match is None:
        return None
    name = match.group(1).upper()
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        if "=" in part:
            key, raw = part.split("=", 1)
            key = key.strip().upper()
            for item in _split(raw, ",", quotes=True):
                params.setdefault(key, []).append(item.strip().strip('"'))
        elif part.strip():  # vCard 2.1: a bare type ("TEL;WORK;VOICE:")
            params.setdefault("TYPE", []).append(part.strip())
    encoding = {e.upper() for e in params.get("ENCODING", [])}
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    if "QUOTED-PRINTABLE" in encoding:
        raw_bytes = quopri.decodestring(value.replace("=\n", "=\r\n").encode("latin-1", errors="replace"))
        try:
            value = raw_bytes.decode(charset, errors="replace")
        except LookupError:
            value = raw_bytes.decode("utf-8", errors="replace")
    elif encoding & {"B", "BASE64"} and name not in SKIPPED:
        try:
            value = base64.b64decode(value, validate=False).decode(charset, errors="replace")
        except (binascii.Error, LookupError, ValueError):
            return Property(name=name, params=params, value="")
    return Property(name=name, params=params, value=value)


def _find_unquoted(text: str, char: str) -> int:
    quoted = False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            return i
    return -1


def _split(text: str, sep: str, *, quotes: bool = False) -> list[str]:
    """Split on `sep` unless backslash-escaped (values) or inside double quotes (parameters)."""
    out, current, i, quoted = [], [], 0, False
    while i < len(text):
        c = text[i]
        if c == "\\" and not quotes and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if quotes and c == '"':
            quoted = not quoted
        if c == sep and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    out.append("".join(current))
    return out


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _text(value: str) -> str:
    return _unescape(value)


def _structured(value: str, size: int) -> list[str]:
    """A structured value's components (N, ADR, ORG), each un-escaped; list components joined by spaces."""
    parts = [", ".join(_unescape(v).strip() for v in _split(p, ",") if v.strip()) for p in _split(value, ";")]
    parts += [""] * (size - len(parts))
    return parts[:size] if len(parts) > size else parts


def _by_pref(props: list[Property]) -> list[Property]:
    return sorted(props, key=lambda p: p.pref)  # stable: equal preference keeps the file's order


# TYPE words that say how a value is used or preferred, not what kind it is: not labels.
_NOT_LABELS = {
    "pref",
    "internet",
    "x400",
    "voice",
    "text",
    "msg",
    "video",
    "bbs",
    "modem",
    "isdn",
    "pcs",
    "textphone",
}
_FIRST_LABELS = ("cell", "fax", "pager", "work", "home", "main", "iphone", "car", "other")


def _label(prop: Property) -> str:
    """An EMAIL's or TEL's kind from its TYPE parameters (TYPE=CELL, TYPE="work,voice", 2.1's bare WORK), as the
    word the label column reads ("cell" → Mobile, "work" → Work)."""
    words = {w.strip() for t in prop.types for w in t.split(",") if w.strip()} - _NOT_LABELS
    for word in _FIRST_LABELS:
        if word in words:
            return word
    return min(words, default="")


def _tel(prop: Property) -> str:
    value = _text(prop.value).strip()
    if value.lower().startswith("tel:"):  # vCard 4.0: TEL;VALUE=uri:tel:+44-161-496-0000;ext=12
        value = value[4:]
        number, _, ext = value.partition(";ext=")
        value = f"{number} ext. {ext}" if ext else number
    return value
