"""Any list, as the user sees it (its filters, their permissions), downloaded as CSV or XLSX.

A list view describes its columns (a header and how to read each one from a row) and how to fetch a page of its
rows after a keyset cursor — the very function the page itself uses, so an export can never show what the page
would not. The rows are read a page at a time and written as they come:

- CSV is streamed to the client (`friday.core.csvout`);
- XLSX is written by XlsxWriter in constant-memory mode (each row flushed to a temporary file as written), then
  sent from that file, which is deleted once sent: an XLSX file is a zip whose directory comes last, so it can
  only be sent whole.

Either way memory stays flat whatever the number of rows, and text that a spreadsheet would run as a formula is
neutralised: in a CSV file with a leading apostrophe (`csvout.safe_cell`); in an XLSX file every text is written
as text, never as a formula, and text a spreadsheet would read as one (or as a number: a phone's `+44…`) is
marked with Excel's hidden quote prefix, so it shows as written and stays text when edited — no apostrophe in
the data.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from friday.core import clock
from friday.core.csvout import FORMULA_STARTS, csv_response
from friday.core.pagination import Page

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_CELL_LIMIT = 32_767  # characters a spreadsheet cell holds (Excel's limit)
CUT = " … [cut: a spreadsheet cell holds 32,767 characters; the CSV download has it whole]"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]


def rows_of(fetch: Callable[[str | None], Page]) -> Iterator[Any]:
    """Every row of a keyset-paged list: `fetch(cursor)` gives the page after `cursor` (None: the first)."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def requested(request: Any) -> str | None:
    """The export format a list page was asked for (`?format=csv` or `xlsx`), or None for the page itself."""
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def export_response(
    fmt: str, stem: str, columns: Sequence[Column], rows: Iterator[Any]
) -> HttpResponse | StreamingHttpResponse:
    """The download of `rows` with `columns`, named `stem-YYYY-MM-DD.csv|xlsx` (today's date, business time)."""
    filename = f"{stem}-{clock.today():%Y-%m-%d}.{fmt}"
    headers = [c.header for c in columns]
    values = ([c.value(row) for c in columns] for row in rows)
    if fmt == "csv":
        return csv_response(filename, headers, values)
    return _xlsx_response(filename, stem, headers, values)


def _xlsx_response(
    filename: str, sheet: str, headers: list[str], values: Iterator[list[Any]]
) -> FileResponse:
    out = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it, which deletes it)
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    quoted = book.add_format({"quote_prefix": True})
    width = [max(10, min(len(h) + 2, 40)) for h in headers]
    for col, header in enumerate(headers):
        ws.write_string(0, col, header, bold)
    row = 0
    for row, cells in enumerate(values, start=1):
        for col, value in enumerate(cells):
            _write(ws, row, col, value, day, moment, quoted)
    for col, w in enumerate(width):
        ws.set_column(col, col, w)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(row, 1), max(len(headers) - 1, 0))
    book.close()
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


def _write(ws: Any, row: int, col: int, value: Any, day: Any, moment: Any, quoted: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_string(row, col, "yes" if value else "no")
    elif isinstance(value, int | float | Decimal):
        ws.write_number(row, col, float(value))
    elif isinstance(value, dt.datetime):  # in the business's time: a spreadsheet has no time zones
        local = value.astimezone(clock.business_tz()) if value.tzinfo else value
        ws.write_datetime(row, col, local.replace(tzinfo=None), moment)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time.min), day)
    else:
        text = str(value)
        if len(text) > XLSX_CELL_LIMIT:  # said in the cell, never cut silently
            text = text[: XLSX_CELL_LIMIT - len(CUT)] + CUT
        if text.lstrip(" ").startswith(FORMULA_STARTS):
            ws.write_string(row, col, text, quoted)
        else:
            ws.write_string(row, col, text)
