"""User-written templates in the sandbox: the escapes people try, and the limits, are refused with a reason."""

from __future__ import annotations

import time

import pytest

from friday.messaging import rendering
from friday.messaging.rendering import RenderRefused, check, render

CONTEXT = {
    "party": {"first_name": "Ada", "owner": {"name": "Bob"}, "custom": {"boiler": "Vaillant"}},
    "business": {"name": "Acme Heating"},
    "record": {},
    "links": {},
}


def test_a_plain_template_renders():
    text = "Hi {{ party.first_name }}, your {{ party.custom.boiler }} is due. {{ business.name }}"
    assert render(text, CONTEXT) == "Hi Ada, your Vaillant is due. Acme Heating"
    assert (
        render("<p>{{ party.first_name }}</p>", {"party": {"first_name": "<b>"}}, html=True)
        == "<p>&lt;b&gt;</p>"
    )
    assert render("{{ party.custom.colour|default('friend') }}", CONTEXT) == "friend"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ '{0.__class__}'.format('') }}",
        "{{ '{a.__class__}'.format_map({'a': ''}) }}",
        "{{ party.__init__.__globals__ }}",
        "{{ (party|attr('__class__')) }}",
        "{{ self.__init__ }}",
        "{{ [].append(1) }}",
        "{{ party.custom.update({'x': 1}) }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ config }}",
    ],
)
def test_escapes_are_refused(source):
    with pytest.raises(RenderRefused) as exc:
        render(source, CONTEXT)
    assert exc.value.code in ("template.unsafe", "template.undefined")


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("{% for i in range(100000) %}x{% endfor %}", "template.too_big"),
        ("{{ 'a' * 100000000 }}", "template.too_big"),
        ("{{ [1] * 100000000 }}", "template.too_big"),
        ("{{ 9 ** 99999 }}", "template.too_big"),
        ("{% for i in range(1000) %}{{ 'x' * 999 }}{% endfor %}", "template.too_big"),
        (
            "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
            "{% endfor %}{% endfor %}{% endfor %}",
            "template.too_slow",
        ),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "template.error"),
        ("{{ party.missing }}", "template.undefined"),
        ("{% if %}", "template.syntax"),
    ],
)
def test_limits_stop_a_render_quickly(source, code):
    began = time.monotonic()
    with pytest.raises(RenderRefused) as exc:
        render(source, CONTEXT, part="body_text")
    assert exc.value.code == code and exc.value.field == "body_text"
    assert time.monotonic() - began < rendering.MAX_SECONDS + 0.5


def test_check_names_unknown_variables_with_a_suggestion_and_deep_loops():
    problems = check(
        {
            "subject": "Happy birthday {{ party.frist_name }}",
            "body_text": "{{ pary.name }}\n{{ party.owner.nmae }}\n{% for t in party.custom %}{{ t }}{% endfor %}"
            "{{ record.anything }}{{ links.feedback }}",
            "body_html": "{% for a in range(2) %}{% for b in range(2) %}{% for c in range(2) %}"
            "{% endfor %}{% endfor %}{% endfor %}",
        }
    )
    text = [str(p) for p in problems]
    assert "subject, line 1: party.frist_name is not available. Did you mean 'first_name'?" in text
    assert any(t.startswith("body_text, line 1: 'pary' is not available") and "'party'" in t for t in text)
    assert "body_text, line 2: party.owner.nmae is not available. Did you mean 'name'?" in text
    assert any("nested 3 deep" in t for t in text)
    assert len(text) == 4  # loop variables, record.* and links.* are fine
    assert next(str(p) for p in check({"subject": "{{ oops("})).startswith(
        "subject, line 1: not a valid template"
    )
