"""Reading files: encodings, separators, ragged rows, quoted newlines, huge cells, XLSX, vCard 3.0 and 4.0."""

from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook

from friday.imports import formats, vcard
from friday.imports.formats import FileProblem


def read(content: bytes, name: str = "f.csv") -> tuple[formats.Reader, list[formats.SourceRow]]:
    sniffed = formats.sniff(name, content[: formats.SAMPLE_BYTES])
    reader = formats.open_reader(
        io.BytesIO(content),
        file_format=sniffed.file_format,
        size=len(content),
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
    )
    return reader, list(reader.rows)


pytestmark = pytest.mark.once


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with a byte-order mark, as Excel's "Unicode text" writes it
        ("latin-1", "cp1252"),
        ("cp1252", "cp1252"),
    ],
)
def test_encodings_are_recognised_and_decoded(encoding, expected):
    text = "Name,City\r\nJosé Müller,Zürich\r\nFrançoise Øster,Ærøskøbing\r\n"
    reader, rows = read(text.encode(encoding))
    assert formats.detect_encoding(text.encode(encoding)) == expected
    assert reader.headers == ["Name", "City"]
    assert [r.cells for r in rows] == [["José Müller", "Zürich"], ["Françoise Øster", "Ærøskøbing"]]
    assert [r.number for r in rows] == [2, 3]


def test_utf16_file_starts_with_its_mark():
    content = codecs.BOM_UTF16_LE + "Name\r\nÅsa\r\n".encode("utf-16-le")
    _, rows = read(content)
    assert rows[0].cells == ["Åsa"]


def test_semicolons_and_tabs_are_recognised_as_separators():
    _, rows = read(b"Name;Email\r\nAda;ada@example.com\r\n")
    assert rows[0].cells == ["Ada", "ada@example.com"]
    _, rows = read(b"Name\tEmail\nAda\tada@example.com\n")
    assert rows[0].cells == ["Ada", "ada@example.com"]


def test_quoted_newlines_commas_and_quotes_stay_in_their_cell():
    content = b'Name,Notes\r\n"Lovelace, Ada","Line one\r\nline ""two""\r\nline three"\r\nGrace,x\r\n'
    _, rows = read(content)
    assert rows[0].cells == ["Lovelace, Ada", 'Line one\r\nline "two"\r\nline three']
    assert rows[0].number == 2
    assert rows[1].cells == ["Grace", "x"]
    assert rows[1].number == 3  # rows are records, not lines: the three lines of row 2 count once


def test_ragged_rows_are_reported_not_guessed():
    content = b"A,B,C\r\n1,2,3\r\n1,2\r\n1,2,3,4\r\n1,2,3,,\r\n"
    _, rows = read(content)
    assert [r.problem == "" for r in rows] == [True, False, False, True]
    assert "has 2 cells but the header names 3 columns" in rows[1].problem
    assert rows[1].problem_column == "C"
    assert "has 4 cells" in rows[2].problem
    assert rows[3].cells == ["1", "2", "3"]  # trailing empty cells lose nothing


def test_a_one_megabyte_cell_is_read_whole():
    big = "x" * (1024 * 1024)
    _, rows = read(f"Name,Notes\r\nAda,{big}\r\n".encode())
    assert len(rows[0].cells[1]) == 1024 * 1024


def test_empty_file_and_blank_lines_only_are_refused():
    with pytest.raises(FileProblem, match="empty"):
        formats.open_reader(io.BytesIO(b""), file_format="csv", size=0)
    with pytest.raises(FileProblem, match="no header row"):
        formats.open_reader(io.BytesIO(b"\r\n\r\n"), file_format="csv", size=4)


def test_bytes_that_are_not_text_in_the_encoding_fail_their_row():
    content = b"Name\r\nAda\r\n" + b"Jos\xe9\r\n"
    reader = formats.open_reader(io.BytesIO(content), file_format="csv", size=len(content), encoding="utf-8")
    rows = list(reader.rows)
    assert rows[0].problem == ""
    assert "Byte 0xE9 is not text in the file's encoding (utf-8)" in rows[1].problem


def test_xlsx_written_by_a_spreadsheet_program():
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["First Name", "Last Name", "Phone", "Birthday", "Customer", None])
    sheet.append(["Ada", "Lovelace", 447911123456, dt.datetime(1815, 12, 10), True])
    sheet.append(["Grace", None, "+1 202 555 0143", None, False, "stray"])
    buffer = io.BytesIO()
    book.save(buffer)
    reader, rows = read(buffer.getvalue(), "people.xlsx")
    assert reader.headers == ["First Name", "Last Name", "Phone", "Birthday", "Customer"]
    assert rows[0].cells == ["Ada", "Lovelace", "447911123456", "1815-12-10", "yes"]
    assert rows[0].number == 2
    assert "column F, which has no header" in rows[1].problem


def test_old_excel_and_other_zip_files_are_refused_with_a_reason():
    with pytest.raises(FileProblem, match=r"\.xls"):
        formats.sniff("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)


VCARD_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Lovelace;Ada;Augusta;Countess;\r\n"
    "FN:Ada Lovelace\r\n"
    "ORG:Analytical Engines;Research\r\n"
    "TITLE:Programmer\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:ada@example.com\r\n"
    "item1.X-ABLabel:_$!<Other>!$_\r\n"
    "EMAIL;TYPE=HOME:ada.home@example.com\r\n"
    "TEL;TYPE=CELL:+44 7911 123456\r\n"
    "TEL;TYPE=WORK:0161 496 0000\r\n"
    "ADR;TYPE=HOME:;;12 St James's Square\\nFlat 2;London;;SW1Y 4JH;United Kingdom\r\n"
    "NOTE:Met at the Royal Society\\, 1843.\\nLikes numbers.\r\n"
    "BDAY:1815-12-10\r\n"
    "CATEGORIES:Friends,Mathematicians\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////\r\n"
    " //////////////////////////////////////////////////////////////8AAEQgAAQABAw\r\n"
    " EiAAIRAQMRAf/EABQAAQAAAAAAAAAAAAAAAAAAAAP/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/9oADA\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "END:VCARD\r\n"
)
VCARD_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "KIND:org\r\n"
    "FN:Acme Widgets Ltd\r\n"
    "ORG:Acme Widgets Ltd\r\n"
    'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+44-161-496-0001\r\n'
    "EMAIL;PREF=2:sales@acme.example\r\n"
    "EMAIL;PREF=1:hello@acme.example\r\n"
    "NOTE:A long note that is folded across\r\n"
    "  two lines by the writer.\r\n"
    "PHOTO:data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n"
    "END:VCARD\r\n"
)


def test_vcard_30_with_groups_photo_and_folded_lines():
    reader, rows = read(VCARD_30.encode(), "contacts.vcf")
    assert reader.headers == list(vcard.COLUMNS)
    cells = dict(zip(vcard.COLUMNS, rows[0].cells, strict=True))
    assert (
        cells["N given"] == "Ada" and cells["N family"] == "Lovelace" and cells["N additional"] == "Augusta"
    )
    assert cells["ORG"] == "Analytical Engines"
    assert cells["EMAIL"] == "ada@example.com ::: ada.home@example.com"  # the preferred one first
    assert cells["TEL"] == "+44 7911 123456 ::: 0161 496 0000"
    assert cells["ADR 1 street"] == "12 St James's Square\nFlat 2"
    assert cells["ADR 1 city"] == "London" and cells["ADR 1 country"] == "United Kingdom"
    assert cells["ADR 1 type"] == "home"
    assert cells["NOTE"] == "Met at the Royal Society, 1843.\nLikes numbers."
    assert cells["CATEGORIES"] == "Friends ::: Mathematicians"
    assert cells["UID"] == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert rows[0].problem == ""
    assert any("PHOTO is not imported" in n for n in reader.notes)


def test_vcard_40_kind_uri_phones_preference_and_folding():
    _, rows = read(VCARD_40.encode(), "acme.vcf")
    cells = dict(zip(vcard.COLUMNS, rows[0].cells, strict=True))
    assert cells["KIND"] == "org"
    assert cells["TEL"] == "+44-161-496-0001"
    assert cells["EMAIL"] == "hello@acme.example ::: sales@acme.example"
    assert cells["NOTE"] == "A long note that is folded across two lines by the writer."


def test_a_card_cut_short_fails_alone():
    content = (VCARD_40 + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Half\r\n").encode()
    _, rows = read(content, "cut.vcf")
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].problem == ""
    assert "no END:VCARD" in rows[1].problem
