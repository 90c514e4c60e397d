"""The reminders API: bad moments refused by field before they reach the database."""

from __future__ import annotations


def test_moments_out_of_range_are_refused_by_field(cast, api_for):
    """A fuzzer found it: an offset of -19:49 or the year 6997 reached PostgreSQL and failed there."""
    api = api_for(cast.alice)
    r = api.get("/reminders", due_after="6997-08-14T08:35:35.763-19:49")
    assert r.status_code == 422 and "due_after" in r.content.decode()
    r = api.get("/reminders", due_after="2026-08-14T08:35:35+02:00")
    assert r.status_code == 200
