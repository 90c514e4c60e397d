"""CSV downloads: text that a spreadsheet would run as a formula is neutralised; numbers stay numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from friday.core.csvout import csv_lines, csv_response, safe_cell


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+44 1234", "'+44 1234"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("   =1+1", "'   =1+1"),  # after leading spaces too
        ("Price", "Price"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (Decimal("-12.50"), Decimal("-12.50")),  # a negative amount is a number, not a formula
        (-3, -3),
        (dt.date(2026, 6, 1), dt.date(2026, 6, 1)),
        (True, "yes"),
    ],
)
def test_a_cell_that_would_start_a_formula_is_neutralised(cell, written):
    assert safe_cell(cell) == written


def test_lines_and_the_streamed_download():
    lines = list(csv_lines(["name", "amount"], [["=1", Decimal("-1.00")], ['say "hi"\nbye', 2]]))
    assert lines == ["name,amount\r\n", "'=1,-1.00\r\n", '"say ""hi""\nbye",2\r\n']
    response = csv_response("x.csv", ["a"], [["b"]])
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert b"".join(response.streaming_content).decode("utf-8") == "\ufeffa\r\nb\r\n"
