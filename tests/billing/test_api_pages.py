"""Invoices over the API and on the pages: create, issue, pay (idempotent by header), void, PDF; errors by field
path; scoped by role; the list's status tabs; the draft form with its lines; the party's card."""

from __future__ import annotations

import re

from friday.billing import services
from friday.billing.models import Invoice, Payment
from tests.billing.conftest import line


def test_the_api_creates_issues_pays_once_and_voids(cast, api_for, client_party):
    api = api_for(cast.alice)
    r = api.post(
        "/invoices",
        {
            "party_id": client_party.pk,
            "lines": [
                {"description": "Labour", "quantity": "3", "unit_price": "0.335", "tax_rate": "20"},
                {"description": "Parts", "quantity": "1", "unit_price": "10", "tax_rate": "5"},
            ],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["subtotal"], body["tax"], body["total"], body["status"]) == (
        "11.01",
        "0.70",
        "11.71",
        "draft",
    )
    assert [b["tax"] for b in body["tax_bands"]] == ["0.20", "0.50"]
    invoice_id = body["id"]
    r = api.post(f"/invoices/{invoice_id}/issue", {"send": False})
    assert r.status_code == 200 and r.json()["number"].endswith("-0001")
    pay = {"amount": "5.00", "reference": "BACS"}
    first = api.client.post(
        f"/api/v1/invoices/{invoice_id}/payments",
        data=pay,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    again = api.client.post(
        f"/api/v1/invoices/{invoice_id}/payments",
        data=pay,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Payment.objects.count() == 1
    r = api.post(f"/invoices/{invoice_id}/payments", {"amount": "100", "idempotency_key": "big"})
    assert (
        r.status_code == 422 and r.json()["field"] == "amount" and r.json()["code"] == "payment.overpayment"
    )
    assert "£6.71" in r.json()["detail"]
    r = api.post(f"/invoices/{invoice_id}/void", {"reason": "Wrong"})
    assert r.status_code == 409 and r.json()["code"] == "invoice.void_paid"
    listed = api.get("/invoices", status="partially_paid").json()["items"]
    assert [i["id"] for i in listed] == [invoice_id]
    assert api.get("/invoices", status="paid").json()["items"] == []
    pdf = api.get(f"/invoices/{invoice_id}/pdf")
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF")
    )


def test_api_errors_name_the_field(cast, api_for, client_party):
    api = api_for(cast.alice)
    r = api.post(
        "/invoices",
        {
            "party_id": client_party.pk,
            "lines": [
                {"description": "x", "unit_price": "1"},
                {"description": "y", "quantity": "-1", "unit_price": "1"},
            ],
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "lines.1.quantity"
    r = api.post(
        "/invoices",
        {"party_id": client_party.pk, "currency": "XXY", "lines": [{"description": "x", "unit_price": "1"}]},
    )
    assert r.status_code == 422 and r.json()["field"] == "currency"
    r = api.post("/invoices", {"party_id": client_party.pk, "lines": [], "surprise": 1})
    assert r.status_code == 422 and r.json()["field"] == "surprise"
    assert api.get("/invoices", status="late").status_code == 422
    assert api.get("/invoices/99999999999999999999").status_code in (404, 422)
    assert Invoice.objects.count() == 0


def test_api_is_scoped_by_role(cast, api_for, draft):
    assert api_for(cast.bob).get(f"/invoices/{draft.pk}").status_code == 404
    assert api_for(cast.bob).get("/invoices").json()["items"] == []
    assert api_for(cast.manager).get(f"/invoices/{draft.pk}").status_code == 200
    r = api_for(cast.reader).post(f"/invoices/{draft.pk}/issue", {"send": False})
    assert r.status_code == 403
    assert Invoice.objects.get(pk=draft.pk).status == "draft"


def test_the_pages_make_issue_pay_once_and_void(cast, web_for, client_party):
    alice = web_for(cast.alice)
    form = alice.get(f"/billing/invoices/new/?party={client_party.pk}").content.decode()
    assert f"Grace Hopper · #{client_party.pk}" in form
    r = alice.post(
        "/billing/invoices/new/",
        {
            "party": f"Grace Hopper · #{client_party.pk}",
            "line_count": "2",
            "line-0-description": "Service",
            "line-0-quantity": "2",
            "line-0-unit_price": "-40",
            "line-0-tax_rate": "20",
        },
    )
    assert (
        r.status_code == 422 and "cannot be negative" in r.content.decode() and Invoice.objects.count() == 0
    )
    r = alice.post(
        "/billing/invoices/new/",
        {"party": f"Grace Hopper · #{client_party.pk}", "line_count": "1", "add_line": "1"},
    )
    assert r.status_code == 200 and 'name="line-1-description"' in r.content.decode()
    r = alice.post(
        "/billing/invoices/new/",
        {
            "party": f"Grace Hopper · #{client_party.pk}",
            "line_count": "2",
            "line-0-description": "Service",
            "line-0-quantity": "2",
            "line-0-unit_price": "40",
            "line-0-tax_rate": "20",
        },
    )
    invoice = Invoice.objects.get()
    assert r.status_code == 302 and invoice.total == 96
    said = alice.post(f"/billing/invoices/{invoice.pk}/issue/", {"send": "on"}, follow=True).content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "issued" and invoice.number
    # No mail server in the tests: the page says the email waits in the Outbox, not that it was sent.
    assert "kept in the Outbox until a mail server is set" in said
    page = alice.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    assert "Tax at 20% on £80.00" in page
    for _ in range(2):  # the same rendered form sent twice
        alice.post(f"/billing/invoices/{invoice.pk}/pay/", {"amount": "96.00", "method": "card", "key": key})
    invoice.refresh_from_db()
    assert invoice.status == "paid" and Payment.objects.count() == 1
    assert alice.get("/billing/invoices/?status=paid").content.decode().count(invoice.number) >= 1
    assert invoice.number not in alice.get("/billing/invoices/?status=overdue").content.decode()
    assert alice.get(f"/billing/invoices/{invoice.pk}/pdf/").content.startswith(b"%PDF")
    assert invoice.number in alice.get(f"/parties/{client_party.pk}/").content.decode()
    assert web_for(cast.bob).get(f"/billing/invoices/{invoice.pk}/").status_code == 404


def test_void_on_the_page_needs_a_reason(cast, web_for, draft):
    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    alice = web_for(cast.alice)
    r = alice.post(f"/billing/invoices/{invoice.pk}/void/", {"reason": ""})
    assert r.status_code == 422 and Invoice.objects.get(pk=invoice.pk).status == "issued"
    r = alice.post(f"/billing/invoices/{invoice.pk}/void/", {"reason": "Duplicate"})
    assert r.status_code == 302 and Invoice.objects.get(pk=invoice.pk).status == "void"
    assert Invoice.objects.filter(kind="credit_note", credits=invoice).count() == 1


def test_a_job_can_be_invoiced_from_its_link(cast, web_for, client_party, job_process):
    from friday.jobs.services import JobIn, job_create

    job = job_create(
        by=cast.alice, party=client_party, data=JobIn(title="Boiler swap", quoted_price="250.00")
    )
    page = web_for(cast.alice).get(f"/billing/invoices/new/?job={job.pk}").content.decode()
    assert 'value="Boiler swap"' in page and 'value="250.00"' in page


def test_the_signed_link_serves_the_issued_pdf_without_sign_in(cast, client, draft):
    from friday.billing import documents

    invoice = services.invoice_issue(by=cast.alice, invoice=draft, send=False)
    url = documents.public_pdf_url(invoice)
    path = url.split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + path)
    assert r.status_code == 200 and r.content == invoice.pdf.open("rb").read()
    assert client.get("/billing/d/forged:token/").status_code == 404
    other = services.invoice_create(
        by=cast.alice, party=invoice.party, data=services.InvoiceIn(lines=[line()])
    )
    draft_path = documents.public_pdf_url(other).split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + draft_path).status_code == 404  # a draft has no document to share yet


def test_a_bad_public_link_and_an_unknown_address_get_a_page_that_says_so(client):
    r = client.get("/billing/d/not-a-real-token/")
    assert r.status_code == 404 and "This invoice link is not valid" in r.content.decode()
    r = client.get("/no-such-page/")
    assert r.status_code == 404 and "There is nothing at this address" in r.content.decode()
