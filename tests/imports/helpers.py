"""Running imports in tests the way the page and the CLI do: upload, settings, run (in this process)."""

from __future__ import annotations

import csv
import io

from friday.accounts.models import User
from friday.imports import services
from friday.imports.models import ImportJob

GOOGLE_HEADER = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "E-mail 2 - Label",
    "E-mail 2 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Address 1 - Label",
    "Address 1 - Formatted",
    "Address 1 - Street",
    "Address 1 - City",
    "Address 1 - PO Box",
    "Address 1 - Region",
    "Address 1 - Postal Code",
    "Address 1 - Country",
    "Address 1 - Extended Address",
]

OUTLOOK_HEADER = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business Street 2",
    "Business Street 3",
    "Business City",
    "Business State",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home Street 2",
    "Home Street 3",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Other Street",
    "Other City",
    "Other State",
    "Other Postal Code",
    "Other Country/Region",
    "Assistant's Phone",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "Anniversary",
    "Birthday",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
    "E-mail 2 Address",
    "E-mail 2 Type",
    "E-mail 2 Display Name",
    "E-mail 3 Address",
    "E-mail 3 Type",
    "E-mail 3 Display Name",
    "Notes",
    "Categories",
    "Web Page",
]


def csv_bytes(header: list[str], rows: list[dict[str, str] | list[str]], *, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


def upload(by: User, content: bytes, filename: str = "contacts.csv") -> ImportJob:
    return services.import_upload(by=by, upload=io.BytesIO(content), filename=filename, size=len(content))


def run(
    by: User,
    content: bytes,
    filename: str = "contacts.csv",
    *,
    dry_run: bool = False,
    match_on: str | None = None,
    on_match: str = "skip",
    mapping: dict[str, str] | None = None,
    date_order: str | None = None,
    roles: list[str] | None = None,
    tags: list[str] | None = None,
) -> ImportJob:
    """Upload, set the options, run to the end; returns the finished job."""
    job = upload(by, content, filename)
    targets = list(job.mapping)
    for header, target in (mapping or {}).items():
        targets[job.headers.index(header)] = target
    job = services.import_configure(
        by=by,
        job=job,
        data=services.Settings(
            mapping=targets,
            match_on=job.match_on if match_on is None else match_on,
            on_match=on_match,
            date_order=date_order or job.date_order,
            source=job.source,
            roles=roles,
            tags=tags,
        ),
    )
    job = services.import_start(by=by, job=job, dry_run=dry_run, enqueue=False)
    done = services.import_run(job_id=job.pk)
    assert done is not None
    return done


def summary(job: ImportJob) -> tuple[int, int, int, int, int]:
    return job.rows_read, job.created, job.updated, job.skipped, job.failed
