"""CSV downloads of the figures behind a chart or a list: streamed, and safe to open in a spreadsheet.

A text cell that a spreadsheet would read as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage
return, also after leading spaces — is neutralised with a leading apostrophe (OWASP's "CSV injection" advice).
Numbers, dates and money are written as they are: a negative amount stays a number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

from friday.core import clock

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell as written: text that could start a formula gets a leading apostrophe; other values unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):  # in the business's time, with its offset
        return value.astimezone(clock.business_tz()).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, int | float | Decimal | dt.date):
        return value
    text = str(value)
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download named `filename` (UTF-8 with a byte-order mark, so spreadsheets read accents)."""

    def body() -> Iterator[str]:
        yield "\ufeff"
        yield from csv_lines(header, rows)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
