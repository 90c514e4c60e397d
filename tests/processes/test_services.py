"""Terms, publishing, versions and migration, and stage_move's enforcement — through the services."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.core.management import CommandError, call_command

from friday.core.errors import Conflict, FridayError, PermissionDenied, ValidationFailed
from friday.core.models import DomainEvent
from friday.parties.models import Activity
from friday.processes.definition import dump, load
from friday.processes.models import PartyStage, Process, ProcessMigration, StageChange, Term
from friday.processes.services import (
    MoveRefused,
    process_create,
    process_draft_save,
    process_import,
    process_migrate,
    process_publish,
    stage_move,
    term_delete,
    term_save,
)
from friday.processes.templates import starter_text
from tests.conftest import make_person


def _counts() -> tuple[int, int, int, int]:
    return (
        StageChange.objects.count(),
        PartyStage.objects.count(),
        Activity.objects.filter(event="stage.moved").count(),
        DomainEvent.objects.filter(name="party.stage_entered").count(),
    )


def test_a_term_needs_a_definition_and_a_unique_name(cast):
    with pytest.raises(ValidationFailed) as exc:
        term_save(by=cast.admin, name="Callout", definition="  ")
    assert exc.value.errors[0].field == "definition"
    term = term_save(
        by=cast.admin, name="Callout", definition="A visit within 4 hours.", examples="Burst pipe"
    )
    with pytest.raises(ValidationFailed) as exc:
        term_save(by=cast.admin, name="callout", definition="Other")
    assert exc.value.errors[0].code == "term.duplicate"
    with pytest.raises(PermissionDenied):
        term_save(by=cast.alice, name="Visit", definition="x")
    term_save(by=cast.manager, term=term, name="Callout", definition="A visit within two hours.")
    term.refresh_from_db()
    assert term.definition == "A visit within two hours."


def test_publishing_a_lifecycle_writes_its_stages_to_the_glossary(lifecycle, cast):
    assert lifecycle.current.number == 1
    terms = {t.name: t for t in Term.objects.filter(is_stage=True)}
    assert "Repeat customer" in terms
    assert terms["Qualified"].definition.startswith("They have the need")
    # Importing the same file again makes no new version.
    process, version = process_import(by=cast.admin, source=starter_text("lifecycle"))
    assert version is None and process.current.number == 1
    # A second lifecycle is refused: a party is in one lifecycle.
    other = starter_text("lifecycle").replace("process: customer_lifecycle", "process: other_life")
    with pytest.raises(Conflict):
        process_import(by=cast.admin, source=other)


def test_a_stage_can_take_its_definition_from_the_glossary_but_not_from_nowhere(cast):
    source = starter_text("sales").replace(
        "  definition: The written quote has been sent, with its value.\n", ""
    )
    process = process_create(by=cast.admin, source=source)
    with pytest.raises(ValidationFailed) as exc:
        process_publish(by=cast.admin, process=process)
    assert {(e.code, e.field) for e in exc.value.errors} == {("lint.stage.no_definition", "quoted")}
    assert not process.versions.exists()
    term_save(by=cast.admin, name="Quoted", definition="A written quote was sent.")
    assert process_publish(by=cast.admin, process=process).number == 1


def test_publish_refuses_requirements_the_record_type_does_not_have(cast):
    source = starter_text("sales").replace("requires: [value]", "requires: [value, colour]")
    process = process_create(by=cast.admin, source=source)
    with pytest.raises(ValidationFailed) as exc:
        process_publish(by=cast.admin, process=process)
    assert exc.value.errors[0].code == "lint.field.unknown"
    assert "colour" in exc.value.errors[0].detail


def test_drafts_do_not_touch_records_and_bad_drafts_are_refused_whole(lifecycle, cast):
    party = make_person(cast.alice)
    stage_move(by=cast.alice, record_type="party", record=party, to="suspect")
    with pytest.raises(ValidationFailed) as exc:
        process_draft_save(by=cast.admin, process=lifecycle, source="process: customer_lifecycle\nstages: [")
    assert exc.value.errors[0].extra["line"] is not None
    with pytest.raises(ValidationFailed) as exc:
        process_draft_save(by=cast.admin, process=lifecycle, source=starter_text("sales"))
    assert {e.field for e in exc.value.errors} == {"process", "applies_to"}
    lifecycle.refresh_from_db()
    assert lifecycle.draft == ""
    edited = starter_text("lifecycle").replace("name: Suspect", "name: Lead")
    process_draft_save(by=cast.admin, process=lifecycle, source=edited)
    lifecycle.refresh_from_db()
    assert lifecycle.current.number == 1 and "name: Lead" in lifecycle.draft
    assert PartyStage.objects.get(party=party).stage_version_id == lifecycle.current_id


def test_undeclared_move_is_refused_with_the_allowed_stages_and_nothing_written(lifecycle, cast):
    party = make_person(cast.alice)
    stage_move(by=cast.alice, record_type="party", record=party, to="suspect")
    before = _counts()
    with pytest.raises(MoveRefused) as exc:
        stage_move(by=cast.alice, record_type="party", record=party, to="repeat_customer")
    assert exc.value.status == 422
    assert [a["key"] for a in exc.value.extra["allowed"]] == ["prospect", "not_a_fit"]
    assert "Suspect → Repeat customer is not a step" in exc.value.detail
    assert _counts() == before
    with pytest.raises(ValidationFailed) as exc:
        stage_move(by=cast.alice, record_type="party", record=party, to="nowhere")
    assert exc.value.errors[0].code == "stage.unknown"


def test_a_party_enters_the_lifecycle_at_its_initial_stage(lifecycle, cast):
    party = make_person(cast.alice)
    with pytest.raises(MoveRefused) as exc:
        stage_move(by=cast.alice, record_type="party", record=party, to="customer")
    assert [a["key"] for a in exc.value.extra["allowed"]] == ["suspect"]
    change = stage_move(by=cast.alice, record_type="party", record=party, to="suspect")
    assert change.from_stage == "" and change.declared


def test_missing_requirements_are_listed_by_field(lifecycle, cast):
    party = make_person(cast.alice)
    stage_move(by=cast.alice, record_type="party", record=party, to="suspect")
    with pytest.raises(ValidationFailed) as exc:
        stage_move(by=cast.alice, record_type="party", record=party, to="prospect")
    assert [(e.field, e.code) for e in exc.value.errors] == [("email_or_phone", "stage.requirement")]
    assert "an email address or a phone number" in exc.value.errors[0].detail
    from friday.parties.services import email_add

    email_add(by=cast.alice, party=party, address="ada@example.com")
    stage_move(by=cast.alice, record_type="party", record=party, to="prospect")
    with pytest.raises(ValidationFailed) as exc:
        stage_move(
            by=cast.alice, record_type="party", record=party, to="qualified", checked=["Need confirmed"]
        )
    assert [e.field for e in exc.value.errors] == ["checklist.1", "checklist.2"]
    with pytest.raises(ValidationFailed) as exc:
        stage_move(by=cast.alice, record_type="party", record=party, to="qualified", checked=["Bribe paid"])
    assert exc.value.errors[0].code == "stage.unknown_check"
    change = stage_move(
        by=cast.alice,
        record_type="party",
        record=party,
        to="qualified",
        checked=["Need confirmed", "Budget confirmed", "Decision maker known"],
    )
    assert change.checked == ["Need confirmed", "Budget confirmed", "Decision maker known"]


def test_override_needs_the_permission_and_a_reason_and_is_recorded(lifecycle, cast):
    party = make_person(cast.alice)
    stage_move(by=cast.alice, record_type="party", record=party, to="suspect")
    with pytest.raises(PermissionDenied):
        stage_move(by=cast.alice, record_type="party", record=party, to="customer", override=True, reason="x")
    with pytest.raises(ValidationFailed) as exc:
        stage_move(by=cast.admin, record_type="party", record=party, to="customer", override=True)
    assert exc.value.errors[0].field == "reason"
    cast.alice.may_override_process = True
    cast.alice.save()
    change = stage_move(
        by=cast.alice,
        record_type="party",
        record=party,
        to="customer",
        override=True,
        reason="Paid on the day",
    )
    assert change.overridden and not change.declared and change.reason == "Paid on the day"
    entry = Activity.objects.get(event="stage.moved", data__stage_change_id=change.pk)
    assert entry.subject == "Suspect → Customer (process overridden)"
    event = DomainEvent.objects.get(name="party.stage_entered", payload__stage_change_id=change.pk)
    assert event.payload["stage"] == "customer" and event.payload["overridden"] is True
    first = StageChange.objects.get(record_id=party.pk, to_stage="suspect")
    assert (
        first.next_stage == "customer" and first.seconds_in_stage is not None and first.left_at == change.at
    )


def test_moves_respect_scope_and_read_only(lifecycle, cast):
    party = make_person(cast.alice)
    from friday.core.errors import NotFound

    with pytest.raises(NotFound):
        stage_move(by=cast.bob, record_type="party", record=party, to="suspect")
    with pytest.raises(PermissionDenied):
        stage_move(by=cast.reader, record_type="party", record=party, to="suspect")
    with pytest.raises(FridayError):
        stage_move(by=cast.alice, record_type="robot", record=party, to="suspect")


def test_backward_moves_are_flagged(lifecycle, cast):
    party = make_person(cast.alice, emails=["a@example.com"])
    for to in ("suspect", "prospect"):
        stage_move(by=cast.alice, record_type="party", record=party, to=to)
    change = stage_move(
        by=cast.admin, record_type="party", record=party, to="suspect", override=True, reason="oops"
    )
    assert change.backward and change.overridden


def test_version_migration_keeps_every_record_and_its_history(lifecycle, cast):
    parties = [make_person(cast.alice, given=f"P{i}", emails=[f"p{i}@example.com"]) for i in range(4)]
    for p in parties:
        stage_move(by=cast.alice, record_type="party", record=p, to="suspect")
    for p in parties[:2]:
        stage_move(by=cast.alice, record_type="party", record=p, to="prospect")
    history_before = list(StageChange.objects.order_by("pk").values())
    v1 = lifecycle.current
    # v2 merges suspect and prospect into one stage "lead".
    definition = load(starter_text("lifecycle"))
    text = dump(definition).replace("key: suspect", "key: lead").replace("initial: suspect", "initial: lead")
    text = text.replace("from: suspect", "from: lead").replace("to: suspect", "to: lead")
    process_draft_save(by=cast.admin, process=lifecycle, source=text)
    v2 = process_publish(by=cast.admin, process=lifecycle, note="Suspect is now Lead")
    assert v2.number == 2
    # Still on v1 until migrated: moves follow v1.
    assert set(PartyStage.objects.values_list("stage_version_id", flat=True)) == {v1.pk}
    with pytest.raises(ValidationFailed) as exc:
        process_migrate(by=cast.admin, process=lifecycle, from_version=v1, stage_map={})
    assert [e.field for e in exc.value.errors] == ["stage_map.suspect"]
    with pytest.raises(ValidationFailed):
        process_migrate(by=cast.admin, process=lifecycle, from_version=v1, stage_map={"suspect": "nope"})
    migration = process_migrate(
        by=cast.admin, process=lifecycle, from_version=v1, stage_map={"suspect": "lead"}
    )
    assert migration.records == 4
    assert migration.stage_map == {"prospect": "prospect", "suspect": "lead"}
    assert sorted(PartyStage.objects.values_list("stage", flat=True)) == [
        "lead",
        "lead",
        "prospect",
        "prospect",
    ]
    assert set(PartyStage.objects.values_list("stage_version_id", flat=True)) == {v2.pk}
    assert list(StageChange.objects.order_by("pk").values()) == history_before
    assert ProcessMigration.objects.count() == 1
    # The next move follows v2 and closes the open history row.
    change = stage_move(by=cast.alice, record_type="party", record=parties[3], to="prospect")
    assert change.version_id == v2.pk and change.from_stage == "lead"


def test_a_term_a_stage_relies_on_cannot_be_deleted(cast):
    term_save(by=cast.admin, name="Quoted", definition="A written quote was sent.")
    source = starter_text("sales").replace(
        "  definition: The written quote has been sent, with its value.\n", ""
    )
    process_import(by=cast.admin, source=source)
    with pytest.raises(Conflict):
        term_delete(by=cast.admin, term=Term.objects.get(name="Quoted"))


def test_a_lifecycle_stage_is_worded_in_its_process_not_the_glossary(lifecycle, cast):
    term = Term.objects.get(name="Prospect")
    with pytest.raises(Conflict) as exc:
        term_save(by=cast.admin, term=term, name="Prospect", definition="Anyone at all.")
    assert exc.value.code == "term.owned_by_process" and exc.value.field == "definition"
    assert "Customer lifecycle" in exc.value.detail
    # Examples are the glossary's own.
    term_save(
        by=cast.admin, term=term, name="Prospect", definition=term.definition, examples="Called about a leak"
    )
    term.refresh_from_db()
    assert term.examples == "Called about a leak" and term.is_stage
    with pytest.raises(Conflict) as exc:
        term_delete(by=cast.admin, term=term)
    assert exc.value.code == "term.owned_by_process"
    # "A lifecycle stage" is what the lifecycle says: a stage removed from it is no longer one.
    hot = term_save(by=cast.admin, name="Hot lead", definition="Asked for a quote this week.")
    assert not hot.is_stage
    smaller = starter_text("lifecycle").replace("name: Repeat customer", "name: Loyal customer")
    process_import(by=cast.admin, source=smaller)
    assert (
        not Term.objects.get(name="Repeat customer").is_stage
        and Term.objects.get(name="Loyal customer").is_stage
    )


def test_cli_import_export_round_trip(cast, tmp_path, capsys):
    path = tmp_path / "sales.yaml"
    path.write_text(starter_text("sales"))
    call_command("process", "import", str(path))
    assert "published version 1" in capsys.readouterr().out
    call_command("process", "export", "sales_pipeline")
    exported = capsys.readouterr().out
    assert load(exported) == load(starter_text("sales"))
    path.write_text(exported)
    call_command("process", "import", str(path))
    assert "unchanged (version 1)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(exported.replace("kind: won", "kind: maybe"))
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("process", "import", str(bad))
    assert "stages.4.kind" in capsys.readouterr().err
    with pytest.raises(CommandError, match="No process 'nope'"):
        call_command("process", "export", "nope")
    call_command("process", "export", "sales_pipeline", "--format", "dot")
    assert capsys.readouterr().out.startswith('digraph "sales_pipeline"')
    assert Process.objects.get(key="sales_pipeline").versions.count() == 1
    # A lint error refuses the import, each finding once with its stage; warnings publish, and are printed.
    dead_end = tmp_path / "dead.yaml"
    dead_end.write_text(
        starter_text("sales")
        .replace("- {from: negotiating, to: won}\n", "")
        .replace("- {from: negotiating, to: lost}\n", "")
    )
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("process", "import", str(dead_end))
    err = capsys.readouterr().err
    assert "negotiating: Records that reach 'Negotiating' can never leave it." in err
    assert "negotiating: negotiating" not in err
    no_owner = tmp_path / "owner.yaml"
    no_owner.write_text(starter_text("sales").replace("  owner_role: manager\n", "", 1))
    call_command("process", "import", str(no_owner))
    captured = capsys.readouterr()
    assert "published version 2" in captured.out
    assert "warning negotiating: Nobody owns 'Negotiating'" in captured.err


def _big(n: int, *, broken: bool = False) -> str:
    stages = [
        {
            "key": f"s{i}",
            "name": f"Step {i}",
            "definition": f"Step {i} of a long job.",
            "kind": "open" if i < n - 1 else "done",
            "owner_role": "member",
            "checklist": [f"Step {i} signed off"],
        }
        for i in range(n)
    ]
    transitions = [{"from": f"s{i}", "to": f"s{i + 1}"} for i in range(n - 1)]
    if broken:
        transitions = transitions[:-1]  # the last stage can no longer be reached
    return yaml.safe_dump(
        {
            "process": "big",
            "name": "Big",
            "applies_to": "job",
            "initial": "s0",
            "stages": stages,
            "transitions": transitions,
        },
        sort_keys=False,
    )


def test_a_500_stage_process_publishes_and_a_broken_one_leaves_nothing(cast):
    before = (Process.objects.count(), Term.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        process_import(by=cast.admin, source=_big(500, broken=True))
    assert {e.code for e in exc.value.errors} >= {"lint.stage.unreachable", "lint.stage.dead_end"}
    assert (Process.objects.count(), Term.objects.count()) == before  # nothing half-saved
    _, version = process_import(by=cast.admin, source=_big(500))
    assert version is not None and len(version.definition.stages) == 500


def test_a_process_with_a_loop_moves_round_it(cast):
    process_import(by=cast.admin, source=starter_text("lifecycle"))  # customer → repeat → lapsed → customer
    party = make_person(cast.alice, emails=["a@example.com"], customer_since=dt.date(2020, 1, 1))
    steps = [
        ("suspect", []),
        ("prospect", []),
        ("qualified", ["Need confirmed", "Budget confirmed", "Decision maker known"]),
        ("customer", []),
        ("repeat_customer", ["Second job paid"]),
        ("lapsed", ["Win-back offer sent"]),
        ("customer", []),
        ("repeat_customer", ["Second job paid"]),
        ("lapsed", ["Win-back offer sent"]),
    ]
    for to, checked in steps:
        stage_move(by=cast.alice, record_type="party", record=party, to=to, checked=checked)
    history = StageChange.objects.filter(record_id=party.pk, record_type="party")
    assert history.count() == len(steps) and not history.filter(declared=False).exists()
    assert history.filter(backward=True).count() == 1  # lapsed → customer goes back up the list
