"""`__in_list`: the same rows as `__in`, with one parameter however many values, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from friday.core.lookups import Many
from friday.parties.models import EmailAddress, Party
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def test_strings_integers_and_foreign_keys_match_as_in(cast):
    people = [
        make_person(cast.alice, "Ada", f"N{i}", emails=[f"ada.{i}@example.com", f"o'neil.{i}@exämple.com"])
        for i in range(6)
    ]
    wanted = [f"ada.{i}@example.com" for i in (0, 2)] + ["o'neil.4@exämple.com", "nobody@example.com"]
    # Over SQLite's default limit of bound parameters in one statement, and no quoting trouble.
    many = Many(wanted + [f"x{i}@example.com" for i in range(40_000)])
    got = EmailAddress.objects.filter(address__in_list=many).values_list("address", flat=True)
    assert sorted(got) == sorted(
        EmailAddress.objects.filter(address__in=wanted).values_list("address", flat=True)
    )
    assert len(got) == 3

    ids = {people[1].pk, people[3].pk}
    assert set(Party.objects.filter(pk__in_list=ids).values_list("pk", flat=True)) == ids
    assert EmailAddress.objects.filter(party_id__in_list=Many(ids)).count() == 4
    assert EmailAddress.objects.filter(party__in_list=Many(ids)).count() == 4
    assert EmailAddress.objects.exclude(party_id__in_list=Many(ids)).count() == 8
    # Joins and other conditions as usual.
    assert list(
        EmailAddress.objects.filter(party__family_name="N2", address__in_list=many).values_list(
            "party_id", flat=True
        )
    ) == [people[2].pk]


def test_nothing_matches_no_values_and_other_types_are_refused(cast):
    make_person(cast.alice, emails=["ada@example.com"])
    assert EmailAddress.objects.filter(address__in_list=Many([])).count() == 0
    assert EmailAddress.objects.exclude(address__in_list=[]).count() == EmailAddress.objects.count()
    with pytest.raises(TypeError, match="strings or integers"):
        Party.objects.filter(birthday__in_list=[dt.date(2000, 1, 1)]).count()
