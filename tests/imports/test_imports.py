"""Importing parties: real export formats, bad input, matching, dry runs, undo — summaries that always add up."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook

from friday.core.errors import FridayError, PermissionDenied
from friday.imports.models import ExternalId, ImportFailure, ImportRecord, ImportStatus
from friday.imports.services import failures_rows
from friday.parties import vcard
from friday.parties.models import (
    Activity,
    Address,
    Affiliation,
    CustomField,
    EmailAddress,
    Party,
    PartyRole,
    PartyTag,
    Phone,
)
from friday.parties.services import AddressIn, AffiliationIn, custom_field_create
from tests.conftest import make_org, make_person
from tests.imports.helpers import GOOGLE_HEADER, OUTLOOK_HEADER, csv_bytes, run, summary, upload
from tests.imports.test_reading import VCARD_30, VCARD_40

pytestmark = pytest.mark.django_db


def _google_rows() -> list[dict[str, str]]:
    return [
        {
            "First Name": "Ada",
            "Last Name": "Lovelace",
            "Organization Name": "Analytical Engines",
            "Organization Title": "Programmer",
            "Birthday": "1815-12-10",
            "Notes": "Met at the Royal Society.\nLikes numbers.",
            "Labels": "* myContacts ::: Friends ::: Mathematicians",
            "E-mail 1 - Label": "* Home",
            "E-mail 1 - Value": "Ada@Example.com",
            "E-mail 2 - Value": "ada@work.example",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "07911 123456",
            "Address 1 - Label": "Home",
            "Address 1 - Formatted": "12 St James's Square\nLondon SW1Y 4JH",
            "Address 1 - Street": "12 St James's Square",
            "Address 1 - City": "London",
            "Address 1 - Postal Code": "SW1Y 4JH",
            "Address 1 - Country": "United Kingdom",
        },
        {
            "First Name": "Grace",
            "Middle Name": "Brewster",
            "Last Name": "Hopper",
            "Organization Name": "US Navy",
            "E-mail 1 - Label": "Work ::: Other",  # one label per value of the cell next to it
            "E-mail 1 - Value": "grace@navy.example ::: g@example.org",
            "Phone 1 - Value": "+1 202 555 0143",
        },
        {"Organization Name": "Acme Ltd", "E-mail 1 - Value": "hello@acme.example"},
    ]


def test_google_contacts_csv_is_recognised_and_imported(cast):
    job = upload(cast.alice, csv_bytes(GOOGLE_HEADER, _google_rows()), "contacts.csv")
    assert job.detected == "Google Contacts"
    mapped = dict(zip(job.headers, job.mapping, strict=True))
    assert mapped["First Name"] == "given_name"
    assert mapped["E-mail 1 - Value"] == "email" and mapped["E-mail 2 - Value"] == "email"
    assert mapped["E-mail 1 - Label"] == "email_label" and mapped["Phone 1 - Label"] == "phone_label"
    assert mapped["Address 1 - Formatted"] == ""
    assert mapped["Organization Name"] == "organisation" and mapped["Labels"] == "tags"
    assert mapped["Address 1 - Postal Code"] == "address.1.postcode"

    job = run(cast.alice, csv_bytes(GOOGLE_HEADER, _google_rows()), "contacts.csv")
    assert summary(job) == (3, 3, 0, 0, 0)
    assert job.organisations_created == 2  # Analytical Engines and US Navy; Acme Ltd is a row itself
    ada = Party.objects.get(display_name="Ada Lovelace")
    assert ada.owner == cast.alice and ada.team == cast.red
    assert list(ada.emails.values_list("address", "is_primary", "label")) == [
        ("ada@example.com", True, "Home"),  # "* Home": Google's star marks the primary one
        ("ada@work.example", False, ""),
    ]
    assert list(ada.phones.values_list("number", "label")) == [("+447911123456", "Mobile")]
    assert ada.birthday == dt.date(1815, 12, 10)
    assert ada.notes == "Met at the Royal Society.\nLikes numbers."
    assert sorted(ada.party_tags.values_list("tag__name", flat=True)) == ["Friends", "Mathematicians"]
    address = ada.addresses.get()
    assert (address.line1, address.city, address.postcode, address.country, address.label) == (
        "12 St James's Square",
        "London",
        "SW1Y 4JH",
        "GB",
        "home",
    )
    link = Affiliation.objects.get(person=ada)
    assert (link.organisation.display_name, link.job_title) == ("Analytical Engines", "Programmer")
    grace = Party.objects.get(family_name="Hopper")
    assert grace.given_name == "Grace Brewster"
    assert sorted(grace.emails.values_list("address", "label")) == [
        ("g@example.org", "Other"),
        ("grace@navy.example", "Work"),
    ]
    acme = Party.objects.get(display_name="Acme Ltd")
    assert acme.kind == "organisation"
    assert "ada@example.com" in ada.search_text and "07911123456" in ada.search_text
    entry = Activity.objects.get(party=ada, event="party.created")
    assert entry.subject == f"Imported from contacts.csv (import #{job.pk}), row 2"
    assert ImportRecord.objects.filter(job=job).count() == 5


def test_friday_s_own_vcards_import_again_onto_the_same_records(cast, web_for, settings):
    """The exported UID names the record in this install: imported again, the cards match their records (skipped
    or updated, never doubled); a card from another install with the same ids is not taken for them."""
    ada = make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"])
    grace = make_person(cast.alice, "Grace", "Hopper")  # no email: only the UID can find her
    client = web_for(cast.alice)
    body = client.get(f"/parties/{ada.pk}/vcard/").content + client.get(f"/parties/{grace.pk}/vcard/").content

    job = run(cast.alice, body, "friday.vcf", dry_run=True)
    assert job.match_on == "external_id"
    assert summary(job) == (2, 0, 0, 2, 0)
    edited = body.replace(b"FN:Grace Hopper", b"FN:Grace B. Hopper").replace(
        b"N:Hopper;Grace", b"N:Hopper;Grace B."
    )
    job = run(cast.alice, edited, "friday.vcf", on_match="update")
    assert summary(job) == (2, 0, 2, 0, 0)
    assert Party.objects.count() == 2
    grace.refresh_from_db()
    assert grace.given_name == "Grace B."
    assert not ExternalId.objects.exists()  # a record's own id is not kept as another system's

    settings.SECRET_KEY = "another install's secret key, long enough to be one"
    job = run(cast.alice, body, "friday.vcf")
    assert summary(job) == (
        2,
        2,
        0,
        0,
        0,
    )  # not this install's records: new ones (the duplicates scan finds them)


def test_email_and_phone_labels_come_from_the_column_next_to_them_or_the_column_s_name(cast):
    header = ["Name", "Phone type", "Phone", "Mobile", "Email", "Email kind"]
    rows = [
        ["Ada Lovelace", "work", "0161 496 0000", "07911 123456", "ada@example.com", "Home"],
        [
            "Grace Hopper",
            "",
            "0161 496 0001",
            "",
            "grace@example.com",
            "",
        ],  # no label given: none, or the name's
        ["Alan Turing", "The office on the third floor, left", "0161 496 0002", "", "", ""],
    ]
    job = upload(cast.admin, csv_bytes(header, rows))
    assert job.mapping == ["full_name", "phone_label", "phone", "phone", "email", ""]
    job = run(cast.admin, csv_bytes(header, rows), mapping={"Email kind": "email_label"})
    assert summary(job) == (3, 2, 0, 0, 1)
    ada = Party.objects.get(display_name="Ada Lovelace")
    assert list(ada.phones.values_list("number", "label", "is_primary")) == [
        ("+441614960000", "Work", True),
        ("+447911123456", "Mobile", False),
    ]
    assert ada.emails.get().label == "Home"
    grace = Party.objects.get(display_name="Grace Hopper")
    assert grace.phones.get().label == "" and grace.emails.get().label == ""
    failure = ImportFailure.objects.get(job=job)
    assert failure.problems == [
        ["Phone type", "A label has at most 30 characters: 'The office on the third floor, left' has 35."]
    ]

    # Updating a record adds its new phone with the label; a label column alone is refused with its name.
    job = run(
        cast.admin,
        csv_bytes(["Name", "Email", "Mobile"], [["Ada Lovelace", "ada@example.com", "07911 123457"]]),
        match_on="email",
        on_match="update",
    )
    assert summary(job) == (1, 0, 1, 0, 0)
    assert ada.phones.get(number="+447911123457").label == "Mobile"
    with pytest.raises(FridayError) as caught:
        run(cast.admin, csv_bytes(header, rows), mapping={"Name": "full_name", "Email kind": "phone_label"})
    assert caught.value.errors[0].field == "Email kind"
    assert "labels the phone column right after it (or right before it)" in caught.value.errors[0].detail


def test_labels_go_out_in_a_vcard_and_come_back_in(cast, web_for, settings):
    ada = make_person(
        cast.alice, "Ada", "Lovelace", emails=["ada@example.com", "ada@home.example"], phones=["07911 123456"]
    )
    EmailAddress.objects.filter(party=ada, address="ada@home.example").update(label="Home")
    Phone.objects.filter(party=ada).update(label="Mobile")
    body = web_for(cast.alice).get(f"/parties/{ada.pk}/vcard/").content
    assert b"TYPE=CELL" in body  # a mobile is a CELL to address books
    settings.SECRET_KEY = (
        "another install's secret key, long enough to be one"  # so the card makes a new record
    )
    job = run(cast.alice, body, "ada.vcf")
    assert summary(job) == (1, 1, 0, 0, 0)
    again = Party.objects.exclude(pk=ada.pk).get()
    assert sorted(again.emails.values_list("address", "label", "is_primary")) == [
        ("ada@example.com", "", True),
        ("ada@home.example", "Home", False),
    ]
    assert list(again.phones.values_list("number", "label")) == [("+447911123456", "Mobile")]


def test_an_update_that_holds_nothing_new_is_counted_as_already_up_to_date(cast, web_for):
    header = ["Name", "Email"]
    rows = [["Ada Lovelace", "ada@example.com"], ["Grace Hopper", "grace@example.com"]]
    run(cast.alice, csv_bytes(header, rows))
    job = run(
        cast.alice, csv_bytes(header, [rows[0], ["Grace B. Hopper", "grace@example.com"]]), on_match="update"
    )
    assert summary(job) == (2, 0, 2, 0, 0) and job.updated_unchanged == 1
    assert Activity.objects.filter(event="party.updated").count() == 1  # only Grace's row changed anything
    page = web_for(cast.alice).get(f"/imports/{job.pk}/progress/").content.decode()
    assert "(1 already up to date: nothing new)" in page


def test_friday_s_own_csv_export_holds_the_whole_record_and_imports_again_onto_it(cast, web_for):
    acme = make_org(cast.alice, "Acme Ltd")
    ada = make_person(
        cast.alice,
        "Ada",
        "Lovelace",
        emails=["ada@example.com", "ada@work.example"],
        phones=["0161 496 0000", "0161 496 0001"],
        notes="Met at the fair.\nLikes numbers.",
        addresses=[
            AddressIn(
                line1="12 St James's Square", line2="Flat 2", city="London", postcode="SW1Y 4JH", country="GB"
            )
        ],
        affiliations=[AffiliationIn(organisation=acme, job_title="Programmer")],
        tags=["vip"],
    )
    client = web_for(cast.alice)
    body = b"".join(client.get("/parties/?sort=name&format=csv").streaming_content)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    row = rows["Ada Lovelace"]
    assert (row["email"], row["other emails"]) == ("ada@example.com", "ada@work.example")
    assert (row["phone"], row["other phones"]) == ("'+441614960000", "'+441614960001")
    assert (row["organisation"], row["job title"], row["notes"]) == (
        "Acme Ltd",
        "Programmer",
        "Met at the fair.\nLikes numbers.",
    )
    assert (row["street"], row["city"], row["postcode"], row["country"]) == (
        "12 St James's Square\nFlat 2",
        "London",
        "SW1Y 4JH",
        "GB",
    )
    assert row["id"] == f"friday-{vcard.install_mark()}-party-{ada.pk}"

    job = run(cast.alice, body, "parties.csv", dry_run=True)
    assert job.match_on == "external_id"
    assert summary(job) == (2, 0, 0, 2, 0), list(
        ImportFailure.objects.filter(job=job).values_list("problems", flat=True)
    )
    job = run(cast.alice, body, "parties.csv", on_match="update")
    assert (
        summary(job) == (2, 0, 2, 0, 0) and job.updated_unchanged == 2
    )  # the file is the records as they are
    assert Party.objects.count() == 2 and not ExternalId.objects.exists()


def test_other_languages_column_names_are_recognised(cast):
    german = [
        "Vorname",
        "Nachname",
        "E-Mail",
        "Telefon",
        "Firma",
        "Straße",
        "PLZ",
        "Ort",
        "Land",
        "Geburtstag",
    ]
    rows = [
        dict(
            zip(
                german,
                [
                    "Jörg",
                    "Müller",
                    "jm@example.de",
                    "0161 496 0000",
                    "Müller GmbH",
                    "Hauptstr. 1",
                    "10115",
                    "Berlin",
                    "DE",
                    "01.02.1980",
                ],
                strict=True,
            )
        )
    ]
    job = upload(cast.alice, csv_bytes(german, rows), "kontakte.csv")
    assert job.mapping == [
        "given_name",
        "family_name",
        "email",
        "phone",
        "organisation",
        "address.1.street",
        "address.1.postcode",
        "address.1.city",
        "address.1.country",
        "birthday",
    ]
    job = run(cast.alice, csv_bytes(german, rows), "kontakte.csv")
    assert summary(job) == (1, 1, 0, 0, 0)
    jorg = Party.objects.get(family_name="Müller")
    assert (
        jorg.birthday == dt.date(1980, 2, 1) and str(jorg.addresses.get()) == "Hauptstr. 1, Berlin, 10115, DE"
    )
    french = ["Prénom", "Nom", "Courriel", "Téléphone", "Société", "Code postal", "Ville"]
    assert upload(cast.alice, csv_bytes(french, [dict.fromkeys(french, "x")]), "contacts.csv").mapping == [
        "given_name",
        "family_name",
        "email",
        "phone",
        "organisation",
        "address.1.postcode",
        "address.1.city",
    ]


def test_a_cut_down_export_keeps_the_columns_it_has(cast):
    """Too few of Google's columns to say the file is Google's: the ones kept are still recognised by their
    names, and the rows are matched by their e-mail."""
    existing = make_person(cast.alice, "Ada", "Old", emails=["ada@example.com"])
    header = ["First Name", "Last Name", "E-mail 1 - Value"]
    rows = [
        {"First Name": "Ada", "Last Name": "Lovelace", "E-mail 1 - Value": "ada@example.com"},
        {"First Name": "Grace", "Last Name": "Hopper", "E-mail 1 - Value": "grace@navy.example"},
    ]
    job = upload(cast.alice, csv_bytes(header, rows), "cut.csv")
    assert job.detected == ""
    assert job.mapping == ["given_name", "family_name", "email"]

    job = run(cast.alice, csv_bytes(header, rows), "cut.csv", on_match="update")
    assert summary(job) == (2, 1, 1, 0, 0)
    existing.refresh_from_db()
    assert existing.family_name == "Lovelace"
    assert EmailAddress.objects.get(address="grace@navy.example").party.display_name == "Grace Hopper"


def test_outlook_csv_is_recognised_title_is_an_honorific(cast):
    rows = [
        {
            "Title": "Dr",
            "First Name": "Ada",
            "Last Name": "Lovelace",
            "Company": "Analytical Engines",
            "Job Title": "Programmer",
            "Business Street": "1 Engine Way",
            "Business City": "Manchester",
            "Business Postal Code": "M1 1AA",
            "Business Country/Region": "England",
            "Business Phone": "0161 496 0000",
            "Mobile Phone": "07911 123456",
            "E-mail Address": "ada@example.com",
            "E-mail Display Name": "Ada Lovelace (ada@example.com)",
            "Birthday": "10/12/1815",
            "Categories": "Friends;Customers",
        }
    ]
    content = csv_bytes(OUTLOOK_HEADER, rows)
    job = upload(cast.admin, content, "outlook.csv")
    assert job.detected == "Outlook"
    mapped = dict(zip(job.headers, job.mapping, strict=True))
    assert mapped["Title"] == "" and mapped["Job Title"] == "job_title"
    assert mapped["Business Street"] == "address.work.street" and mapped["Home City"] == "address.home.city"
    job = run(cast.admin, content, "outlook.csv")
    assert summary(job) == (1, 1, 0, 0, 0)
    ada = Party.objects.get(display_name="Ada Lovelace")
    assert list(ada.phones.values_list("number", "label")) == [
        ("+441614960000", "Work"),  # the column's name says which: Business Phone, Mobile Phone
        ("+447911123456", "Mobile"),
    ]
    assert ada.birthday == dt.date(1815, 12, 10)  # day first: the business is in GB
    address = ada.addresses.get()
    assert (address.line1, address.city, address.country, address.label) == (
        "1 Engine Way",
        "Manchester",
        "GB",
        "work",
    )
    assert sorted(ada.party_tags.values_list("tag__name", flat=True)) == ["Customers", "Friends"]


def test_xlsx_file_imports_like_a_csv(cast):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Phone", "Customer since", "Roles"])
    sheet.append(["Ada Lovelace", "ada@example.com", "+447911123456", dt.datetime(2024, 3, 1), "customer"])
    sheet.append(["Charles Babbage", "charles@example.com", 441614960000, None, "supplier; partner"])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(cast.admin, buffer.getvalue(), "people.xlsx")
    assert job.file_format == "xlsx"
    assert summary(job) == (2, 2, 0, 0, 0)
    ada = Party.objects.get(display_name="Ada Lovelace")
    assert ada.customer_since == dt.date(2024, 3, 1)
    assert list(ada.roles.values_list("role", flat=True)) == ["customer"]
    charles = Party.objects.get(family_name="Babbage")
    assert sorted(charles.roles.values_list("role", flat=True)) == ["partner", "supplier"]
    # A number cell (a phone typed without its "+") is read as text, digits only: still the right number.
    assert list(charles.phones.values_list("number", flat=True)) == ["+441614960000"]


def test_vcards_30_and_40_import_people_and_organisations(cast):
    job = run(cast.admin, (VCARD_30 + VCARD_40).encode(), "contacts.vcf")
    assert job.detected == "vCard"
    assert summary(job) == (2, 2, 0, 0, 0)
    ada = Party.objects.get(family_name="Lovelace")
    assert ada.given_name == "Ada Augusta"
    assert sorted(ada.emails.values_list("address", flat=True)) == ["ada.home@example.com", "ada@example.com"]
    assert ada.emails.get(is_primary=True).address == "ada@example.com"
    assert list(ada.phones.values_list("number", "label")) == [
        ("+447911123456", "Mobile"),
        ("+441614960000", "Work"),
    ]
    assert ada.emails.get(address="ada.home@example.com").label == "Home"
    assert ada.emails.get(address="ada@example.com").label == ""  # INTERNET and pref are not kinds
    assert ada.addresses.get().line2 == "Flat 2"
    assert Affiliation.objects.get(person=ada).organisation.display_name == "Analytical Engines"
    acme = Party.objects.get(display_name="Acme Widgets Ltd")
    assert acme.kind == "organisation"
    assert acme.notes == "A long note that is folded across two lines by the writer."
    assert ExternalId.objects.get(party=ada).external_id == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_latin1_and_utf16_files_keep_their_accents(cast, encoding):
    content = csv_bytes(
        ["First name", "Last name", "Email"], [["José", "Müller", "jose@example.com"]], encoding=encoding
    )
    job = run(cast.admin, content)
    assert summary(job) == (1, 1, 0, 0, 0)
    assert Party.objects.get().display_name == "José Müller"


def test_ragged_rows_fail_alone_and_the_rest_import(cast):
    content = b"Name,Email\r\nAda Lovelace,ada@example.com\r\nGrace Hopper\r\nAlan Turing,alan@example.com,extra\r\n"
    job = run(cast.admin, content)
    assert summary(job) == (3, 1, 0, 0, 2)
    rows = sorted(ImportFailure.objects.filter(job=job).values_list("row", flat=True))
    assert rows == [3, 4]


def test_embedded_newlines_and_quotes_survive(cast):
    content = b'Name,Notes\r\n"Babbage, Charles","He said ""engines"".\r\nTwice."\r\n'
    job = run(cast.admin, content)
    assert summary(job) == (1, 1, 0, 0, 0)
    charles = Party.objects.get()
    assert (charles.given_name, charles.family_name) == ("Charles", "Babbage")
    assert charles.notes == 'He said "engines".\r\nTwice.'


def test_a_one_megabyte_cell_is_refused_for_its_row_with_its_length(cast):
    big = "n" * (1024 * 1024)
    content = csv_bytes(
        ["Name", "Notes", "Unused"], [["Ada Lovelace", big, ""], ["Grace Hopper", "short", big]]
    )
    job = run(cast.admin, content, mapping={"Unused": ""})
    assert summary(job) == (2, 1, 0, 0, 1)
    failure = ImportFailure.objects.get(job=job)
    assert failure.problems == [["Notes", "At most 10000 characters (this has 1048576)."]]
    assert len(failure.values[1]) == 1024 * 1024  # the report keeps the cell whole
    assert Party.objects.get().display_name == "Grace Hopper"  # a big cell in a column not imported is fine


def test_empty_file_and_header_only_are_refused_with_clear_messages(cast):
    with pytest.raises(FridayError, match="The file is empty"):
        upload(cast.admin, b"")
    with pytest.raises(FridayError, match=r"header row \(2 columns: Name, Email\) but no rows under it"):
        upload(cast.admin, b"Name,Email\r\n")


def test_2001_rows_import_2001(cast):
    rows = [[f"Person {i:04d}", f"p{i}@example.com"] for i in range(2001)]
    job = run(cast.admin, csv_bytes(["Name", "Email"], rows))
    assert summary(job) == (2001, 2001, 0, 0, 0)
    assert Party.objects.count() == 2001
    assert EmailAddress.objects.count() == 2001


def test_empty_rows_are_counted_as_skipped(cast):
    job = run(cast.admin, b"Name,Email\r\nAda Lovelace,ada@example.com\r\n,\r\n\r\nGrace Hopper,\r\n")
    assert summary(job) == (4, 2, 0, 2, 0)
    assert job.skipped_empty == 2


def _existing(cast):
    return make_person(
        cast.admin, "Ada", "Lovelace", emails=["ada@example.com"], phones=["+447911123456"], notes="Before"
    )


@pytest.mark.parametrize(
    ("on_match", "expected", "parties"),
    [("skip", (2, 1, 0, 1, 0), 2), ("update", (2, 1, 1, 0, 0), 2), ("create", (2, 2, 0, 0, 0), 3)],
)
def test_match_by_email_create_update_or_skip(cast, on_match, expected, parties):
    ada = _existing(cast)
    content = csv_bytes(
        ["Name", "Email", "Phone", "Notes", "Tags"],
        [
            ["Ada King", "ADA@example.com", "0161 496 0000", "After", "vip"],
            ["Grace Hopper", "grace@example.com", "", "", ""],
        ],
    )
    job = run(cast.admin, content, match_on="email", on_match=on_match)
    assert summary(job) == expected
    assert Party.objects.count() == parties
    ada.refresh_from_db()
    if on_match == "update":
        assert ada.display_name == "Ada King"
        assert ada.notes == "After"
        assert list(ada.phones.values_list("number", flat=True)) == ["+447911123456", "+441614960000"]
        assert list(ada.party_tags.values_list("tag__slug", flat=True)) == ["vip"]
        record = ImportRecord.objects.get(job=job, action="updated")
        assert record.changes["fields"]["notes"] == ["Before", "After"]
    else:
        assert (ada.display_name, ada.notes) == ("Ada Lovelace", "Before")


def test_match_by_phone_and_by_the_sources_id(cast):
    ada = _existing(cast)
    job = run(cast.admin, b"Name,Phone\r\nAda L,+44 7911 123456\r\n", match_on="phone", on_match="update")
    assert summary(job) == (1, 0, 1, 0, 0)
    header = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Company Name",
        "Contact owner",
    ]
    first = csv_bytes(header, [["501", "Grace", "Hopper", "grace@example.com", "", "", ""]])
    job = run(cast.admin, first, "hubspot.csv")
    assert (job.detected, job.source, job.match_on) == ("HubSpot", "hubspot", "external_id")
    assert summary(job) == (1, 1, 0, 0, 0)
    grace = Party.objects.get(family_name="Hopper")
    again = csv_bytes(header, [["501", "Grace", "Hopper", "grace@navy.example", "", "US Navy", "alice"]])
    job = run(cast.admin, again, "hubspot.csv", on_match="update")
    assert summary(job) == (1, 0, 1, 0, 0)
    grace.refresh_from_db()
    assert sorted(grace.emails.values_list("address", flat=True)) == [
        "grace@example.com",
        "grace@navy.example",
    ]
    assert grace.owner == cast.alice
    assert Affiliation.objects.get(person=grace).organisation.display_name == "US Navy"
    assert ada.pk != grace.pk


def test_rows_of_one_file_match_each_other(cast):
    content = csv_bytes(
        ["Name", "Email", "Tags"],
        [
            ["Ada Lovelace", "ada@example.com", "a"],
            ["Ada King", "ada@example.com", "b"],
            ["Grace", "g@example.com", ""],
        ],
    )
    dry = run(cast.admin, content, match_on="email", on_match="update", dry_run=True)
    real = run(cast.admin, content, match_on="email", on_match="update")
    assert summary(dry) == summary(real) == (3, 2, 1, 0, 0)
    ada = Party.objects.get(emails__address="ada@example.com")
    assert ada.display_name == "Ada King"
    assert sorted(ada.party_tags.values_list("tag__slug", flat=True)) == ["a", "b"]


def _snapshot() -> dict:
    """Every party table's rows and the fields an import touches (timeline entries aside: counted apart)."""
    parties = list(
        Party.objects.order_by("id").values_list(
            "id",
            "kind",
            "given_name",
            "family_name",
            "display_name",
            "sort_name",
            "birthday",
            "customer_since",
            "notes",
            "custom",
            "owner_id",
            "team_id",
            "search_text",
            "updated_at",
            "email_consent",
        )
    )
    return {
        "parties": parties,
        "emails": list(EmailAddress.objects.order_by("id").values_list("party_id", "address", "is_primary")),
        "phones": list(Phone.objects.order_by("id").values_list("party_id", "number", "is_primary")),
        "addresses": list(Address.objects.order_by("id").values_list("party_id", "line1", "city", "country")),
        "roles": list(PartyRole.objects.order_by("id").values_list("party_id", "role")),
        "tags": list(PartyTag.objects.order_by("id").values_list("party_id", "tag__slug")),
        "affiliations": list(
            Affiliation.objects.order_by("id").values_list("person_id", "organisation_id", "job_title")
        ),
        "external_ids": list(
            ExternalId.objects.order_by("id").values_list("source", "external_id", "party_id")
        ),
    }


def _mixed_file() -> bytes:
    return csv_bytes(
        [
            "Name",
            "Email",
            "Phone",
            "Company",
            "Job title",
            "Notes",
            "Tags",
            "Roles",
            "Birthday",
            "Street",
            "City",
            "Id",
        ],
        [
            [
                "Ada King",
                "ada@example.com",
                "0161 496 0000",
                "Analytical Engines",
                "Countess",
                "After",
                "vip",
                "customer",
                "1815-12-10",
                "1 Engine Way",
                "London",
                "A1",
            ],
            ["Grace Hopper", "grace@example.com", "", "US Navy", "Admiral", "", "navy", "", "", "", "", "G1"],
            ["Bad Row", "not-an-email", "", "", "", "", "", "", "", "", "", ""],
            [
                "Charles Babbage",
                "charles@example.com",
                "",
                "Analytical Engines",
                "",
                "",
                "",
                "supplier",
                "",
                "",
                "",
                "",
            ],
        ],
    )


def test_dry_run_writes_nothing_and_predicts_the_real_run(cast):
    _existing(cast)
    before = _snapshot()
    activities = Activity.objects.count()
    dry = run(cast.admin, _mixed_file(), match_on="email", on_match="update", dry_run=True)
    assert _snapshot() == before
    assert Activity.objects.count() == activities
    assert ImportRecord.objects.filter(job=dry).count() == 0
    assert dry.status == ImportStatus.DONE
    real = run(cast.admin, _mixed_file(), match_on="email", on_match="update")
    assert summary(dry) == summary(real) == (4, 2, 1, 0, 1)
    assert dry.organisations_created == real.organisations_created == 2


def test_undo_puts_the_database_back_exactly(cast):
    ada = _existing(cast)
    bob = make_person(cast.admin, "Bob", "Untouched", emails=["bob@example.com"])
    before = _snapshot()
    job = run(cast.admin, _mixed_file(), match_on="email", on_match="update")
    assert summary(job) == (4, 2, 1, 0, 1)
    assert _snapshot() != before
    ada.refresh_from_db()
    assert ada.display_name == "Ada King"
    from friday.imports.services import import_undo

    job = import_undo(by=cast.admin, job=job)
    assert job.status == ImportStatus.UNDONE
    assert _snapshot() == before
    assert job.undo_summary["deleted"] == 4  # Grace, Charles and the two organisations
    assert job.undo_summary["restored"] == 1
    ada.refresh_from_db()
    assert (ada.display_name, ada.notes) == ("Ada Lovelace", "Before")
    entries = list(Activity.objects.filter(party=ada).order_by("id").values_list("event", flat=True))
    assert entries == ["party.created", "party.updated", "party.updated"]  # created, the import, its undo
    assert Party.objects.filter(pk=bob.pk).exists()


def test_undo_keeps_what_was_worked_on_and_later_edits(cast, web_for):
    from friday.imports.services import import_undo
    from friday.parties.services import PartyIn, activity_log, party_update

    ada = _existing(cast)
    job = run(cast.admin, _mixed_file(), match_on="email", on_match="update")
    grace = Party.objects.get(family_name="Hopper")
    activity_log(by=cast.admin, party=grace, kind="call", subject="Called about the order")
    party_update(by=cast.admin, party=ada, data=PartyIn(notes="Edited by hand"))
    job = import_undo(by=cast.admin, job=job)
    navy = Party.objects.get(display_name="US Navy")  # created for Grace's company: kept with her
    assert job.undo_summary["kept"] == sorted([grace.pk, navy.pk])
    assert Party.objects.filter(pk=grace.pk).exists()
    assert not Party.objects.filter(family_name="Babbage").exists()
    ada.refresh_from_db()
    assert ada.notes == "Edited by hand"  # a later edit is not overwritten
    assert ada.display_name == "Ada Lovelace"  # what still held the imported value is put back
    assert job.undo_summary["kept_fields"] == 1
    page = web_for(cast.admin).get(f"/imports/{job.pk}/").content.decode()
    assert "2 created records were kept because they have been worked on since:" in page
    assert f'/parties/{grace.pk}/">Grace Hopper</a>' in page  # by name, not by number
    assert "1 field was changed again after the import and left as it is now." in page


def test_failed_rows_report_has_row_column_reason_and_the_row(cast, web_for):
    content = csv_bytes(
        ["Name", "Email", "Birthday"],
        [
            ["Ada Lovelace", "ada@example", "31/02/1990"],
            ["=cmd|' /C calc'!A0", "x@example.com", ""],
            ["Grace Hopper", "g@example.com", ""],
        ],
    )
    job = run(cast.admin, content)
    assert summary(job) == (3, 2, 0, 0, 1)
    lines = list(failures_rows(job))
    # One line per failed row (corrected, the file imports each row once), every problem in it.
    assert [line[:2] for line in lines] == [[2, "Email; Birthday"]]
    email, birthday = lines[0][2].split("\n")
    assert email.startswith("Email: ") and birthday.startswith("Birthday: ")
    assert "'31/02/1990' is not a real date" in birthday
    assert lines[0][3:] == ["Ada Lovelace", "ada@example", "31/02/1990"]
    response = web_for(cast.admin).get(f"/imports/{job.pk}/failed-rows.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "row,column,reason,Name,Email,Birthday"
    assert body.splitlines()[1].startswith('2,Email; Birthday,"Email: ')
    formula = Party.objects.get(emails__address="x@example.com")
    assert formula.display_name.startswith("=cmd")  # stored as typed; exports neutralise it


def test_required_custom_fields_fail_created_rows_only(cast):
    custom_field_create(
        by=cast.admin,
        key="vat",
        label="VAT number",
        field_type="text",
        required=True,
        applies_to="organisation",
    )
    custom_field_create(by=cast.admin, key="visits", label="Visits", field_type="number")
    content = csv_bytes(
        ["Company", "VAT number", "Visits"],
        [["Acme Ltd", "GB123", "3"], ["Beta Ltd", "", ""], ["Gamma Ltd", "GB9", "x"]],
    )
    job = run(cast.admin, content)
    assert summary(job) == (3, 1, 0, 0, 2)
    problems = {f.row: f.problems for f in ImportFailure.objects.filter(job=job)}
    assert problems[3] == [["VAT number", "VAT number is required."]]
    assert problems[4] == [["Visits", "Visits: 'x' is not a number (write it like 1234.50)."]]
    assert Party.objects.get().custom == {"vat": "GB123", "visits": "3"}
    again = run(
        cast.admin,
        csv_bytes(["Company", "Visits", "VAT number"], [["Acme Ltd", "4", ""]]),
        mapping={"Company": "organisation"},
        match_on="",
        on_match="update",
    )
    assert summary(again) == (1, 0, 0, 0, 1)  # no match rule: it would create, and the VAT number is required
    assert CustomField.objects.count() == 2


def test_read_only_users_cannot_import(cast):
    with pytest.raises(PermissionDenied):
        upload(cast.reader, b"Name\r\nAda\r\n")


def test_members_own_their_imports_and_cannot_give_records_to_other_teams(cast):
    content = csv_bytes(
        ["Name", "Owner", "Team"],
        [
            ["Ada Lovelace", "", ""],
            ["Grace Hopper", "bob", ""],
            ["Alan Turing", "", "Blue"],
            ["Joan Clarke", "olga", "Red"],
        ],
    )
    job = run(cast.alice, content)
    assert summary(job) == (4, 2, 0, 0, 2)
    ada = Party.objects.get(family_name="Lovelace")
    assert (ada.owner, ada.team) == (cast.alice, cast.red)
    joan = Party.objects.get(family_name="Clarke")
    assert (joan.owner, joan.team) == (cast.olga, cast.red)
    reasons = {f.row: f.problems[0][1] for f in ImportFailure.objects.filter(job=job)}
    assert reasons[3] == "bob is not in your teams: you can give records only to your teams."
    assert reasons[4] == "You are not in the team 'Blue': you cannot file records there."


def test_matching_sees_only_what_the_importer_may_see(cast):
    make_person(cast.bob, "Bea", "Blue", emails=["bea@example.com"])
    job = run(cast.alice, b"Name,Email\r\nBea Blue,bea@example.com\r\n", match_on="email", on_match="update")
    assert summary(job) == (1, 1, 0, 0, 0)  # Bob's record is not Alice's to update: she gets her own
    assert Party.objects.filter(emails__address="bea@example.com").count() == 2


def test_rows_checked_by_a_pool_of_processes_give_the_same_import(cast, monkeypatch):
    """Big files have their rows checked by other processes while this one writes: same decisions, same rows.
    Until the pool has started, batches are checked here; then by the pool — with the business the import
    started with (an Irish business: 087 numbers are Irish mobiles, where the environment's region would
    refuse them), never reading a database of its own."""
    import time

    from friday.core import business
    from friday.core.models import Business
    from friday.imports import services
    from tests.imports.helpers import upload

    business.current()  # the row exists
    Business.objects.filter(pk=1).update(region="IE")
    business.forget()
    monkeypatch.setattr(services, "BATCH", 100)
    rows = [
        [f"Person {i}", f"p{i}@example.com" if i % 7 else "bad-email", f"087 {i:07d}"] for i in range(3000)
    ]
    here = services.check_row
    pooled: list[int] = []
    unpack = services._unpack

    def slow_here(row, ctx):  # the pool starts in a second or two: rows checked here are slowed until then
        if workers and not pooled:
            time.sleep(0.002)
        return here(row, ctx)

    def counted(rows, result):
        pooled.append(len(rows))
        return unpack(rows, result)

    monkeypatch.setattr(services, "check_row", slow_here)
    monkeypatch.setattr(services, "_unpack", counted)
    results = []
    for workers in (0, 1):
        job = upload(cast.admin, csv_bytes(["Name", "Email", "Phone"], rows))
        job = services.import_start(by=cast.admin, job=job, dry_run=True, enqueue=False)
        done = services.import_run(job_id=job.pk, workers=workers)
        assert done is not None
        results.append(
            (summary(done), sorted(ImportFailure.objects.filter(job=done).values_list("row", "problems")))
        )
    assert results[0] == results[1]
    assert results[0][0] == (3000, 2571, 0, 0, 429)  # only the bad emails fail
    assert 0 < sum(pooled) < 3000  # some batches checked here while the pool started, the rest by the pool


def test_a_run_killed_half_way_resumes_after_its_last_batch(cast, monkeypatch):
    """A worker killed mid-import leaves the import running with what it committed; resuming goes on after the
    last committed batch: every row once, the counts still adding up."""
    import datetime as dt

    from friday.core import clock
    from friday.imports import services
    from friday.imports.models import ImportJob

    monkeypatch.setattr(services, "BATCH", 400)
    rows = [[f"Person {i:04d}", f"p{i}@example.com"] for i in range(1000)]
    job = upload(cast.admin, csv_bytes(["Name", "Email"], rows))
    job = services.import_start(by=cast.admin, job=job, dry_run=False, enqueue=False)

    def killed(current):
        raise KeyboardInterrupt  # what a SIGKILL looks like from the database: nothing after the commit

    with pytest.raises(KeyboardInterrupt):
        services.import_run(job_id=job.pk, progress=killed)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportStatus.RUNNING, 400, 400)
    assert services.import_run(job_id=job.pk) is None  # still fresh: another worker may be on it
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=clock.now() - dt.timedelta(minutes=5))
    services.import_resume(by=cast.admin, job=job)  # the page's Resume button queues it again
    done = services.import_run(job_id=job.pk)
    assert done is not None
    assert summary(done) == (1000, 1000, 0, 0, 0)
    assert Party.objects.count() == 1000
    assert EmailAddress.objects.values("address").distinct().count() == 1000


def test_a_queued_import_is_not_stuck_until_its_worker_has_been_silent(cast, web_for):
    """Queuing is a sign of life: the page offers Resume only after STALE_AFTER without one."""
    import datetime as dt

    from friday.core import clock
    from friday.core.errors import Conflict
    from friday.imports import services
    from friday.imports.models import ImportJob

    job = upload(cast.alice, csv_bytes(["Name", "Email"], [["Ada", "ada@example.com"]]))
    job = services.import_start(by=cast.alice, job=job, dry_run=False, enqueue=False)
    client = web_for(cast.alice)
    assert not services.is_stuck(job)
    assert "silent" not in client.get(f"/imports/{job.pk}/progress/?was=queued").content.decode()
    with pytest.raises(Conflict):
        services.import_resume(by=cast.alice, job=job)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=clock.now() - services.STALE_AFTER - dt.timedelta(seconds=1)
    )
    job.refresh_from_db()
    assert services.is_stuck(job)
    assert (
        "The worker has been silent" in client.get(f"/imports/{job.pk}/progress/?was=queued").content.decode()
    )
    services.import_resume(by=cast.alice, job=job)


def test_an_owner_changed_by_an_import_moves_the_customer_figures_scope_and_undo_moves_it_back(cast):
    """Imports emit no per-party events, so they recompute the figures of the parties they update: the owner and
    team copied onto the figures (what scoped lists read) follow the file, and the undo."""
    from friday.imports.services import import_undo
    from friday.insights import metrics
    from friday.insights.models import CustomerMetrics
    from friday.insights.selectors import metrics_visible

    make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], roles=["customer"])
    metrics.sweep()
    assert metrics_visible(cast.alice).count() == 1 and not metrics_visible(cast.bob).exists()
    header = ["First Name", "Last Name", "Email", "Contact owner"]
    moved = csv_bytes(header, [["Ada", "Lovelace", "ada@example.com", "bob"]])
    job = run(cast.admin, moved, "hubspot.csv", match_on="email", on_match="update")
    assert summary(job)[2] == 1  # updated
    figures = CustomerMetrics.objects.get()
    assert (
        figures.owner_id == cast.bob.pk and metrics_visible(cast.bob).count() == 1
    )  # Bob's now (team Red kept)
    import_undo(by=cast.admin, job=job)
    figures.refresh_from_db()
    assert figures.owner_id == cast.alice.pk and not metrics_visible(cast.bob).exists()


def _found(user, q: str) -> set[str]:
    from friday.parties.selectors import PartyFilters, party_queryset

    return set(party_queryset(user=user, filters=PartyFilters(q=q)).values_list("display_name", flat=True))


def _sqlite_search_index_is_whole() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        # FTS5 compares the index with the parties' search text (rank 1: the external content too).
        cursor.execute("INSERT INTO party_fts(party_fts, rank) VALUES ('integrity-check', 1)")
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'party_fts_%' ORDER BY 1"
        )
        assert [r[0] for r in cursor.fetchall()] == ["party_fts_ad", "party_fts_ai", "party_fts_au"]


def test_a_big_batch_is_searchable_by_new_and_changed_text(cast):
    """Batches of 50+ are indexed for search by the batch on SQLite (not row by row): what they created and what
    they changed is found, what they replaced is not, and the index stays whole."""
    for i in range(60):
        make_person(cast.admin, "Old", f"Name{i:02d}", emails=[f"old{i}@example.com"])
    rows = [[f"Fresh Person{i:02d}", f"fresh{i}@example.com", ""] for i in range(60)]
    rows += [[f"Renamed Person{i:02d}", f"old{i}@example.com", f"0161 496 0{i:03d}"] for i in range(60)]
    job = run(cast.admin, csv_bytes(["Name", "Email", "Phone"], rows), match_on="email", on_match="update")
    assert summary(job) == (120, 60, 60, 0, 0)
    assert _found(cast.admin, "fresh7@example") == {"Fresh Person07"}
    assert _found(cast.admin, "renamed person4") == {f"Renamed Person4{i}" for i in range(10)}
    assert _found(cast.admin, "old name") == set()
    assert _found(cast.admin, "01614960042") == {"Renamed Person42"}
    _sqlite_search_index_is_whole()
    # One at a time: the trigger is back.
    make_person(cast.admin, "After", "Wards", emails=["after@example.com"])
    assert _found(cast.admin, "after@exam") == {"After Wards"}
    _sqlite_search_index_is_whole()
    from friday.imports.services import import_undo

    import_undo(by=cast.admin, job=job)  # deletes 60 and restores 60 by the batch too
    assert _found(cast.admin, "fresh7@example") == set()
    assert _found(cast.admin, "old name4") == {f"Old Name4{i}" for i in range(10)}
    assert _found(cast.admin, "renamed") == set()
    _sqlite_search_index_is_whole()


def test_a_batch_that_fails_after_writing_leaves_no_rows_and_the_trigger_in_place(cast, monkeypatch):
    from django.db import transaction

    from friday.core import fastinsert
    from friday.parties import bulk

    insert_rows = fastinsert.insert_rows

    def fail(model, fields, rows):
        insert_rows(model, fields, rows)
        if model is Party:
            raise RuntimeError("disk full")

    monkeypatch.setattr(fastinsert, "insert_rows", fail)
    before = Party.objects.count()
    items = [
        bulk.NewParty(values=_Values(f"Person {i}"), owner_id=cast.admin.pk, team_id=None) for i in range(60)
    ]
    with pytest.raises(RuntimeError, match="disk full"), transaction.atomic():
        bulk.party_bulk_create(by=cast.admin, items=items)
    assert Party.objects.count() == before
    monkeypatch.undo()
    make_person(cast.admin, "Still", "Indexed")
    assert _found(cast.admin, "still ind") == {"Still Indexed"}
    _sqlite_search_index_is_whole()


def test_rows_that_touch_one_record_twice_in_a_batch_leave_the_search_index_whole(cast):
    """The search index learns a batch's parties at its end: a record created by one row and renamed by a later
    one, and a record renamed by two rows, are found by their last name only — and on a small batch too."""
    make_person(cast.admin, "Twice", "Renamed", emails=["twice@example.com"])
    rows = [
        ["First Made", "made@example.com", ""],
        ["Then Changed", "made@example.com", "0161 496 0001"],  # waits for the row above, then updates it
        ["Once Renamed", "twice@example.com", ""],
        ["Last Renamed", "twice@example.com", "0161 496 0002"],  # the same record again: a second pass
    ]
    job = run(cast.admin, csv_bytes(["Name", "Email", "Phone"], rows), match_on="email", on_match="update")
    assert summary(job) == (4, 1, 3, 0, 0)
    assert _found(cast.admin, "then changed") == {"Then Changed"}
    assert _found(cast.admin, "first made") == set()
    assert _found(cast.admin, "01614960001") == {"Then Changed"}
    assert _found(cast.admin, "last renamed") == {"Last Renamed"}
    assert _found(cast.admin, "once renamed") == _found(cast.admin, "twice renamed") == set()
    _sqlite_search_index_is_whole()


def test_an_import_batch_that_fails_before_its_end_leaves_the_search_index_and_its_triggers(
    cast, monkeypatch
):
    """The triggers are off for a whole batch: a batch that fails rolls their removal back with its rows."""
    from friday.core import fastinsert
    from friday.imports.models import ImportFailure

    make_person(cast.admin, "Kept", "Person", emails=["kept@example.com"])
    insert_rows = fastinsert.insert_rows

    def fail(model, fields, rows):
        if model is ImportFailure:
            raise RuntimeError("disk full")
        insert_rows(model, fields, rows)

    monkeypatch.setattr(fastinsert, "insert_rows", fail)
    rows = [["New Person", "new@example.com"], ["Renamed Person", "kept@example.com"]]
    with pytest.raises(RuntimeError, match="disk full"):
        run(cast.admin, csv_bytes(["Name", "Email"], rows), match_on="email", on_match="update")
    monkeypatch.undo()
    assert set(Party.objects.values_list("display_name", flat=True)) == {"Kept Person"}
    assert _found(cast.admin, "kept person") == {"Kept Person"}
    _sqlite_search_index_is_whole()
    make_person(cast.admin, "Still", "Indexed")
    assert _found(cast.admin, "still ind") == {"Still Indexed"}
    _sqlite_search_index_is_whole()


class _Values:
    """The values of a person with only a name (what `imports.validate.Clean` holds)."""

    def __init__(self, name: str) -> None:
        self.kind, self.name = "person", name
        self.given, self.family = name.split(" ", 1)
        self.emails, self.phones, self.addresses, self.roles, self.tags = [], [], [], [], []
        self.job_title, self.notes, self.custom = "", None, {}
        self.birthday = self.customer_since = self.time_zone = None
        self.email_consent = self.do_not_contact = None
        self.owner_id = self.team_id = None


def test_an_organisation_that_gets_its_first_person_by_import_loses_its_nobody_on_file_flag(cast):
    from friday.insights import metrics
    from friday.insights.models import CustomerMetrics
    from tests.conftest import make_org

    acme = make_org(cast.admin, "Acme Plumbing", roles=["customer"])
    metrics.sweep()
    assert CustomerMetrics.objects.get(party=acme).has_people is False
    content = csv_bytes(
        ["First Name", "Last Name", "Organization Name", "E-mail 1 - Value"],
        [["Ada", "Lovelace", "Acme Plumbing", "ada@example.com"]],
    )
    job = run(cast.admin, content)
    assert summary(job) == (1, 1, 0, 0, 0)
    assert Affiliation.objects.get().organisation_id == acme.pk
    assert CustomerMetrics.objects.get(party=acme).has_people is True


def test_an_update_keeps_the_search_text_that_search_text_for_would_write(cast):
    """An update reuses the phone forms already in a party's search text instead of formatting its numbers
    again; the text is the one `search_text_for` gives — also when the old text was not (then it is rebuilt)."""
    from friday.parties.services import search_text_for

    kept = make_person(cast.admin, "Kept", "Phone", emails=["kept@example.com"], phones=["0161 496 0100"])
    stale = make_person(cast.admin, "Stale", "Text", emails=["stale@example.com"], phones=["0161 496 0200"])
    Party.objects.filter(pk=stale.pk).update(search_text="something else entirely")
    rows = [
        ["Kept Renamed", "kept@example.com; kept2@example.com", "0161 496 0101"],
        ["Stale Renamed", "stale@example.com", "0161 496 0201"],
    ]
    job = run(cast.admin, csv_bytes(["Name", "Email", "Phone"], rows), match_on="email", on_match="update")
    assert summary(job) == (2, 0, 2, 0, 0)
    for party in (kept, stale):
        party.refresh_from_db()
        emails = list(party.emails.order_by("-is_primary", "id").values_list("address", flat=True))
        phones = list(party.phones.order_by("-is_primary", "id").values_list("number", flat=True))
        assert len(phones) == 2
        assert party.search_text == search_text_for(party.display_name, emails, phones)
    assert _found(cast.admin, "01614960100") == {"Kept Renamed"}
    assert _found(cast.admin, "01614960201") == {"Stale Renamed"}


def test_an_import_gives_back_the_connections_settings(cast):
    """The run's bigger SQLite page cache and rarer checkpoints are for the run only: the worker keeps its
    connection for the next task."""
    from django.db import connection

    def settings_now() -> tuple:
        if connection.vendor != "sqlite":
            return ()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache = cursor.fetchone()[0]
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cache, cursor.fetchone()[0]

    before = settings_now()
    job = run(cast.admin, csv_bytes(["Name", "Email"], [["Ada Lovelace", "ada@example.com"]]))
    assert summary(job) == (1, 1, 0, 0, 0)
    assert settings_now() == before


def _roles(party: Party) -> list[str]:
    return sorted(party.roles.values_list("role", flat=True))


def _tags(party: Party) -> list[str]:
    return sorted(party.party_tags.values_list("tag__name", flat=True))


def test_every_row_gets_the_roles_and_tags_chosen_and_the_undo_takes_them_back(cast):
    """A file of customers that does not say so: the import gives every row's record the roles and tags chosen,
    besides its own; a matched record keeps what it had; the undo takes back only what the import added."""
    kept = make_person(
        cast.admin, "Sam", "Supplier", emails=["sam@example.com"], roles=["supplier"], tags=["Local"]
    )
    rows = [["Ada Lovelace", "ada@example.com", "vip"], ["Sam Supplier", "sam@example.com", ""]]
    job = run(
        cast.admin,
        csv_bytes(["Name", "Email", "Tags"], rows),
        match_on="email",
        on_match="update",
        roles=["Customer", "customer", " "],
        tags=["Spring fair", "VIP", ""],
    )
    assert (job.add_roles, job.add_tags) == (["customer"], ["Spring fair", "VIP"])
    assert summary(job) == (2, 1, 1, 0, 0)
    ada = Party.objects.get(display_name="Ada Lovelace")
    assert _roles(ada) == ["customer"]
    assert _tags(ada) == ["Spring fair", "vip"]  # the row's own "vip" is the same tag as "VIP"
    assert ada.customer_since == dt.date.today()
    kept.refresh_from_db()
    assert _roles(kept) == ["customer", "supplier"]
    assert _tags(kept) == ["Local", "Spring fair", "vip"]  # one tag, named as it was first written
    assert kept.customer_since is not None

    from friday.imports.services import import_undo

    import_undo(by=cast.admin, job=job)
    assert not Party.objects.filter(display_name="Ada Lovelace").exists()
    kept.refresh_from_db()
    assert (_roles(kept), _tags(kept), kept.customer_since) == (["supplier"], ["Local"], None)


def test_a_dry_run_and_its_real_run_give_the_same_roles_and_tags(cast):
    from friday.imports import services

    job = run(
        cast.admin, csv_bytes(["Name"], [["Ada Lovelace"]]), dry_run=True, roles=["partner"], tags=["A"]
    )
    assert Party.objects.count() == 0
    real = services.import_start(by=cast.admin, job=job, dry_run=False, enqueue=False)
    assert real.pk != job.pk and (real.add_roles, real.add_tags) == (["partner"], ["A"])
    services.import_run(job_id=real.pk)
    ada = Party.objects.get()
    assert (_roles(ada), _tags(ada)) == (["partner"], ["A"])


@pytest.mark.parametrize(
    ("roles", "tags", "field", "code"),
    [
        (["clients"], [], "roles", "invalid.role"),
        ([], ["ok", "=cmd|bad"], "tags.1", "invalid.tag"),
        ([], ["x" * 61], "tags.0", "invalid.tag"),
        ([], [f"tag {i}" for i in range(21)], "tags", "invalid.too_many"),
    ],
)
def test_bad_roles_or_tags_for_every_row_are_refused_by_their_field(cast, roles, tags, field, code):
    from friday.core.errors import ValidationFailed
    from friday.imports import services

    job = upload(cast.admin, csv_bytes(["Name"], [["Ada Lovelace"]]))
    data = services.Settings(mapping=job.mapping, match_on="", roles=roles, tags=tags)
    with pytest.raises(ValidationFailed) as caught:
        services.import_configure(by=cast.admin, job=job, data=data)
    assert [(e.field, e.code) for e in caught.value.errors] == [(field, code)]
    job.refresh_from_db()
    assert (job.add_roles, job.add_tags) == ([], [])


def test_a_bulk_session_pauses_the_garbage_collector_and_always_restores_it(db):
    import gc
    import weakref

    from friday.core import fastinsert

    class Node:
        me: object

    assert gc.isenabled()
    with fastinsert.bulk_session():
        assert not gc.isenabled()
        with fastinsert.bulk_session():  # nested: the outer session restores it
            assert not gc.isenabled()
        assert not gc.isenabled()
        # a reference cycle a batch leaves behind stays until the collection between batches frees it
        node = Node()
        node.me = node
        ref = weakref.ref(node)
        del node
        for _ in range(10_000):  # plenty to set off an automatic collection, were it on
            [[]]
        assert ref() is not None
        fastinsert.collect_young()
        assert ref() is None
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="disk full"), fastinsert.bulk_session():
        raise RuntimeError("disk full")
    assert gc.isenabled()
