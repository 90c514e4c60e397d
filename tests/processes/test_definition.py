"""Process files: YAML round trip, schema errors with lines and fields, the lint, and `friday process check`."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from friday.processes.definition import (
    KINDS,
    InvalidDefinition,
    ProcessDefinition,
    Stage,
    Transition,
    dump,
    load,
)
from friday.processes.lint import ERROR, WARNING, lint
from friday.processes.templates import STARTERS, starter, starter_text

pytestmark = pytest.mark.once  # pure definitions and files: no database involved, so one pass is enough

keys = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)


@st.composite
def processes(draw) -> ProcessDefinition:
    stage_keys = draw(st.lists(keys, min_size=1, max_size=8, unique=True))
    stages = tuple(
        Stage(
            key=k,
            name=draw(text.filter(lambda s: s.strip() != "" and s == s.strip()) | st.just(k)),
            kind=draw(st.sampled_from(KINDS)),
            definition=draw(text),
            owner_role=draw(st.sampled_from(["", "admin", "manager", "member"])),
            requires=tuple(draw(st.lists(keys, max_size=3, unique=True))),
            checklist=tuple(draw(st.lists(text.filter(lambda s: s != ""), max_size=3))),
            time_limit_days=draw(st.none() | st.integers(1, 3650)),
            completes=draw(st.booleans()),
        )
        for k in stage_keys
    )
    transitions = tuple(
        Transition(
            source=a,
            target=b,
            label=draw(text),
            requires=tuple(draw(st.lists(keys, max_size=2, unique=True))),
        )
        for a, b in draw(
            st.lists(st.tuples(st.sampled_from(stage_keys), st.sampled_from(stage_keys)), max_size=12)
        )
    )
    return ProcessDefinition(
        key=draw(keys),
        name=draw(text.filter(lambda s: s != "")),
        applies_to=draw(st.sampled_from(["party", "deal", "job"])),
        initial=draw(st.sampled_from(stage_keys)),
        stages=stages,
        transitions=transitions,
        description=draw(text),
    )


@given(processes())
@settings(max_examples=150, deadline=None)
def test_yaml_round_trip_is_exact(process):
    assert load(dump(process)) == process


@pytest.mark.parametrize("name", STARTERS)
def test_starter_processes_are_clean(name):
    process = starter(name)
    assert lint(process) == []
    assert load(dump(process)) == process


def test_job_starter_is_the_workflow_the_business_described():
    jobs = starter("jobs")
    assert [s.key for s in jobs.stages][:7] == [
        "booked",
        "scheduled",
        "in_progress",
        "quality_check",
        "complete",
        "invoiced",
        "paid",
    ]
    assert [s.key for s in starter("lifecycle").stages][:6] == [
        "suspect",
        "prospect",
        "qualified",
        "customer",
        "repeat_customer",
        "lapsed",
    ]


def test_schema_errors_name_the_line_and_the_field():
    bad = (
        starter_text("sales")
        .replace("kind: won", "kind: victory")
        .replace("time_limit_days: 3\n", "time_limit_days: soon\n")
    )
    with pytest.raises(InvalidDefinition) as caught:
        load(bad)
    found = {(e.field, e.line) for e in caught.value.errors}
    lines = bad.splitlines()
    assert ("stages.4.kind", lines.index("  kind: victory") + 1) in found
    assert ("stages.0.time_limit_days", lines.index("  time_limit_days: soon") + 1) in found


def test_unknown_stage_keys_and_malformed_yaml_are_refused_with_lines():
    bad = starter_text("sales").replace("- {from: survey, to: quoted}", "- {from: survey, to: quoting}")
    with pytest.raises(InvalidDefinition) as caught:
        load(bad)
    (error,) = caught.value.errors
    assert error.field.endswith(".to") and "quoting" in error.message
    assert bad.splitlines()[error.line - 1].strip() == "- {from: survey, to: quoting}"
    with pytest.raises(InvalidDefinition) as caught:
        load("process: x\nstages: [unclosed\n")
    assert caught.value.errors[0].line == 3 and "not valid YAML" in caught.value.errors[0].message
    with pytest.raises(InvalidDefinition):
        load("just a string")
    with pytest.raises(InvalidDefinition) as caught:
        load(starter_text("sales").replace("applies_to: deal", "applies_to: deal\nowner: bob"))
    assert "owner" in str(caught.value)


def test_a_key_written_twice_is_refused_with_both_lines():
    text = starter_text("sales")
    lines = text.splitlines()
    first = lines.index("  kind: won")
    bad = "\n".join([*lines[: first + 1], "  kind: lost", *lines[first + 1 :]]) + "\n"
    with pytest.raises(InvalidDefinition) as caught:
        load(bad)
    (error,) = caught.value.errors
    assert error.line == first + 2 and error.field == "stages.4.kind"
    assert f"first on line {first + 1}" in error.message


def _codes(process: ProcessDefinition) -> set[tuple[str, str, str]]:
    return {(f.severity, f.code, f.subject) for f in lint(process)}


def test_each_lint_finding():
    base = starter("sales")
    stages = {s.key: s for s in base.stages}

    orphan = replace(base, stages=(*base.stages, Stage("orphan", "Orphan", "open", "d", "member")))
    assert (ERROR, "stage.unreachable", "orphan") in _codes(orphan)
    assert (ERROR, "stage.dead_end", "orphan") in _codes(orphan)

    no_end = replace(base, stages=tuple(replace(s, kind="open") for s in base.stages))
    assert (ERROR, "process.no_end", "sales_pipeline") in _codes(no_end)

    undefined = replace(
        base, stages=tuple(replace(s, definition="") if s.key == "quoted" else s for s in base.stages)
    )
    assert (ERROR, "stage.no_definition", "quoted") in _codes(undefined)

    ownerless = replace(
        base, stages=tuple(replace(s, owner_role="") if s.key == "survey" else s for s in base.stages)
    )
    assert (WARNING, "stage.no_owner", "survey") in _codes(ownerless)

    loop = replace(base, transitions=(*base.transitions, Transition("quoted", "quoted")))
    assert (WARNING, "transition.self", "quoted → quoted") in _codes(loop)

    twice = replace(
        base,
        stages=(*base.stages, replace(stages["won"], key="won2")),
        transitions=(*base.transitions, Transition("negotiating", "won2")),
    )
    assert (ERROR, "stage.duplicate_name", "won") in _codes(twice)  # reported once, at the first of the two

    vague = replace(base, stages=tuple(replace(s, requires=(), checklist=()) for s in base.stages))
    assert (WARNING, "stage.no_exit_criteria", "quoted") in _codes(vague)


def test_lint_copes_with_a_huge_process():
    stages = tuple(
        Stage(f"s{i}", f"Stage {i}", "open" if i < 499 else "done", "d", "member", requires=("x",))
        for i in range(500)
    )
    transitions = tuple(Transition(f"s{i}", f"s{i + 1}") for i in range(499))
    process = ProcessDefinition("big", "Big", "job", "s0", stages, transitions)
    assert lint(process) == []
    assert load(dump(process)) == process


@pytest.mark.django_db
def test_cli_check_exit_codes_and_messages(tmp_path):
    good = tmp_path / "sales.yaml"
    good.write_text(starter_text("sales"))
    out = io.StringIO()
    call_command("process", "check", str(good), stdout=out)
    assert "0 error(s), 0 warning(s)" in out.getvalue()

    broken = tmp_path / "broken.yaml"
    broken.write_text(starter_text("sales").replace("- {from: enquiry, to: survey}\n", ""))
    err = io.StringIO()
    with pytest.raises(CommandError, match="not a process yet"):
        call_command("process", "check", str(broken), stdout=io.StringIO(), stderr=err)
    assert "stage.unreachable" in err.getvalue() and "Survey booked" in err.getvalue()

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("process: Bad Key\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="error"):
        call_command("process", "check", str(invalid), stdout=io.StringIO(), stderr=err)
    assert "line 1, process:" in err.getvalue()

    schema = io.StringIO()
    call_command("process", "schema", stdout=schema)
    assert json.loads(schema.getvalue())["title"] == "Friday process"


def test_glossary_and_field_findings():
    base = starter("sales")
    undefined = replace(
        base, stages=tuple(replace(s, definition="") if s.key == "quoted" else s for s in base.stages)
    )
    # The glossary can define a stage the process leaves undefined; a contradicting definition is a warning.
    assert not any(
        f.code == "stage.no_definition" for f in lint(undefined, glossary={"quoted": "A quote went."})
    )
    conflict = {(f.severity, f.code, f.subject) for f in lint(base, glossary={"won": "Paid in full."})}
    assert (WARNING, "term.conflict", "won") in conflict
    same = lint(base, glossary={"won": "the customer accepted the quote in writing"})
    assert not any(f.code == "term.conflict" for f in same)
    fields = {"value", "lost_reason", "title"}
    unknown = replace(
        base,
        transitions=(*base.transitions, Transition("enquiry", "quoted", requires=("colour",))),
    )
    found = [f for f in lint(unknown, fields=fields) if f.code == "field.unknown"]
    assert [(f.severity, f.subject) for f in found] == [(ERROR, "enquiry → quoted")]
    assert "colour" in found[0].message and "lost_reason" in found[0].fix
    custom = replace(base, stages=tuple(replace(s, requires=("custom.boiler",)) for s in base.stages))
    assert not any(f.code == "field.unknown" for f in lint(custom, fields=fields, allows_custom=True))
    assert any(f.code == "field.unknown" for f in lint(custom, fields=fields))
