"""The feedback API: surveys, requests (the link once), responses scoped by role, the report; bad input by path."""

from __future__ import annotations

from django.test import Client

from friday.feedback.models import FeedbackRequest
from friday.feedback.services import feedback_answer, feedback_request
from tests.conftest import make_person


def test_surveys_list_get_and_update(cast, api_for):
    alice, manager = api_for(cast.alice), api_for(cast.manager)
    body = alice.get("/feedback/surveys").json()
    assert {(s["key"], s["kind"], s["scale_min"], s["scale_max"]) for s in body} == {
        ("nps", "nps", 0, 10),
        ("csat", "csat", 1, 5),
    }
    assert alice.get("/feedback/surveys/nope").status_code == 404
    assert alice.patch("/feedback/surveys/nps", {"valid_days": 5}).status_code == 403
    bad = manager.patch("/feedback/surveys/nps", {"valid_days": 0, "kind": "csat"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"valid_days", "kind"}
    bad = manager.patch("/feedback/surveys/nps", {"question": "q" * 301})
    assert (bad.status_code, bad.json()["field"]) == (422, "question")
    ok = manager.patch("/feedback/surveys/nps", {"valid_days": 5, "active": False})
    assert ok.status_code == 200 and (ok.json()["valid_days"], ok.json()["active"]) == (5, False)


def test_a_request_returns_its_link_once(cast, api_for):
    ada = make_person(cast.alice, "Ada")
    alice = api_for(cast.alice)
    made = alice.post(
        "/feedback/requests", {"survey": "nps", "party_id": ada.pk, "record_type": "job", "record_id": 9}
    )
    assert made.status_code == 201
    body = made.json()
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert body["party"] == {"id": ada.pk, "name": "Ada Lovelace"} and body["record_id"] == 9
    assert Client().get(f"/f/{token}/").status_code == 200
    again = alice.get(f"/feedback/requests/{body['id']}").json()
    assert "url" not in again and again["answered_at"] is None
    assert api_for(cast.bob).get(f"/feedback/requests/{body['id']}").status_code == 404


def test_bad_requests_are_refused_by_field(cast, api_for):
    ada = make_person(cast.alice, "Ada")
    alice = api_for(cast.alice)
    cases = [
        ({"survey": "nope", "party_id": ada.pk}, 422, "survey"),
        ({"survey": "nps", "party_id": 2**70}, 422, "party_id"),
        ({"survey": "nps", "party_id": 0}, 422, "party_id"),
        ({"survey": "nps"}, 422, "party_id"),
        ({"survey": "nps", "party_id": ada.pk, "record_type": "job"}, 422, "record_id"),
        ({"survey": "nps", "party_id": ada.pk, "token_hash": "x"}, 422, "token_hash"),
        ({"survey": "n\x00ps", "party_id": ada.pk}, 422, "survey"),
    ]
    for body, status, field in cases:
        response = alice.post("/feedback/requests", body)
        assert (response.status_code, response.json()["field"]) == (status, field), body
    hidden = api_for(cast.bob).post("/feedback/requests", {"survey": "nps", "party_id": ada.pk})
    assert (hidden.status_code, hidden.json()["field"]) == (404, "party_id")
    assert (
        api_for(cast.reader).post("/feedback/requests", {"survey": "nps", "party_id": ada.pk}).status_code
        == 403
    )
    assert not FeedbackRequest.objects.exists()


def test_responses_are_scoped_and_filtered(cast, api_for, nps, csat):
    ada = make_person(cast.alice, "Ada")
    grace = make_person(cast.bob, "Grace")
    answers = {}
    for party, survey, score in ((ada, nps, 2), (ada, csat, 5), (grace, nps, 10)):
        _, raw = feedback_request(survey=survey, party=party)
        answers[(party.pk, score)] = feedback_answer(token=raw, score=score, comment="c").pk
    alice = api_for(cast.alice)
    items = alice.get("/feedback/responses").json()["items"]
    assert {i["party"]["name"] for i in items} == {"Ada Lovelace"} and len(items) == 2
    assert [i["score"] for i in alice.get("/feedback/responses", category="detractor").json()["items"]] == [2]
    assert [i["kind"] for i in alice.get("/feedback/responses", survey="csat").json()["items"]] == ["csat"]
    assert api_for(cast.manager).get("/feedback/responses", limit=1).json()["next_cursor"]
    assert alice.get(f"/feedback/responses/{answers[(grace.pk, 10)]}").status_code == 404
    assert alice.get(f"/feedback/responses/{answers[(ada.pk, 2)]}").json()["category"] == "detractor"
    for params, field in (
        ({"category": "angry"}, "category"),
        ({"survey": "nope"}, "survey"),
        ({"since": "2026-02-30"}, "since"),
        ({"limit": 0}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
    ):
        response = alice.get("/feedback/responses", **params)
        assert (response.status_code, response.json()["field"]) == (422, field), params


def test_the_report_over_the_api(cast, api_for, nps):
    ada = make_person(cast.alice, "Ada")
    for score in (10, 9, 0):
        _, raw = feedback_request(survey=nps, party=ada)
        feedback_answer(token=raw, score=score)
    body = api_for(cast.alice).get("/feedback/report", survey="nps", period="quarter").json()
    # 2 promoters and 1 detractor of 3: (2 − 1) / 3 = 33.3
    assert (body["total"]["nps"], body["total"]["responses"], body["total"]["csat"]) == (33.3, 3, None)
    assert body["segments"][0]["responses"] == 3 and body["period"] == "quarter"
    alice = api_for(cast.alice)
    for params, field in (
        ({"survey": "nope"}, "survey"),
        ({"period": "week"}, "period"),
        ({"segment_id": 999}, "segment_id"),
        ({"since": "2000-01-01", "until": "2026-01-01"}, "since"),
    ):
        response = alice.get("/feedback/report", **params)
        assert response.json()["field"] == field, params
        assert response.status_code in (404, 422), params


def test_dates_out_of_range_and_nul_bytes_are_refused_not_crashed(cast, api_for):
    manager = api_for(cast.manager)
    for path, params, field in (
        ("/feedback/report", {"until": "9999-12-31", "since": "9999-12-01"}, "since"),
        ("/feedback/responses", {"until": "9999-12-31"}, "until"),
        ("/feedback/responses", {"survey": "n\x00ps"}, "survey"),
    ):
        response = manager.get(path, **params)
        assert (response.status_code, response.json()["field"]) == (422, field), params
    assert manager.get("/feedback/surveys/n%00ps").status_code == 404
    ada = make_person(cast.manager, "Ada")
    response = manager.post(
        "/feedback/requests", {"survey": "nps", "party_id": ada.pk, "record_type": "x" * 17, "record_id": 3}
    )
    assert (response.status_code, response.json()["field"]) == (422, "record_type")
