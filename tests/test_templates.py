"""Every page template compiles: a syntax error (a multi-line {# #}, an underscore variable) fails here, not
in front of a user."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template.loader import get_template

ROOT = Path(__file__).resolve().parent.parent / "friday"
TEMPLATES = sorted(str(p.relative_to(p.parents[1])) for p in ROOT.glob("*/templates/*/*.html"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_compiles(name):
    get_template(name)


def test_no_comment_spans_lines():
    for path in ROOT.glob("*/templates/**/*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "{#" in line:
                assert "#}" in line.split("{#", 1)[1], (
                    f"{path}:{number}: a {{# #}} comment must end on its line"
                )
