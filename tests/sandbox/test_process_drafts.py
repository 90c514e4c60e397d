"""Process drafts in the sandbox: the review shows the draft's lint, what changes and exactly which records it
would strand; publishing stays one explicit step, kept in the history with who, when and the note."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
import yaml

from friday.core import clock
from friday.core.errors import FridayError, PermissionDenied
from friday.processes import services
from friday.processes.models import PartyStage, ProcessVersion
from friday.processes.sandbox import draft_review
from tests.conftest import make_person


def at(*args):
    return dt.datetime(*args, tzinfo=clock.business_tz())


NOW = at(2026, 6, 1, 12, 0)


def draft_source(process) -> str:
    """The lifecycle with `lapsed` replaced by `dormant` (same name "Lapsed"), Prospect renamed "Lead", the
    suspect time limit cut from 30 to 10 days."""
    data = yaml.safe_load(process.current.source)
    stages = []
    for s in data["stages"]:
        if s["key"] == "lapsed":
            s = {**s, "key": "dormant"}
        if s["key"] == "prospect":
            s = {**s, "name": "Lead"}
        if s["key"] == "suspect":
            s = {**s, "time_limit_days": 10}
        stages.append(s)
    data["stages"] = stages
    data["transitions"] = [
        {k: ("dormant" if v == "lapsed" else v) for k, v in t.items()} for t in data["transitions"]
    ]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def populated(cast, lifecycle):
    """Six parties on version 1: three suspects (one for 20 days), two prospects, one lapsed."""
    people = {}
    with time_machine.travel(NOW, tick=False):
        for name, stage, days_ago in (
            ("Sue", "suspect", 20),
            ("Sam", "suspect", 2),
            ("Sid", "suspect", 2),
            ("Pat", "prospect", 3),
            ("Pia", "prospect", 4),
            ("Lou", "lapsed", 100),
        ):
            party = make_person(cast.admin, name, "Test", emails=[f"{name.lower()}@example.com"])
            services.stage_move(
                by=cast.admin,
                record_type="party",
                record=party,
                to=stage,
                override=stage != "suspect",
                reason="Set up for the test",
                at=NOW - dt.timedelta(days=days_ago),
            )
            people[name] = party
    return people


def test_the_review_lists_exactly_the_records_a_draft_strands(cast, lifecycle, populated):
    # given a draft that removes "lapsed" (adding "dormant", named Lapsed), renames Prospect, cuts a limit
    assert PartyStage.objects.count() == 6
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    lifecycle.refresh_from_db()
    # when
    with time_machine.travel(NOW, tick=False):
        review = draft_review(lifecycle, user=cast.admin)
    # then: the diff
    assert [s.key for s in review.added] == ["dormant"] and [s.key for s in review.removed] == ["lapsed"]
    assert {c.key: c.changes for c in review.changed} == {"suspect": ["time limit"], "prospect": ["renamed"]}
    removed_steps = {(t.source, t.target) for t in review.transitions_removed}
    assert removed_steps == {
        ("customer", "lapsed"),
        ("repeat_customer", "lapsed"),
        ("lapsed", "customer"),
        ("lapsed", "closed"),
    }
    assert len(review.transitions_added) == 4 and review.initial_changed is None
    # and the records: per stage, the fate, the suggested target, and the stranded one by name
    rows = {a.stage.key: a for a in review.affected}
    assert {k: (a.count, a.fate) for k, a in rows.items()} == {
        "suspect": (3, "stays"),
        "prospect": (2, "renamed"),
        "lapsed": (1, "stranded"),
    }
    assert rows["suspect"].over_new_limit == 1  # Sue, 20 days in a stage now limited to 10
    assert rows["lapsed"].target is not None and rows["lapsed"].target.key == "dormant"
    lou = populated["Lou"]
    assert rows["lapsed"].records == [(lou.pk, "Lou Test", f"/parties/{lou.pk}/")]
    assert [r[1] for r in rows["prospect"].records] == ["Pia Test", "Pat Test"]  # oldest in the stage first
    assert rows["suspect"].records == []  # they stay: not listed
    assert review.stranded == 1 and review.on_version == 6 and review.errors == 0
    assert review.suggested_map == {"suspect": "suspect", "prospect": "prospect", "lapsed": "dormant"}
    # nothing moved: the draft is only a draft
    assert PartyStage.objects.filter(stage="lapsed", party=lou).exists()


def test_publishing_from_the_review_is_recorded_and_moves_nobody_until_migrated(
    cast, lifecycle, populated, web_for
):
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    web = web_for(cast.manager)
    page = web.get(f"/processes/{lifecycle.key}/draft/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-stage="lapsed" data-fate="stranded" data-count="1"' in html
    assert (
        f'<li data-id="{populated["Lou"].pk}"><a href="/parties/{populated["Lou"].pk}/">Lou Test</a>' in html
    )
    # when the manager publishes with a note
    response = web.post(
        f"/processes/{lifecycle.key}/draft/act/", {"action": "publish", "note": "Lapsed becomes dormant"}
    )
    # then version 2 is recorded with who and why; every record is still on version 1
    assert response.status_code == 302
    v2 = ProcessVersion.objects.get(process=lifecycle, number=2)
    assert (v2.published_by, v2.note) == (cast.manager, "Lapsed becomes dormant")
    assert set(PartyStage.objects.values_list("stage_version__number", flat=True)) == {1}
    detail = web.get(f"/processes/{lifecycle.key}/").content.decode()
    assert "v2 ·" in detail and "by Manager" in detail and "Lapsed becomes dormant" in detail
    # and the migration the review suggested moves them all
    migration = services.process_migrate(
        by=cast.manager,
        process=lifecycle,
        from_version=ProcessVersion.objects.get(process=lifecycle, number=1),
        stage_map={"lapsed": "dormant"},
    )
    assert migration.records == 6
    assert PartyStage.objects.get(party=populated["Lou"]).stage == "dormant"


def test_only_process_editors_review_publish_or_discard(cast, lifecycle, web_for):
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    alice = web_for(cast.alice)
    assert alice.get(f"/processes/{lifecycle.key}/draft/").status_code == 403
    assert alice.post(f"/processes/{lifecycle.key}/draft/act/", {"action": "publish"}).status_code == 403
    assert alice.post(f"/processes/{lifecycle.key}/draft/act/", {"action": "discard"}).status_code == 403
    assert alice.get("/sandbox/").status_code == 403
    with pytest.raises(PermissionDenied):
        services.process_publish(by=cast.alice, process=lifecycle)
    lifecycle.refresh_from_db()
    assert lifecycle.draft and lifecycle.versions.count() == 1


def test_bad_input_on_the_review(cast, lifecycle, web_for):
    web = web_for(cast.admin)
    # no draft: the review sends you to the process; the action refuses
    assert web.get(f"/processes/{lifecycle.key}/draft/").status_code == 302
    with pytest.raises(FridayError) as exc:
        draft_review(lifecycle, user=cast.admin)
    assert exc.value.code == "process.no_draft"
    assert web.get("/processes/no_such_process/draft/").status_code == 404
    # an unfinished draft that does not read: the review shows why, and publishing is refused
    services.process_draft_save(by=cast.admin, process=lifecycle, source="process: [", unfinished=True)
    lifecycle.refresh_from_db()
    review = draft_review(lifecycle, user=cast.admin)
    assert review.definition is None and review.errors >= 1 and review.affected == []
    page = web.get(f"/processes/{lifecycle.key}/draft/")
    assert page.status_code == 200 and 'id="draft-read-errors"' in page.content.decode()
    web.post(f"/processes/{lifecycle.key}/draft/act/", {"action": "publish"})
    assert lifecycle.versions.count() == 1
    # an unknown action and a note too long change nothing
    web.post(f"/processes/{lifecycle.key}/draft/act/", {"action": "explode"})
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    web.post(f"/processes/{lifecycle.key}/draft/act/", {"action": "publish", "note": "x" * 201})
    assert lifecycle.versions.count() == 1
    # discarding from the sandbox goes back there (and only to a local page)
    response = web.post(
        f"/processes/{lifecycle.key}/draft/act/", {"action": "discard", "next": "https://evil.example.com/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/processes/{lifecycle.key}/"
    lifecycle.refresh_from_db()
    assert lifecycle.draft == ""


def test_the_review_over_the_api_and_the_sandbox_lists_the_draft(
    cast, lifecycle, populated, api_for, web_for
):
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    api = api_for(cast.manager)
    with time_machine.travel(NOW, tick=False):
        r = api.get(f"/processes/{lifecycle.key}/draft/review")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["ok"], body["added"], body["removed"], body["stranded"]) == (
        True,
        ["dormant"],
        ["lapsed"],
        1,
    )
    assert {"source": "lapsed", "target": "closed", "label": ""} in body["steps_removed"]
    lapsed = next(a for a in body["affected"] if a["stage"] == "lapsed")
    assert lapsed == {
        "stage": "lapsed",
        "count": 1,
        "fate": "stranded",
        "target": "dormant",
        "over_new_limit": 0,
        "record_ids": [populated["Lou"].pk],
    }
    assert api_for(cast.alice).get(f"/processes/{lifecycle.key}/draft/review").status_code == 403
    # the sandbox page lists it with its counts; publishing from there comes back there
    web = web_for(cast.manager)
    html = web.get("/sandbox/").content.decode()
    assert f'data-process="{lifecycle.key}" data-errors="0" data-stranded="1"' in html
    response = web.post(
        f"/processes/{lifecycle.key}/draft/act/",
        {"action": "publish", "next": "/sandbox/", "note": "From the sandbox"},
    )
    assert response["Location"] == "/sandbox/"
    assert "No process draft." in web.get("/sandbox/").content.decode()
    assert ProcessVersion.objects.get(process=lifecycle, number=2).note == "From the sandbox"


def test_going_live_can_move_the_records_in_the_same_step_or_not_at_all(cast, lifecycle, populated, web_for):
    services.process_draft_save(by=cast.admin, process=lifecycle, source=draft_source(lifecycle))
    web = web_for(cast.manager)
    url = f"/processes/{lifecycle.key}/draft/act/"
    # the stranded stage left unmapped: refused, and nothing is published either
    web.post(url, {"action": "publish", "move": "1", "map_lapsed": ""})
    assert lifecycle.versions.count() == 1
    assert set(PartyStage.objects.values_list("stage_version__number", flat=True)) == {1}
    # a stage the new version does not have: refused too
    web.post(url, {"action": "publish", "move": "1", "map_lapsed": "nowhere"})
    assert lifecycle.versions.count() == 1
    # mapped: version 2, and all six records on it, Lou on "dormant", in one step
    web.post(url, {"action": "publish", "move": "1", "map_lapsed": "dormant", "note": "One step"})
    assert lifecycle.versions.count() == 2
    stages = dict(PartyStage.objects.values_list("party__given_name", "stage"))
    assert stages == {
        "Sue": "suspect",
        "Sam": "suspect",
        "Sid": "suspect",
        "Pat": "prospect",
        "Pia": "prospect",
        "Lou": "dormant",
    }
    assert set(PartyStage.objects.values_list("stage_version__number", flat=True)) == {2}
    migration = lifecycle.migrations.get()
    assert (migration.records, migration.by, migration.stage_map["lapsed"]) == (6, cast.manager, "dormant")
