"""The business as data: created from the environment on first read, changed by an admin, validated field by field,
and in effect at once in the web process and in tasks (the worker re-reads it as each task starts)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine

from friday.billing import services as billing
from friday.core import business, clock
from friday.core.errors import ValidationFailed
from friday.core.models import Business, DomainEvent
from friday.processes.models import FunnelDay
from friday.processes.services import stage_move
from friday.reminders.services import ReminderIn, reminder_create
from friday.setup.services import business_update
from tests.billing.conftest import line
from tests.conftest import make_person

UTC = dt.UTC


def save(by, **changes):
    info = business.current()
    values = {
        "name": info.name,
        "time_zone": info.time_zone,
        "currency": info.currency,
        "region": info.region,
    }
    return business_update(by=by, **{**values, **changes})


@pytest.mark.django_db
def test_the_first_read_copies_the_environment(settings):
    settings.FRIDAY_BUSINESS_NAME, settings.TIME_ZONE = "Hopper Heating", "Europe/Dublin"
    settings.FRIDAY_CURRENCY, settings.FRIDAY_DEFAULT_REGION = "EUR", "IE"
    assert not Business.objects.exists()
    info = business.current()
    assert (info.name, info.time_zone, info.currency, info.region) == (
        "Hopper Heating",
        "Europe/Dublin",
        "EUR",
        "IE",
    )
    row = Business.objects.get()
    assert (row.pk, row.name, row.currency, row.updated_by) == (1, "Hopper Heating", "EUR", None)
    assert str(clock.business_tz()) == "Europe/Dublin"


def test_a_new_time_zone_moves_today_and_the_default_currency_follows(cast):
    client = make_person(cast.alice, "Grace", "Hopper")
    # 23:30 UTC on 10 March: still the 10th in London, already the 11th in Tokyo (UTC+9).
    with time_machine.travel(dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False):
        assert clock.today() == dt.date(2026, 3, 10)
        save(cast.admin, time_zone="Asia/Tokyo", currency="EUR")
        assert clock.today() == dt.date(2026, 3, 11)
        invoice = billing.invoice_create(by=cast.alice, party=client, data=billing.InvoiceIn(lines=[line()]))
    assert invoice.currency == "EUR"
    row = Business.objects.get()
    assert (row.time_zone, row.currency, row.version, row.updated_by) == ("Asia/Tokyo", "EUR", 2, cast.admin)
    event = DomainEvent.objects.get(name="business.updated")
    assert event.payload == {"changed": ["currency", "time_zone"]}


def test_saving_what_is_there_writes_nothing(cast):
    save(cast.admin, name="Hopper Heating")
    row = Business.objects.get()
    assert row.version == 2
    save(cast.admin)
    again = Business.objects.get()
    assert (again.version, again.updated_at) == (2, row.updated_at)
    assert DomainEvent.objects.filter(name="business.updated").count() == 1


def test_bad_values_are_refused_by_field(cast):
    with pytest.raises(ValidationFailed) as caught:
        business_update(by=cast.admin, name=" ", time_zone="Mars/Olympus", currency="XYZ", region="ZZ")
    fields = {e.field: e.code for e in caught.value.errors}
    assert fields == {
        "name": "invalid.required",
        "time_zone": "invalid.time_zone",
        "currency": "invalid.currency",
        "region": "invalid.region",
    }
    assert not Business.objects.filter(updated_by__isnull=False).exists()  # nothing saved


def test_only_an_admin_changes_the_business(cast):
    from friday.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        save(cast.manager, name="Not mine")


def test_the_page_shows_field_errors_and_saves_good_values(cast, web_for):
    client = web_for(cast.admin)
    bad = client.post(
        "/setup/settings/",
        {"name": "Hopper", "time_zone": "Europe/Londn", "currency": "EURO", "region": "GB"},
    )
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "Europe/Londn is not a time zone" in body
    assert "EURO is not an ISO 4217 currency code" in body
    assert not Business.objects.filter(updated_by__isnull=False).exists()
    good = client.post(
        "/setup/settings/",
        {"name": "Hopper", "time_zone": "America/New_York", "currency": "usd", "region": "us"},
    )
    assert good.status_code == 302
    row = Business.objects.get()
    assert (row.name, row.time_zone, row.currency, row.region) == ("Hopper", "America/New_York", "USD", "US")
    assert web_for(cast.manager).get("/setup/settings/").status_code == 403


def test_pages_show_times_in_the_business_time_zone(cast, web_for):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        reminder_create(
            by=cast.admin,
            data=ReminderIn(
                title="Ring Grace", due_at=dt.datetime(2026, 3, 2, 10, 15, tzinfo=UTC), assignee=cast.admin
            ),
        )
        client = web_for(cast.admin)
        assert '<span class="muted">10:15</span>' in client.get("/").content.decode()
        save(cast.admin, time_zone="Asia/Tokyo")
        page = client.get("/").content.decode()
    assert '<span class="muted">19:15</span>' in page
    assert '<span class="muted">10:15</span>' not in page


def test_another_process_sees_a_change_within_seconds(cast):
    assert business.currency() == "GBP"
    # Another process (the worker, a second web server) changes the row behind this one's back.
    Business.objects.filter(pk=1).update(currency="EUR", version=5)
    assert business.currency() == "GBP"  # this process read it under CHECK_SECONDS ago
    stamp, info = business._cached  # type: ignore[misc]
    business._cached = (stamp - business.CHECK_SECONDS - 1, info)
    assert business.currency() == "EUR"


@pytest.mark.django_db(transaction=True)
def test_a_new_time_zone_recounts_the_rollups_in_a_task(cast, lifecycle, run_worker):
    ada = make_person(cast.admin, "Ada", "Lovelace")
    # A move at 23:30 UTC on 10 March: the 10th in UTC, the 11th in Tokyo.
    with time_machine.travel(dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False):
        stage_move(by=cast.admin, record_type="party", record=ada, to="prospect", override=True, reason="Met")
    days = set(FunnelDay.objects.filter(process=lifecycle, to_stage="prospect").values_list("day", flat=True))
    assert days == {dt.date(2026, 3, 10)}
    save(cast.admin, time_zone="Asia/Tokyo")
    # This process forgets nothing on its own for a few seconds: pretend it still holds the old zone, as a
    # worker on another machine would; the task re-reads the business as it starts.
    business._cached = (time.monotonic(), business.Info("x", "UTC", "GBP", "GB", 1))
    run_worker()
    days = set(FunnelDay.objects.filter(process=lifecycle, to_stage="prospect").values_list("day", flat=True))
    assert days == {dt.date(2026, 3, 11)}
    assert business.time_zone() == "Asia/Tokyo"


def test_no_recount_without_stage_history(cast):
    from django_tasks_db.models import DBTaskResult

    save(cast.admin, time_zone="Asia/Tokyo")
    assert not DBTaskResult.objects.exists()


def test_a_new_currency_queues_the_customer_figures_again(cast):
    from django_tasks_db.models import DBTaskResult

    make_person(cast.alice, "Grace", "Hopper")
    save(cast.admin, name="Hopper Heating")
    assert not DBTaskResult.objects.exists()
    save(cast.admin, currency="EUR")
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "friday.insights.tasks.insights_recompute"
    ]
