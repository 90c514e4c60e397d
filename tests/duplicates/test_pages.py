"""The duplicates page and the side-by-side merge page, as users see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from friday.duplicates.models import DuplicatePair
from friday.duplicates.services import duplicates_scan
from friday.parties.models import Activity, Party
from friday.parties.services import AffiliationIn
from tests.conftest import make_org, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(cast):
    acme = make_org(cast.alice, "Acme Ltd")
    ada = make_person(
        cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], affiliations=[AffiliationIn(acme)]
    )
    king = make_person(
        cast.alice,
        "Ada",
        "Lovelase",
        emails=["ada@example.com", "king@example.com"],
        birthday=dt.date(1815, 12, 10),
        affiliations=[
            AffiliationIn(acme),
            AffiliationIn(make_org(cast.alice, "Engines Ltd"), job_title="Analyst"),
        ],
    )
    duplicates_scan(full=True)
    return ada, king


def test_the_list_shows_pairs_with_their_reasons_in_scope(cast, web_for, twins):
    ada, king = twins
    page = web_for(cast.alice).get("/parties/duplicates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Same email ada@example.com" in html and "Similar name (91%) at Acme Ltd" in html
    assert f"?survivor={ada.pk}&amp;other={king.pk}" in html
    assert "1 pair found" in html
    assert 'data-pair="' not in web_for(cast.bob).get("/parties/duplicates/").content.decode()
    assert web_for(cast.alice).get("/parties/duplicates/?reason=vibes").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_scan_now_queues_the_task_and_the_page_waits_for_it(cast, web_for, run_worker):
    client = web_for(cast.alice)
    r = client.post("/parties/duplicates/scan/", {"full": "1"})
    assert r.status_code == 302 and DBTaskResult.objects.count() == 1
    assert r["Location"] == "/parties/duplicates/?after=0"
    assert web_for(cast.reader).post("/parties/duplicates/scan/").status_code == 403
    assert DBTaskResult.objects.count() == 1
    waiting = client.get(r["Location"]).content.decode()
    assert 'id="scan-waiting"' in waiting and 'hx-trigger="every 2s"' in waiting
    run_worker()
    done = client.get(r["Location"]).content.decode()
    assert 'id="scan-waiting"' not in done and "Last full scan" in done


def test_not_a_duplicate_takes_the_pair_off_the_list(cast, web_for, twins):
    pair = DuplicatePair.objects.get()
    client = web_for(cast.alice)
    assert client.post(f"/parties/duplicates/{pair.pk}/dismiss/").status_code == 302
    html = client.get("/parties/duplicates/").content.decode()
    assert "are marked as not duplicates" in html and f'data-pair="{pair.pk}"' not in html
    assert "Put back on the list" in client.get("/parties/duplicates/?dismissed=1").content.decode()
    assert web_for(cast.bob).post(f"/parties/duplicates/{pair.pk}/restore/").status_code == 404


def test_merge_page_shows_both_and_merges_with_the_chosen_values(cast, web_for, twins):
    ada, king = twins
    client = web_for(cast.alice)
    page = client.get(f"/parties/duplicates/merge/?survivor={ada.pk}&other={king.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lovelace" in html and "Lovelase" in html and "10 Dec 1815" in html
    assert '<dd id="works-at">Acme Ltd<br>Engines Ltd (Analyst)</dd>' in html  # both links, each once
    assert "king@example.com" in html and "Timeline entries" in html
    r = client.post(
        "/parties/duplicates/merge/",
        {
            "survivor": ada.pk,
            "other": king.pk,
            "field_family_name": "survivor",
            "field_birthday": "other",
            "primary_email": "king@example.com",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/parties/{ada.pk}/"
    assert not Party.objects.filter(pk=king.pk).exists()
    ada.refresh_from_db()
    assert ada.display_name == "Ada Lovelace" and str(ada.birthday) == "1815-12-10"
    detail = client.get(f"/parties/{ada.pk}/").content.decode()
    assert f"Merged Ada Lovelase (#{king.pk}) into this record" in detail
    assert Activity.objects.filter(party=ada, event="party.merged").count() == 1


def test_merge_page_refusals(cast, web_for, twins):
    ada, king = twins
    client = web_for(cast.alice)
    r = client.post(
        "/parties/duplicates/merge/", {"survivor": ada.pk, "other": king.pk, "field_notes": "mine"}
    )
    assert r.status_code == 422 and "Choose survivor or other, or both." in r.content.decode()
    assert Party.objects.filter(pk=king.pk).exists()
    blue = make_person(cast.bob, "Ada", "Blue")
    assert client.get(f"/parties/duplicates/merge/?survivor={ada.pk}&other={blue.pk}").status_code == 404
    assert client.get(f"/parties/duplicates/merge/?survivor={ada.pk}&other={ada.pk}").status_code == 400
    assert (
        web_for(cast.reader).get(f"/parties/duplicates/merge/?survivor={ada.pk}&other={king.pk}").status_code
        == 403
    )
    acme = Party.objects.get(display_name="Acme Ltd")
    page = client.get(f"/parties/duplicates/merge/?survivor={ada.pk}&other={acme.pk}")
    assert "cannot be merged" in page.content.decode()
