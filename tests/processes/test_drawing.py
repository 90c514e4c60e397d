"""Flowcharts: every stage and transition is drawn, kinds and owners show, and labels cannot break the syntax."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from django.core.management import call_command

from friday.processes.definition import Stage, Transition
from friday.processes.drawing import to_dot, to_mermaid
from friday.processes.templates import starter

pytestmark = pytest.mark.once


def test_mermaid_draws_every_stage_with_its_kind_and_every_transition():
    process = starter("sales")
    chart = to_mermaid(process)
    assert chart.startswith("flowchart LR\n")
    for stage in process.stages:
        assert re.search(rf"^  s_{stage.key}\(?\[\"{re.escape(stage.name)}", chart, re.M), stage.key
    for t in process.transitions:
        assert re.search(rf"^  s_{t.source} -->(\|[^|]*\|)? s_{t.target}$", chart, re.M)
    assert "start_ --> s_enquiry" in chart
    assert 's_quoted["Quoted<br/><small>member · 21 d</small>"]' in chart
    assert 's_won(["Won<br/><small>won</small>"])' in chart  # terminal stages are rounded
    assert "class s_won won" in chart and "class s_lost lost" in chart


def test_labels_with_quotes_pipes_and_markup_are_escaped():
    process = starter("sales")
    process = replace(
        process,
        stages=(*process.stages, Stage("odd", 'Say "hi" | <b>now</b>', "done", "d")),
        transitions=(*process.transitions, Transition("quoted", "odd", label='a|"b"')),
    )
    chart = to_mermaid(process)
    assert 's_odd(["Say #quot;hi#quot; #124; #lt;b#gt;now#lt;/b#gt;' in chart
    assert "s_quoted -->|a#124;#quot;b#quot;| s_odd" in chart
    dot = to_dot(process)
    assert '"odd" [label="Say \\"hi\\" | <b>now</b>\\ndone"' in dot


def test_dot_export_and_the_cli():
    dot = to_dot(starter("jobs"))
    assert dot.startswith('digraph "job_workflow" {') and dot.rstrip().endswith("}")
    assert '"quality_check" -> "in_progress" [label="failed check"];' in dot
    assert '"start_" -> "booked";' in dot
    out = io.StringIO()
    call_command(
        "process", "draw", "friday/processes/templates_yaml/jobs.yaml", "--format", "dot", stdout=out
    )
    assert out.getvalue() == dot
