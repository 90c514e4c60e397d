"""Billing fixtures: a client with an email address, and a helper to make a draft."""

from __future__ import annotations

import pytest

from friday.billing import services
from tests.conftest import make_person


@pytest.fixture
def client_party(cast):
    return make_person(cast.alice, "Grace", "Hopper", emails=["grace@example.com"])


def line(description="Boiler service", quantity="1", unit_price="100.00", tax_rate="20"):
    return services.LineIn(description, quantity, unit_price, tax_rate)


@pytest.fixture
def draft(cast, client_party):
    return services.invoice_create(
        by=cast.alice,
        party=client_party,
        data=services.InvoiceIn(lines=[line(), line("Parts", "2", "25.50")]),
    )
