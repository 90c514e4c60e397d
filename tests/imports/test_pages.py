"""The import pages and the worker: upload, preview, run in the background, summary, failed rows, undo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from friday.imports.models import ImportJob, ImportStatus
from friday.parties.models import Party
from tests.imports.helpers import GOOGLE_HEADER, csv_bytes, run

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "First Name": "Ada",
        "Last Name": "Lovelace",
        "E-mail 1 - Value": "ada@example.com",
        "Phone 1 - Value": "07911 123456",
    },
    {
        "First Name": "Grace",
        "Last Name": "Hopper",
        "E-mail 1 - Value": "grace@example",
        "Birthday": "1906-12-09",
    },
    {"Organization Name": "Acme Ltd", "E-mail 1 - Value": "hello@acme.example"},
]


def _upload(client, content: bytes, name: str = "google.csv"):
    return client.post(
        "/imports/upload/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    )


@pytest.mark.django_db(transaction=True)
def test_upload_preview_run_in_the_worker_summary_and_undo(cast, web_for, run_worker):
    client = web_for(cast.alice)
    response = _upload(client, csv_bytes(GOOGLE_HEADER, ROWS))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "recognised as an export from <strong>Google Contacts</strong>" in page
    assert 'data-row="2" class="outcome-create"' in page
    assert 'data-row="3" class="outcome-fail"' in page
    assert "&#x27;grace@example&#x27; is not a valid email address" in page
    assert Party.objects.count() == 0  # the preview writes nothing

    form = {f"col-{i}": target for i, target in enumerate(job.mapping)}
    form.update(
        {"match_on": "email", "on_match": "skip", "date_order": "dmy", "source": "google", "then": "run"}
    )
    response = client.post(f"/imports/{job.pk}/configure/", form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    progress = client.get(f"/imports/{job.pk}/progress/?was=queued").content.decode()
    assert 'hx-trigger="every 1s"' in progress
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created, job.failed) == (ImportStatus.DONE, 3, 2, 1)
    response = client.get(f"/imports/{job.pk}/progress/?was=running")
    assert response["HX-Refresh"] == "true"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-count="created">2<' in page and 'data-count="failed">1<' in page
    assert f'href="/imports/{job.pk}/failed-rows.csv"' in page
    assert Party.objects.filter(owner=cast.alice).count() == 2

    response = client.post(f"/imports/{job.pk}/undo/")
    assert response.status_code == 302
    run_worker()
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert Party.objects.count() == 0
    assert "2 records deleted" in client.get(f"/imports/{job.pk}/").content.decode()


def test_bad_files_are_refused_on_the_page_with_the_reason(cast, web_for):
    client = web_for(cast.alice)
    response = _upload(client, b"")
    assert response.status_code == 422
    assert "The file is empty" in response.content.decode()
    response = _upload(client, b"Name,Email\r\n")
    assert response.status_code == 422
    assert "but no rows under it" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_mapping_mistakes_are_shown_and_nothing_runs(cast, web_for):
    client = web_for(cast.alice)
    _upload(client, csv_bytes(GOOGLE_HEADER, ROWS))
    job = ImportJob.objects.get()
    form = {f"col-{i}": "" for i in range(len(job.headers))}
    form.update(
        {"match_on": "email", "on_match": "skip", "date_order": "dmy", "source": "google", "then": "run"}
    )
    form["col-0"] = form["col-2"] = "given_name"
    response = client.post(f"/imports/{job.pk}/configure/", form)
    assert response.status_code == 422
    text = response.content.decode()
    assert "Given name is already imported from column &#x27;First Name&#x27;" in text
    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_the_page_gives_every_row_roles_and_tags_and_shows_them(cast, web_for):
    client = web_for(cast.alice)
    _upload(client, csv_bytes(GOOGLE_HEADER, ROWS))
    job = ImportJob.objects.get()
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'name="add_role" value="customer"' in page and 'id="add-tags"' in page
    form = {f"col-{i}": target for i, target in enumerate(job.mapping)}
    form.update({"match_on": "email", "on_match": "skip", "date_order": "dmy", "source": "google"})
    form.update({"every_row": "1", "add_role": ["customer", "partner"], "add_tags": "Spring fair; =bad"})
    response = client.post(f"/imports/{job.pk}/configure/", form)
    assert response.status_code == 422  # a bad tag: nothing changes, the page says which
    assert "&#x27;=bad&#x27; is not a tag" in response.content.decode()
    job.refresh_from_db()
    assert (job.add_roles, job.add_tags) == ([], [])
    form["add_tags"] = "Spring fair, Newsletter"
    response = client.post(f"/imports/{job.pk}/configure/", form)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="customer" checked' in text and 'value="Spring fair, Newsletter"' in text
    assert "ada@example.com · +447911123456 · customer · partner · #Spring fair · #Newsletter" in text
    job.refresh_from_db()
    assert (job.add_roles, job.add_tags) == (["customer", "partner"], ["Spring fair", "Newsletter"])
    # A post without the form's "every row" part (an older page) leaves them as they are.
    del form["every_row"], form["add_role"], form["add_tags"]
    assert client.post(f"/imports/{job.pk}/configure/", form).status_code == 200
    job.refresh_from_db()
    assert job.add_roles == ["customer", "partner"]
    form.update({"every_row": "1", "add_tags": "", "then": "run"})
    client.post(f"/imports/{job.pk}/configure/", form)
    job.refresh_from_db()
    assert (job.status, job.add_roles, job.add_tags) == (ImportStatus.QUEUED, [], [])


def test_saved_mapping_is_reused_for_the_next_file(cast, web_for):
    client = web_for(cast.alice)
    _upload(client, b"Nom,Courriel\r\nAda Lovelace,ada@example.com\r\n", "a.csv")
    job = ImportJob.objects.get()
    form = {
        "col-0": "full_name",
        "col-1": "email",
        "match_on": "email",
        "on_match": "skip",
        "date_order": "dmy",
        "source": "file",
        "then": "",
    }
    assert client.post(f"/imports/{job.pk}/configure/", form).status_code == 200
    client.post(f"/imports/{job.pk}/mapping/save/", {"name": "French list"})
    from friday.imports.models import ImportMapping

    saved = ImportMapping.objects.get(name="French list")
    assert saved.columns == {"nom": "full_name", "courriel": "email"}
    client.post(
        "/imports/upload/",
        {
            "file": SimpleUploadedFile("b.csv", b"Courriel,Nom\r\ng@example.com,Grace\r\n"),
            "mapping": saved.pk,
        },
    )
    second = ImportJob.objects.latest("id")
    assert second.mapping == ["email", "full_name"]

    # Not chosen: a saved mapping made for files like this one is used, and the page says which.
    response = client.post(
        "/imports/upload/",
        {"file": SimpleUploadedFile("c.csv", b"Nom,Courriel,Notes\r\nGrace,g@example.com,x\r\n")},
    )
    third = ImportJob.objects.latest("id")
    assert (third.mapping, third.saved_mapping) == (["full_name", "email", "notes"], saved)
    page = client.get(response["Location"]).content.decode()
    assert "columns as in your saved mapping <strong>French list</strong>" in page
    # A file it does not fit (a column it names is missing) is recognised as usual.
    client.post(
        "/imports/upload/", {"file": SimpleUploadedFile("d.csv", b"Nom,Email\r\nGrace,g@example.com\r\n")}
    )
    fourth = ImportJob.objects.latest("id")
    assert (fourth.mapping, fourth.saved_mapping) == (["family_name", "email"], None)


def test_read_only_users_and_other_teams(cast, web_for):
    response = _upload(web_for(cast.reader), b"Name\r\nAda\r\n")
    assert response.status_code == 403
    _upload(web_for(cast.alice), csv_bytes(GOOGLE_HEADER, ROWS))
    job = ImportJob.objects.get()
    assert web_for(cast.bob).get(f"/imports/{job.pk}/").status_code == 404
    assert web_for(cast.manager).get(f"/imports/{job.pk}/").status_code == 200
    assert web_for(cast.bob).get(f"/imports/{job.pk}/failed-rows.csv").status_code == 404


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_friday_worker_process_runs_a_queued_import(cast, tmp_path):
    from friday.imports import services
    from tests.imports.helpers import upload

    rows = [[f"Person {i}", f"p{i}@example.com"] for i in range(1500)]
    job = upload(cast.admin, csv_bytes(["Name", "Email"], rows))
    services.import_start(by=cast.admin, job=job, dry_run=False)
    env = {
        **os.environ,
        "FRIDAY_DATABASE_URL": _database_url(),
        "FRIDAY_DATA_DIR": str(settings.DATA_DIR),
    }
    friday = Path(sys.executable).parent / "friday"
    done = subprocess.run(
        [str(friday), "worker", "--batch", "--no-scheduler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created) == (ImportStatus.DONE, 1500, 1500)
    assert Party.objects.count() == 1500


@pytest.mark.django_db(transaction=True)
def test_cli_imports_a_file_and_undoes_it(cast, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"Name,Email\r\nAda Lovelace,ada@example.com\r\nBad,nope\r\n")
    env = {**os.environ, "FRIDAY_DATABASE_URL": _database_url(), "FRIDAY_DATA_DIR": str(settings.DATA_DIR)}
    friday = Path(sys.executable).parent / "friday"
    out = subprocess.run(
        [
            *(
                str(friday),
                "import",
                str(path),
                "--user",
                "alice",
                "--match",
                "email",
                "--on-match",
                "update",
            ),
            *("--role", "customer", "--tag", "Spring fair", "--tag", "Newsletter"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "2 rows read: 1 created, 0 updated, 0 skipped (0 empty), 1 failed." in " ".join(out.stdout.split())
    assert "row 3: Email: 'nope' is not a valid email address" in " ".join(out.stdout.split())
    job = ImportJob.objects.get()
    assert job.origin == "cli"
    assert (job.add_roles, job.add_tags) == (["customer"], ["Spring fair", "Newsletter"])
    ada = Party.objects.get()
    assert list(ada.roles.values_list("role", flat=True)) == ["customer"]
    assert sorted(ada.party_tags.values_list("tag__name", flat=True)) == ["Newsletter", "Spring fair"]
    out = subprocess.run(
        [str(friday), "import", "--undo", str(job.pk), "--user", "alice"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert Party.objects.count() == 0


def test_an_import_never_run_can_be_discarded_with_its_file(
    cast, web_for, django_capture_on_commit_callbacks
):
    client = web_for(cast.alice)
    _upload(client, csv_bytes(["Name", "Email"], [["Ada", "ada@example.com"]]))
    job = ImportJob.objects.get()
    stored = job.file.path
    assert 'id="discard"' in client.get(f"/imports/{job.pk}/").content.decode()
    assert web_for(cast.reader).post(f"/imports/{job.pk}/discard/").status_code in (403, 404)
    assert web_for(cast.manager).post(f"/imports/{job.pk}/discard/").status_code == 403  # not theirs
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the deletion is committed
        response = client.post(f"/imports/{job.pk}/discard/")
    assert response.status_code == 302 and response["Location"] == "/imports/"
    assert not ImportJob.objects.exists() and not os.path.exists(stored)

    # One that has run is not a draft: it is undone, not discarded.
    job = run(cast.alice, csv_bytes(["Name", "Email"], [["Ada", "ada@example.com"]]))
    assert client.post(f"/imports/{job.pk}/discard/").status_code == 409
    assert ImportJob.objects.filter(pk=job.pk).exists()
