"""Reading import files as a stream of rows: CSV in any common encoding, XLSX, vCard 3.0 and 4.0.

Every reader yields `SourceRow`s one at a time (memory stays flat however long the file is), numbers them as a
person sees them in a spreadsheet (the header is row 1), and never drops or shortens anything: a row that cannot
be read as it should (more cells than headers, bytes that are not text in the file's encoding) carries a
`problem` so the import fails that row with the reason instead of guessing.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from friday.core.errors import FridayError
from friday.imports import vcard

# A cell may be this long and still be read (and then refused by the field it is mapped to, with its length).
# Past it the CSV parser stops: nothing after such a cell can be trusted to be where it belongs.
MAX_CELL = 32 * 1024 * 1024
SAMPLE_BYTES = 256 * 1024
DELIMITERS = [",", ";", "\t", "|"]
# Lone surrogates are how undecodable bytes survive decoding ("surrogateescape"): a row holding one fails.
_UNDECODABLE = re.compile("[\udc80-\udcff]")

csv.field_size_limit(MAX_CELL)


class FileProblem(FridayError):
    """The file as a whole cannot be imported (empty, no rows, not the format it claims)."""

    code = "import.file"
    status = 422


@dataclass(slots=True)
class SourceRow:
    number: int
    cells: list[str]
    problem: str = ""
    problem_column: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.problem and not any(c.strip() for c in self.cells)


@dataclass
class Sniffed:
    file_format: str
    encoding: str = ""
    delimiter: str = ""


@dataclass
class Reader:
    """Headers, then rows on demand. `done()` is how far through the file the reader is, in `total` units."""

    headers: list[str]
    rows: Iterator[SourceRow]
    done: Any  # () -> int
    total: int
    notes_of: Any = None  # () -> list[str]: what was left out of the rows read so far (vCard properties)
    # The text wrapper over the file: kept here, since dropping it would close the file under the caller.
    keep: Any = None

    @property
    def notes(self) -> list[str]:
        return self.notes_of() if self.notes_of else []


# --- detecting what a file is ---------------------------------------------------------------------------------


def sniff(name: str, head: bytes) -> Sniffed:
    """The format from the first bytes (the name's extension only breaks ties), and for text its encoding."""
    lower = name.lower()
    if head.startswith(b"PK\x03\x04"):
        if (
            lower.endswith((".xlsx", ".xlsm"))
            or b"xl/" in head[:2000]
            or b"[Content_Types].xml" in head[:2000]
        ):
            return Sniffed("xlsx")
        raise FileProblem(
            "This is a zip file but not an Excel workbook (.xlsx). Save it as .xlsx or CSV.",
            code="import.not_xlsx",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            "This is an old Excel file (.xls). Save it as .xlsx or CSV and upload that.", code="import.xls"
        )
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff \r\n\t")
    if text[:11].upper() == "BEGIN:VCARD" or lower.endswith((".vcf", ".vcard")):
        return Sniffed("vcard", encoding=encoding)
    return Sniffed("csv", encoding=encoding, delimiter=detect_delimiter(text))


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), UTF-16/32 by their marks, else the likeliest 8-bit code page.

    Among equally likely 8-bit code pages Windows-1252 wins: it is what Excel and Outlook write in Western
    Europe and the Americas, and a superset of Latin-1's printable characters. The preview shows the decoded
    text, and the encoding can be changed there when the guess is wrong.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not sample:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    if not matches:
        return "cp1252"
    best = min(m.chaos for m in matches)
    likely = [m for m in matches if m.chaos <= best + 0.01]
    for m in likely:
        if "cp1252" in m.could_be_from_charset or "latin_1" in m.could_be_from_charset:
            return "cp1252"
    return codecs.lookup(likely[0].encoding).name


def detect_delimiter(text: str) -> str:
    """The separator the header line uses most: comma, semicolon (Excel in much of Europe), tab or bar."""
    first = text.split("\n", 1)[0]
    counts = {d: _count_outside_quotes(first, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


# --- opening ----------------------------------------------------------------------------------------------------


def open_reader(
    handle: IO[bytes], *, file_format: str, size: int, encoding: str = "", delimiter: str = ""
) -> Reader:
    """A reader over `handle` (binary, seekable). Raises FileProblem for an empty file or one without rows."""
    if size == 0:
        raise FileProblem("The file is empty: there is nothing to import.", code="import.empty")
    if file_format == "xlsx":
        return _xlsx_reader(handle)
    if file_format == "vcard":
        return _vcard_reader(handle, size=size, encoding=encoding or "utf-8")
    return _csv_reader(handle, size=size, encoding=encoding or "utf-8", delimiter=delimiter or ",")


def _csv_reader(handle: IO[bytes], *, size: int, encoding: str, delimiter: str) -> Reader:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="surrogateescape", newline="")
    parser = csv.reader(text, delimiter=delimiter)
    records = 0
    try:
        headers: list[str] | None = None
        for raw in parser:
            records += 1
            if raw and any(c.strip() for c in raw):
                headers = raw
                break
    except (csv.Error, UnicodeError) as exc:
        raise FileProblem(f"The header row could not be read: {exc}.", code="import.unreadable") from exc
    if headers is None:
        raise FileProblem(
            "The file has no header row: only blank lines. The first row must name the columns.",
            code="import.empty",
        )
    headers = _clean_headers(headers)
    first_data = records + 1

    def rows() -> Iterator[SourceRow]:
        number = first_data - 1
        width = len(headers)
        while True:
            try:
                raw = next(parser)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(
                    f"Row {number + 1} could not be read ({exc}); the import stopped there: "
                    "every row before it was imported or reported.",
                    code="import.unreadable",
                ) from exc
            except UnicodeError as exc:
                raise FileProblem(
                    f"Row {number + 1} is not valid {encoding} text ({exc}); choose the file's encoding.",
                    code="import.encoding",
                ) from exc
            number += 1
            yield _shape(number, raw, width, headers, encoding)

    def done() -> int:
        try:
            return handle.tell()
        except (OSError, ValueError):
            return 0

    return Reader(headers=headers, rows=rows(), done=done, total=size, keep=text)


def _shape(number: int, raw: list[str], width: int, headers: list[str], encoding: str) -> SourceRow:
    """Fit a parsed row to the header, or say why it does not fit."""
    row = SourceRow(number=number, cells=raw)
    if not raw:  # a blank line
        row.cells = [""] * width
        return row
    if len(raw) > width:
        extra = raw[width:]
        if any(c.strip() for c in extra):
            row.problem = (
                f"This row has {len(raw)} cells but the header names {width} columns: the extra cells "
                "(after the last column) would be lost. Check for an unquoted separator in a value."
            )
            row.problem_column = f"cell {width + 1}"
        row.cells = raw[:width] if not row.problem else raw
    elif len(raw) < width:
        row.problem = (
            f"This row has {len(raw)} cells but the header names {width} columns: it is not clear which "
            "values belong to which column. Check for a missing separator or a line break in a value."
        )
        row.problem_column = headers[len(raw)] if len(raw) < len(headers) else ""
        row.cells = raw + [""] * (width - len(raw))
    if not row.problem and _UNDECODABLE.search("".join(row.cells)):  # one search a row; which cell, if any
        for i, cell in enumerate(row.cells):
            if _UNDECODABLE.search(cell):
                bad = _UNDECODABLE.search(cell)
                byte = ord(bad.group()) - 0xDC00 if bad else 0
                row.problem = (
                    f"Byte 0x{byte:02X} is not text in the file's encoding ({encoding}): "
                    "choose the right encoding before importing."
                )
                row.problem_column = headers[i] if i < len(headers) else f"cell {i + 1}"
                break
    return row


def _clean_headers(raw: list[str]) -> list[str]:
    out = []
    for i, h in enumerate(raw):
        h = _UNDECODABLE.sub("?", h).strip().lstrip("\ufeff").strip()
        out.append(h or f"Column {i + 1}")
    return out


def _xlsx_reader(handle: IO[bytes]) -> Reader:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem(f"This Excel file could not be opened: {exc}.", code="import.unreadable") from exc
    sheet = workbook.active or workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    number = 0
    headers: list[str] | None = None
    for raw in values:
        number += 1
        cells = [_xlsx_cell(v) for v in raw]
        if any(c.strip() for c in cells):
            while cells and not cells[-1].strip():
                cells.pop()
            headers = cells
            break
    if headers is None:
        workbook.close()
        raise FileProblem("The first sheet is empty: there is nothing to import.", code="import.empty")
    headers = _clean_headers(headers)
    width = len(headers)
    total = sheet.max_row or 0
    position = {"row": number}

    def rows() -> Iterator[SourceRow]:
        try:
            for raw in values:
                position["row"] += 1
                cells = [_xlsx_cell(v) for v in raw]
                row = SourceRow(number=position["row"], cells=cells)
                if len(cells) > width:
                    extra = cells[width:]
                    if any(c.strip() for c in extra):
                        column = width + next(i for i, c in enumerate(extra) if c.strip())
                        row.problem = (
                            f"This row has a value in column {_column_letter(column)}, which has no header: "
                            "name the column in the first row or remove the value."
                        )
                        row.problem_column = _column_letter(column)
                    else:
                        row.cells = cells[:width]
                elif len(cells) < width:
                    row.cells = cells + [""] * (width - len(cells))
                yield row
        finally:
            workbook.close()

    return Reader(headers=headers, rows=rows(), done=lambda: position["row"], total=total)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _vcard_reader(handle: IO[bytes], *, size: int, encoding: str) -> Reader:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="surrogateescape", newline="")
    cards = vcard.read_cards(text)

    def rows() -> Iterator[SourceRow]:
        for card in cards:
            cells = card.cells()
            row = SourceRow(
                number=card.number, cells=cells, problem=card.problem, problem_column=card.problem_property
            )
            if not row.problem:
                for i, cell in enumerate(cells):
                    if _UNDECODABLE.search(cell):
                        row.problem = f"This card holds bytes that are not {encoding} text."
                        row.problem_column = vcard.COLUMNS[i]
                        break
            yield row

    def done() -> int:
        try:
            return handle.tell()
        except (OSError, ValueError):
            return 0

    return Reader(
        headers=list(vcard.COLUMNS),
        rows=rows(),
        done=done,
        total=size,
        notes_of=lambda: cards.notes,
        keep=text,
    )
