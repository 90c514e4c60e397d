from __future__ import annotations

import pytest

from friday.accounts import services as account_services
from tests.conftest import PASSWORD


@pytest.fixture
def boss(db):
    """The only user of a new install."""
    user, _ = account_services.admin_create_from_cli(username="boss", password=PASSWORD)
    return user
