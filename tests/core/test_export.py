"""Lists download as CSV and XLSX: every row (past the first page), the list's own filters and the user's scope,
formula-like text neutralised, and a bad filter refused before anything is sent."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import time_machine

from friday.billing import services as billing
from friday.core import clock
from friday.deals.models import LostReason
from friday.deals.services import DealIn, deal_create, deal_move
from friday.feedback.models import Survey
from friday.feedback.services import feedback_answer, feedback_request
from friday.jobs.services import JobIn, job_create
from friday.parties.models import Party
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_person


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _xlsx_cells(response) -> list[str]:
    """The cells of the first sheet as written (XlsxWriter's constant-memory mode writes text inline)."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet  # no cell is a formula
    return re.findall(r"<t(?: [^>]*)?>([^<]*)</t>", sheet)


def test_parties_export_every_row_filtered_and_scoped(cast, web_for):
    for i in range(201):  # past the export's page of 200
        make_person(cast.alice, f"Person{i:03}", "Smith", tags=["vip"] if i % 2 == 0 else [])
    make_person(cast.alice, "Eve", "=HYPERLINK(1)", tags=["vip"])
    make_person(cast.bob, "Bob's", "Client", tags=["vip"])  # team Blue: not Alice's to see

    rows = _csv(web_for(cast.alice).get("/parties/?tag=vip&sort=name&format=csv"))
    assert len(rows) == 102  # 101 even Smiths and Eve, not Bob's client
    assert rows[0]["name"] == "Eve =HYPERLINK(1)" and rows[0]["family name"] == "'=HYPERLINK(1)"
    assert rows[1]["given name"] == "Person000" and rows[1]["tags"] == "vip" and rows[1]["owner"] == "Alice"
    assert {r["email consent"] for r in rows} == {"no"}
    everyone = _csv(web_for(cast.manager).get("/parties/?tag=vip&format=csv"))
    assert len(everyone) == 103

    response = web_for(cast.alice).get("/parties/?tag=vip&sort=name&format=xlsx")
    data = b"".join(response.streaming_content)
    response.streaming_content = iter([data])
    cells = _xlsx_cells(response)
    assert "=HYPERLINK(1)" in cells and "Person200" in cells and "Bob's" not in cells
    assert "'=HYPERLINK(1)" not in cells  # no apostrophe in the data: Excel's hidden quote prefix instead
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    marked = {c.value: c.quotePrefix for row in sheet.iter_rows() for c in row if c.value is not None}
    assert marked["=HYPERLINK(1)"] is True and marked["Person200"] is False

    page = web_for(cast.alice).get("/parties/?tag=vip").content.decode()
    assert 'href="?tag=vip&amp;format=csv"' in page and 'data-export="xlsx"' in page


def test_a_bad_filter_is_refused_before_anything_is_sent(cast, pipeline, web_for):
    response = web_for(cast.alice).get("/deals/?status=bogus&format=csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html") and "Status must be open, won or lost" in (
        response.content.decode()
    )
    assert web_for(cast.alice).get("/parties/?sort=shoe-size&format=xlsx").status_code == 400


def test_deals_jobs_invoices_reminders_and_answers_export(cast, pipeline, job_process, web_for):
    ada = make_person(cast.alice, "Ada", "Lovelace", roles=["customer"])
    deal = deal_create(by=cast.alice, party=ada, data=DealIn(title="@boiler", value="4000"))
    deal_move(by=cast.alice, deal=deal, to="lost", lost_reason=LostReason.objects.get(name="Price"))
    job_create(by=cast.alice, party=ada, data=JobIn(title="Service", quoted_price="120.50"))
    invoice = billing.invoice_create(
        by=cast.alice,
        party=ada,
        data=billing.InvoiceIn(lines=[billing.LineIn("Work", "1", "100", "20")], terms_days=30),
    )
    billing.invoice_issue(by=cast.alice, invoice=invoice, send=False)
    reminder_create(by=cast.alice, data=ReminderIn(title="+call Ada", due_at=clock.now(), party=ada))
    _, raw = feedback_request(survey=Survey.objects.get(key="nps"), party=ada)
    feedback_answer(token=raw, score=9, comment="-great")
    alice, bob = web_for(cast.alice), web_for(cast.bob)

    [d] = _csv(alice.get("/deals/?status=lost&format=csv"))
    assert (d["title"], d["value"], d["stage"], d["closed from stage"], d["lost reason"]) == (
        "'@boiler",
        "4000.00",
        "Lost",
        "Enquiry",
        "Price",
    )
    assert _csv(bob.get("/deals/?format=csv")) == []
    [j] = _csv(alice.get("/jobs/?format=csv"))
    assert (j["title"], j["client"], j["quoted price"], j["currency"]) == (
        "Service",
        "Ada Lovelace",
        "120.50",
        "GBP",
    )
    [i] = _csv(alice.get("/billing/invoices/?format=csv"))
    assert (i["status"], i["net"], i["tax"], i["total"], i["balance"]) == (
        "Issued",
        "100.00",
        "20.00",
        "120.00",
        "120.00",
    )
    [r] = _csv(alice.get("/reminders/all/?format=csv"))
    assert (r["title"], r["about"], r["for"]) == ("'+call Ada", "Ada Lovelace", "Alice")
    [a] = _csv(alice.get("/feedback/responses/?format=csv"))
    assert (a["score"], a["comment"], a["party"]) == ("9", "'-great", "Ada Lovelace")
    cells = _xlsx_cells(alice.get("/billing/invoices/?format=xlsx"))
    assert cells[:3] == ["number", "kind", "status"] and "Issued" in cells


def test_dates_are_written_in_the_business_time(cast, web_for, settings):
    settings.TIME_ZONE = "Europe/London"
    with time_machine.travel("2026-07-01 23:30:00+00:00", tick=False):  # 00:30 on 2 July in London
        make_person(cast.alice, "Late", "Owl")
    [row] = _csv(web_for(cast.alice).get("/parties/?q=Owl&format=csv"))
    assert row["created"] == "2026-07-02 00:30:00+01:00"
    assert Party.objects.count() == 1
