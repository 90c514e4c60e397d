"""The plain-address shortcut in normalise_email gives exactly what email_validator gives."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from friday.core.errors import FridayError
from friday.parties.normalise import _plain_email, normalise_email

pytestmark = pytest.mark.once

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
LABEL = "abcdefghijklmnopqrstuvwxyz0123456789-"
local = st.lists(st.text(ATEXT, min_size=1, max_size=30), min_size=1, max_size=3).map(".".join)
label = st.text(LABEL, min_size=1, max_size=70)
tld = st.sampled_from(
    ["com", "uk", "io", "example", "local", "invalid", "test", "arpa", "onion", "c", "co", "x1"]
)
domain = st.tuples(st.lists(label, min_size=1, max_size=3), tld).map(lambda t: ".".join([*t[0], t[1]]))


def _validator(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


@settings(max_examples=3000, deadline=None)
@given(local, domain)
def test_the_shortcut_agrees_with_the_validator(local_part, domain_part):
    address = f"{local_part}@{domain_part}"
    quick = _plain_email(address)
    if quick is not None:  # when the shortcut answers, it answers what the validator says
        assert _validator(address) == quick


@pytest.mark.parametrize(
    "address",
    [
        "Ada@Example.COM",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "x@a-b.example.com",
    ],
)
def test_common_addresses_take_the_shortcut(address):
    assert _plain_email(address) == address.lower() == _validator(address)


@pytest.mark.parametrize(
    "address",
    [
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example",
        "a@example.local",
        "a@host.invalid",
        "a@xn--ls8h.la",
        f"{'a' * 65}@example.com",
        "a b@example.com",
        "josé@example.com",
    ],
)
def test_the_rest_goes_to_the_validator(address):
    assert _plain_email(address) is None
    expected = _validator(address)
    if expected is None:
        with pytest.raises(FridayError):
            normalise_email(address)
    else:
        assert normalise_email(address) == expected
