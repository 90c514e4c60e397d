"""schemathesis over our own OpenAPI: generated requests (bounded) never produce a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from friday.accounts.services import admin_create_from_cli, token_create
from friday.wsgi import application
from tests.conftest import PASSWORD, make_org, make_person

# Reading the spec touches no database table, so it can load at collection time.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def token(db):
    # Calling the WSGI app directly would close the test's database connection after each request
    # (Django's test client avoids that the same way): keep it open for the duration of the test.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    admin, _ = admin_create_from_cli(username="fuzzer", password=PASSWORD)
    make_org(admin, "Fuzz Org")
    make_person(admin, "Fuzz", "Person", emails=["fuzz@example.com"], phones=["0161 496 0001"])
    try:
        yield token_create(user=admin)[1]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case, token):
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
    )
    assert response.status_code < 500
