"""Feedback fixtures: a party to ask, the default surveys, and a clean rate-limit cache for every test."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from friday.feedback.models import Survey
from tests.conftest import make_person


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def default_surveys(db):
    """The data migration's surveys: a transactional test's flush removes them, so put them back."""
    from friday.feedback.services import survey_defaults_install

    survey_defaults_install()


@pytest.fixture
def nps(db) -> Survey:
    return Survey.objects.get(key="nps")


@pytest.fixture
def csat(db) -> Survey:
    return Survey.objects.get(key="csat")


@pytest.fixture
def ada(cast):
    """A customer of Alice's (team Red)."""
    return make_person(cast.alice, "Ada", "Lovelace", emails=["ada@example.com"], roles=["customer"])
