"""normalise_phone's shortcut (valid in the business's own region) never accepts what libphonenumber's full
check refuses."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from friday.parties.normalise import _valid

pytestmark = pytest.mark.once

# Regions that share a calling code with others (+1, +44, +7, +47, +61, +262, +590 …) and some that do not.
REGIONS = [
    "GB",
    "GG",
    "JE",
    "IM",
    "US",
    "CA",
    "AG",
    "JM",
    "PR",
    "RU",
    "KZ",
    "NO",
    "SJ",
    "AU",
    "CX",
    "RE",
    "YT",
]
REGIONS += ["GP", "BL", "DE", "FR", "IT", "VA", "IN", "NL", "BR", "FI", "AX"]


def _digits(prefix: str) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=4, max_size=12).map(lambda d: prefix + d)


@settings(max_examples=4000, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.one_of(_digits("0"), _digits(""), _digits("+1"), _digits("+44"), _digits("+7")),
)
def test_the_shortcut_agrees_with_the_full_check(region, text):
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return
    assert _valid(number, region) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize(
    ("text", "region"),
    [("07400 900123", "GB"), ("01481 256789", "GB"), ("+1 268 464 1234", "US"), ("(416) 555-0123", "CA")],
)
def test_real_numbers_read_the_same(text, region):
    number = phonenumbers.parse(text, region)
    assert _valid(number, region) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize("value", ["07700 900123", "+44 7700 900999", "0044 7700900000"])
def test_a_uk_fiction_number_says_why_it_is_refused(value):
    from friday.core.errors import FridayError
    from friday.parties.normalise import normalise_phone

    with pytest.raises(FridayError, match="Ofcom's range kept for TV and film"):
        normalise_phone(value, region="GB")
    assert normalise_phone("07911 123456", region="GB") == "+447911123456"  # a real mobile range
