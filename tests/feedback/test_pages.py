"""The public answer page (no sign-in, clear refusals, rate limits) and the staff pages."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client

from friday.core import clock
from friday.feedback.models import FeedbackRequest, Response
from friday.feedback.services import feedback_answer, feedback_request
from friday.parties.models import Activity
from tests.conftest import make_person


def test_the_link_opens_without_signing_in_and_the_answer_is_recorded(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada, by=cast.alice)
    client = Client()
    page = client.get(f"/f/{raw}/")
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert nps.question in html and html.count('type="radio" name="score"') == 11
    assert 'href="/parties/' not in html  # nothing of the CRM shows
    done = client.post(f"/f/{raw}/", {"score": "4", "comment": "Slow"})
    assert done.status_code == 302 and done["Location"] == "/f/thanks/"
    assert "Thank you" in client.get("/f/thanks/").content.decode()
    assert Response.objects.get().score == 4
    again = client.get(f"/f/{raw}/")
    assert again.status_code == 410 and "already been used" in again.content.decode()


def test_the_csat_page_has_five_buttons(cast, ada, csat):
    _, raw = feedback_request(survey=csat, party=ada)
    assert Client().get(f"/f/{raw}/").content.decode().count('type="radio" name="score"') == 5


def test_a_missing_or_bad_score_is_shown_by_the_field(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    for data, text in (
        ({"comment": "hi"}, "Choose a score from 0 to 10."),
        ({"score": "12"}, "A score is from 0 to 10."),
    ):
        page = Client().post(f"/f/{raw}/", data)
        assert page.status_code == 422 and text in page.content.decode()
        assert 'id="score-error"' in page.content.decode()
    assert not Response.objects.exists()
    assert FeedbackRequest.objects.get().answered_at is None


def test_forged_and_expired_links_get_clear_pages(cast, ada, nps):
    _, raw = feedback_request(survey=nps, party=ada)
    forged = Client().post("/f/" + "x" * 43 + "/", {"score": "9"})
    assert forged.status_code == 404 and "not valid" in forged.content.decode()
    with time_machine.travel(clock.now() + dt.timedelta(days=15)):
        expired = Client().post(f"/f/{raw}/", {"score": "9"})
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert not Response.objects.exists()
    assert not Activity.objects.filter(event="feedback.received").exists()


def test_attempts_are_limited_per_link(cast, ada, nps, settings):
    settings.FRIDAY_FEEDBACK_MAX_PER_TOKEN = 3
    _, raw = feedback_request(survey=nps, party=ada)
    client = Client()
    for _ in range(3):
        assert client.post(f"/f/{raw}/", {"score": "99"}).status_code == 422
    limited = client.post(f"/f/{raw}/", {"score": "9"})
    assert limited.status_code == 429 and "too many attempts" in limited.content.decode().lower()
    assert limited["Retry-After"] == str(settings.FRIDAY_FEEDBACK_WINDOW_SECONDS)
    assert not Response.objects.exists()
    # Another link from elsewhere is not affected; this one works again after the window.
    _, other = feedback_request(survey=nps, party=ada)
    assert Client(REMOTE_ADDR="10.0.0.9").post(f"/f/{other}/", {"score": "9"}).status_code == 302


def test_attempts_are_limited_per_address(cast, ada, nps, settings):
    settings.FRIDAY_FEEDBACK_MAX_PER_IP = 5
    client = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(5):
        assert client.get(f"/f/forged{i}/").status_code == 404
    _, raw = feedback_request(survey=nps, party=ada)
    assert client.get(f"/f/{raw}/").status_code == 429
    assert client.post(f"/f/{raw}/", {"score": "9"}).status_code == 429
    assert not Response.objects.exists()
    assert Client(REMOTE_ADDR="203.0.113.8").get(f"/f/{raw}/").status_code == 200


def test_the_party_page_shows_answers_and_asks_by_hand(cast, ada, nps, web_for):
    _, raw = feedback_request(survey=nps, party=ada)
    feedback_answer(token=raw, score=9, comment="Lovely work")
    alice = web_for(cast.alice)
    page = alice.get(f"/parties/{ada.pk}/").content.decode()
    assert 'id="party-feedback"' in page and "Lovely work" in page and "promoter" in page
    made = alice.post(f"/feedback/ask/{ada.pk}/", {"survey": "csat"})
    assert made.status_code == 201
    link = made.content.decode().split('id="feedback-link">', 1)[1].split("<", 1)[0]
    assert link.startswith("http://") and "/f/" in link
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/f/{token}/").status_code == 200
    # Bob (team Blue) cannot see Ada: asking for her is a 404, and changes nothing.
    assert web_for(cast.bob).post(f"/feedback/ask/{ada.pk}/", {"survey": "nps"}).status_code == 404
    assert web_for(cast.reader).post(f"/feedback/ask/{ada.pk}/", {"survey": "nps"}).status_code == 403
    assert FeedbackRequest.objects.count() == 2


def test_the_answers_list_is_scoped_and_filtered(cast, ada, nps, csat, web_for):
    grace = make_person(cast.bob, "Grace", "Hopper")
    for party, survey, score in ((ada, nps, 2), (ada, csat, 5), (grace, nps, 10)):
        _, raw = feedback_request(survey=survey, party=party)
        feedback_answer(token=raw, score=score, comment=f"{party.display_name} says {score}")
    page = web_for(cast.alice).get("/feedback/responses/").content.decode()
    assert "Ada Lovelace says 2" in page and "Ada Lovelace says 5" in page and "Grace" not in page
    page = web_for(cast.manager).get("/feedback/responses/?category=detractor").content.decode()
    assert page.count("data-response=") == 1 and "Ada Lovelace says 2" in page
    bad = web_for(cast.manager).get("/feedback/responses/?category=angry&since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()


def test_the_answers_list_pages_with_a_cursor(cast, ada, nps, web_for):
    for _ in range(55):
        _, raw = feedback_request(survey=nps, party=ada)
        feedback_answer(token=raw, score=9)
    first = web_for(cast.manager).get("/feedback/responses/?survey=nps").content.decode()
    assert first.count("data-response=") == 50
    cursor = first.split("cursor=", 1)[1].split('"', 1)[0]
    second = web_for(cast.manager).get(f"/feedback/responses/?survey=nps&cursor={cursor}").content.decode()
    assert second.count("data-response=") == 5


def test_survey_settings_are_for_admins_and_managers(cast, nps, web_for):
    assert web_for(cast.alice).get("/feedback/surveys/nps/").status_code == 403
    manager = web_for(cast.manager)
    bad = manager.post(
        "/feedback/surveys/nps/",
        {"name": "NPS", "question": "Would you?", "valid_days": "0", "template_key": "feedback_request"},
    )
    assert bad.status_code == 422
    ok = manager.post(
        "/feedback/surveys/nps/",
        {
            "name": "NPS",
            "question": "Would you?",
            "valid_days": "7",
            "template_key": "feedback_request",
            "active": "on",
        },
    )
    assert ok.status_code == 302
    nps.refresh_from_db()
    assert (nps.question, nps.valid_days) == ("Would you?", 7)
    assert manager.get("/feedback/surveys/nope/").status_code == 404


def test_asking_by_hand_can_email_the_request(cast, ada, nps, web_for):
    from friday.automation import starters
    from friday.messaging.models import OutboundMessage

    alice = web_for(cast.alice)
    # Without the message template (starters not installed) it says what to do, and asks nothing.
    r = alice.post(f"/feedback/ask/{ada.pk}/", {"survey": "nps", "send": "email"}, follow=True)
    assert "does not exist: install the starters" in r.content.decode()
    assert not FeedbackRequest.objects.exists()
    starters.install(by=cast.manager)
    made = alice.post(f"/feedback/ask/{ada.pk}/", {"survey": "nps", "send": "email"})
    page = made.content.decode()
    message = OutboundMessage.objects.get()
    link = page.split('id="feedback-link">', 1)[1].split("<", 1)[0]
    assert made.status_code == 201 and f"on its way to {message.to_email}" in page
    assert message.key == f"feedback:{FeedbackRequest.objects.get().pk}" and link in message.body_text
    # A customer without an email address: the request is made, the page says why no email went.
    bo = make_person(cast.alice, "Bo", "Nomail")
    page = alice.post(f"/feedback/ask/{bo.pk}/", {"survey": "nps", "send": "email"}).content.decode()
    assert "The email was not sent" in page and 'id="feedback-link"' in page
