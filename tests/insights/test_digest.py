"""The daily digest: built from a hand-made history for two colleagues in different teams, it reaches the real SMTP
server with each one's own day, overdue work, changes and customers at risk — and nobody else's. Once a day per
user however often it runs; from the set hour in the business's time zone; today's after downtime, never the
missed days; not when empty; not after opting out (preferences, admin, or the one-click link, which needs no
sign-in and refuses a forged token)."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
import time_machine
from django.core import signing
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from friday.accounts import services as account_services
from friday.billing import services as billing
from friday.core import clock, scheduler
from friday.insights import digest, metrics
from friday.insights.models import Digest
from friday.insights.services import digest_send, digest_send_due
from friday.messaging.models import MessageStatus, OutboundMessage
from friday.messaging.services import outbox_drain
from friday.parties.services import activity_log
from friday.reminders.services import ReminderIn, reminder_create
from tests.conftest import make_person

BASE = "https://friday.example.com"


@pytest.fixture
def london(settings):
    """The business in London (BST in June: 07:00 there is 06:00 UTC), links to an https address, digests at 7,
    and a risk threshold that a 62-day-old invoice plus an escalated reminder (15 + 10) passes."""
    settings.TIME_ZONE = "Europe/London"
    settings.FRIDAY_BASE_URL = BASE
    settings.FRIDAY_DIGEST_HOUR = 7
    settings.FRIDAY_RISK_THRESHOLD = 20
    return settings


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=clock.business_tz())


def _invoice(by, party, net: str, issued: dt.datetime, terms: int):
    with time_machine.travel(issued, tick=False):
        invoice = billing.invoice_create(
            by=by,
            party=party,
            data=billing.InvoiceIn(lines=[billing.LineIn("Work", "1", net, "20")], terms_days=terms),
        )
        return billing.invoice_issue(by=by, invoice=invoice, send=False)


@pytest.fixture
def history(cast, london):
    """Alice (team Red) and Bob (team Blue), each with a customer, as things stand at 07:00 on Tue 16 June 2026."""
    ada = make_person(cast.alice, "Ada", "Lovelace", roles=["customer"], emails=["ada@example.com"])
    bea = make_person(cast.bob, "Bea", "Blue", roles=["customer"])
    overdue_invoice = _invoice(cast.alice, ada, "100.00", at(2026, 4, 1, 10, 0), terms=14)  # due 15 April
    paid_later = _invoice(cast.alice, ada, "50.00", at(2026, 6, 10, 10, 0), terms=30)
    with time_machine.travel(at(2026, 6, 10, 9, 0), tick=False):
        reminder_create(
            by=cast.alice,
            data=ReminderIn(title="Send Ada the quote", due_at=at(2026, 6, 12, 10, 0), party=ada),
        )
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Ring Ada back", due_at=at(2026, 6, 16, 9, 30), party=ada)
        )
        reminder_create(
            by=cast.bob, data=ReminderIn(title="Visit Bea", due_at=at(2026, 6, 16, 14, 0), party=bea)
        )
    with time_machine.travel(at(2026, 6, 14, 12, 0), tick=False):  # before the window: not a change
        activity_log(by=cast.manager, party=ada, kind="note", subject="Old news")
    with time_machine.travel(at(2026, 6, 15, 15, 0), tick=False):
        activity_log(by=cast.manager, party=ada, kind="call", subject="Asked about a second boiler")
    with time_machine.travel(at(2026, 6, 15, 16, 0), tick=False):
        billing.payment_record(
            by=cast.admin, invoice=paid_later, data=billing.PaymentIn(amount="60.00", key="pay-ada")
        )
    with time_machine.travel(at(2026, 6, 15, 17, 0), tick=False):
        activity_log(by=cast.alice, party=ada, kind="note", subject="My own note")  # hers: not news to her
    with time_machine.travel(at(2026, 6, 15, 18, 0), tick=False):
        activity_log(by=cast.admin, party=bea, kind="note", subject="Wants the visit moved")
    with time_machine.travel(at(2026, 6, 16, 6, 30), tick=False):
        metrics.recompute()
    return {"ada": ada, "bea": bea, "overdue_invoice": overdue_invoice, "paid_later": paid_later}


def _send_and_deliver(run=digest_send_due) -> None:
    """What the worker does: the scheduled task queues the digests, then the outbox is drained to SMTP."""
    run()
    outbox_drain(worker_id="test")


def _by_recipient(inbox) -> dict[str, list]:
    out: dict[str, list] = {}
    for message in inbox.messages:
        out.setdefault(str(message["To"]), []).append(message)
    return out


def _parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")  # as sent over SMTP: CRLF


def test_two_colleagues_get_their_own_digest_at_the_smtp_server(cast, history, smtp_server):
    ada, bea, invoice = history["ada"], history["bea"], history["overdue_invoice"]
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        _send_and_deliver()
    received = _by_recipient(smtp_server)
    alice_mail = received.pop("Alice <alice@staff.example.com>")
    bob_mail = received.pop("Bob <bob@staff.example.com>")
    assert len(alice_mail) == len(bob_mail) == 1
    # the manager sees both customers, the read-only colleague in Red sees Ada: they get one too; Olga (her own
    # records only) has nothing to hear about, and the admin has no email address
    assert set(received) == {"Manager <manager@staff.example.com>", "Reader <reader@staff.example.com>"}

    alice = alice_mail[0]
    assert alice["Subject"] == (
        "Your Friday digest for Tue 16 Jun: 1 due today, 1 overdue, 1 invoice overdue, 1 customer changed, "
        "1 at risk"
    )
    text, html = _parts(alice)
    # her day, with the time; what is overdue (her reminder, her customer's invoice)
    assert f"- 09:30  Ring Ada back — Ada Lovelace\n  {BASE}/reminders/" in text
    assert "- 4 days overdue  Send Ada the quote — Ada Lovelace" in text
    assert f"- 62 days overdue  Invoice {invoice.number} — Ada Lovelace, £120.00 due" in text
    assert f"{BASE}/billing/invoices/{invoice.pk}/" in text
    # what others did on her customer since yesterday 07:00, newest first; not her own note, not older news
    paid = history["paid_later"].number
    assert (
        f"- Ada Lovelace — yours\n  {BASE}/parties/{ada.pk}/\n"
        f"    · Mon 15 Jun 16:00 Payment of £60.00 on invoice {paid} — paid in full — admin\n"
        "    · Mon 15 Jun 15:00 Call: Asked about a second boiler — Manager\n"
    ) in text
    assert "My own note" not in text and "Old news" not in text
    # who is at risk, and why
    assert "- risk 25  Ada Lovelace — invoice 62 days overdue; escalated reminder open" in text
    assert "(new)" not in text  # her first digest: nothing to compare with
    # nothing of Bob's team
    assert "Bea" not in text and "Visit" not in text and "Bea" not in html
    # the HTML has the same items, each linking into Friday by an absolute address
    assert f'<a href="{BASE}/parties/{ada.pk}/" style="color:#1f5fbf">Ada Lovelace</a>' in html
    assert f'href="{BASE}/insights/at-risk/"' not in html  # only one at risk: no "and N more"
    assert 'id="digest-at_risk"' in html and "invoice 62 days overdue; escalated reminder open" in html
    # one-click unsubscribe (RFC 8058), the Message-ID of its outbox row
    token = digest.unsubscribe_token(cast.alice)
    assert alice["List-Unsubscribe"].strip() == f"<{BASE}/insights/digest/unsubscribe/{token}/>"
    assert alice["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
    row = OutboundMessage.objects.get(key=f"digest:{cast.alice.pk}:2026-06-16")
    assert alice["Message-ID"] == row.message_id and row.status == MessageStatus.SENT and row.party is None

    bob = bob_mail[0]
    assert bob["Subject"] == "Your Friday digest for Tue 16 Jun: 1 due today, 1 customer changed"
    text, html = _parts(bob)
    assert "- 14:00  Visit Bea — Bea Blue" in text
    assert (
        f"- Bea Blue — yours\n  {BASE}/parties/{bea.pk}/\n    · Mon 15 Jun 18:00 Note: Wants the visit moved — admin"
        in text
    )
    assert "Ada" not in text and "Ada" not in html and "OVERDUE" not in text and "AT RISK" not in text


def test_scoped_like_the_users_own_pages(cast, history):
    """Olga (team Red, own records only) sees neither customer; the admin sees both; Alice never sees Bea."""
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        olga = digest.build(user=cast.olga)
        boss = digest.build(user=cast.admin)
        alice = digest.build(user=cast.alice)
    assert olga.empty
    changed = next(s for s in boss.sections if s.key == "changed")
    # Alice's note and the manager's call on Ada are news to the admin; the admin's own payment on Ada and note on
    # Bea are not (so Bea has nothing)
    assert [(line.text, line.sub) for line in changed.lines] == [
        (
            "Ada Lovelace",
            [
                "Mon 15 Jun 17:00 Note: My own note — Alice",
                "Mon 15 Jun 15:00 Call: Asked about a second boiler — Manager",
            ],
        )
    ]
    assert all("Bea" not in line.text for s in alice.sections for line in s.lines)


def test_running_it_again_sends_nothing_more(cast, history, smtp_server):
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        _send_and_deliver()
        first = len(smtp_server.messages)
        _send_and_deliver()
        out = StringIO()
        call_command("digest", "send", stdout=out)  # by hand, everyone
        call_command("digest", "send", "--user", "alice", stdout=out)
        outbox_drain(worker_id="test")
    with time_machine.travel(at(2026, 6, 16, 22, 0), tick=False):
        _send_and_deliver()
    assert first == 4 and len(smtp_server.messages) == 4
    assert (
        "Everyone has had today's digest" in out.getvalue() and "alice: already had today's" in out.getvalue()
    )
    assert Digest.objects.filter(on=dt.date(2026, 6, 16)).count() == 5  # Olga's was empty: recorded, not sent
    assert OutboundMessage.objects.filter(key__startswith="digest:").count() == 4


def test_two_workers_at_once_write_one_digest(cast, history, monkeypatch):
    """Both found no digest for today and built it; the one that inserts second writes nothing."""
    real_build = digest.build
    raced = []

    def build_while_another_worker_finishes(**kwargs):
        content = real_build(**kwargs)
        if not raced:
            raced.append(True)
            assert digest_send(user=cast.alice).outcome == "queued"  # the other worker, meanwhile
        return content

    monkeypatch.setattr(digest, "build", build_while_another_worker_finishes)
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        assert digest_send(user=cast.alice).outcome == "already"
    assert Digest.objects.filter(user=cast.alice).count() == 1
    assert OutboundMessage.objects.filter(key__startswith=f"digest:{cast.alice.pk}:").count() == 1


@pytest.mark.django_db(transaction=True)
def test_not_before_the_hour_and_after_downtime_todays_only(cast, history, smtp_server, run_worker):
    job = next(j for j in scheduler.registry() if j.name == "digest.send")
    assert job.cron == "*/15 * * * *"
    with time_machine.travel(at(2026, 6, 16, 6, 59), tick=False):  # 05:59 UTC
        assert scheduler.run_due(worker_id="w", jobs=[job]) == ["digest.send"]
        run_worker()
    assert smtp_server.messages == [] and not Digest.objects.exists()
    # the worker is down from 07:00 on the 16th until 11:20 on the 18th: back, it sends the 18th's, once
    with time_machine.travel(at(2026, 6, 18, 11, 20), tick=False):
        assert scheduler.run_due(worker_id="w", jobs=[job]) == ["digest.send"]
        run_worker()
        outbox_drain(
            worker_id="w"
        )  # the drain the queued messages asked for (held back by the test transaction)
        assert scheduler.run_due(worker_id="w", jobs=[job]) == []  # the 11:15 slot is claimed
    with time_machine.travel(at(2026, 6, 18, 11, 31), tick=False):
        assert scheduler.run_due(worker_id="w", jobs=[job]) == ["digest.send"]  # the 11:30 slot: nothing new
        run_worker()
    assert sorted(Digest.objects.values_list("on", flat=True).distinct()) == [dt.date(2026, 6, 18)]
    received = _by_recipient(smtp_server)
    assert {k: len(v) for k, v in received.items()} == {
        "Alice <alice@staff.example.com>": 1,
        "Bob <bob@staff.example.com>": 1,
        "Manager <manager@staff.example.com>": 1,
        "Reader <reader@staff.example.com>": 1,
    }
    assert received["Alice <alice@staff.example.com>"][0]["Subject"].startswith(
        "Your Friday digest for Thu 18 Jun"
    )


def test_the_next_day_marks_who_is_newly_at_risk_and_starts_where_the_last_one_stopped(cast, history):
    cy = make_person(cast.alice, "Cy", "Young", roles=["customer"])
    _invoice(
        cast.alice, cy, "10.00", at(2026, 5, 3, 10, 0), terms=14
    )  # due 17 May: 30 days overdue on the 16th
    with time_machine.travel(at(2026, 6, 10, 9, 0), tick=False):
        reminder_create(
            by=cast.alice, data=ReminderIn(title="Chase Cy", due_at=at(2026, 6, 13, 9, 0), party=cy)
        )
    with time_machine.travel(at(2026, 6, 15, 7, 0), tick=False):
        metrics.recompute()  # Cy scores 10 (the escalated reminder): not at risk yet; Ada 25
        digest_send(user=cast.alice)
    assert Digest.objects.get(user=cast.alice, on=dt.date(2026, 6, 15)).state["at_risk"] == [
        history["ada"].pk
    ]
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        metrics.recompute()  # Cy: 30 days overdue (15) and the reminder (10)
        content = digest.build(user=cast.alice, previous=digest.previous_digest(cast.alice, clock.today()))
    assert content.since == at(2026, 6, 15, 7, 0)
    risk = next(s for s in content.sections if s.key == "at_risk")
    assert [(line.text, line.new) for line in risk.lines] == [("Ada Lovelace", False), ("Cy Young", True)]
    text = digest.render(content).body_text
    assert "- risk 25  Cy Young (new) — invoice 30 days overdue; escalated reminder open" in text
    assert "“new”: not at risk in your last digest." in text


def test_an_empty_digest_is_not_sent(cast, history, smtp_server):
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        sent = digest_send(user=cast.olga)
        outbox_drain(worker_id="t")
    assert sent.outcome == "empty"
    row = Digest.objects.get(user=cast.olga)
    assert (row.items, row.message) == (0, None)
    assert (
        not OutboundMessage.objects.filter(to_email=cast.olga.email).exists() and smtp_server.messages == []
    )


def test_no_email_inactive_or_turned_off_get_none(cast, history):
    account_services.user_update(by=cast.admin, user=cast.bob, is_active=False)
    account_services.user_digest_set(by=cast.alice, user=cast.alice, enabled=False)
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        assert digest_send(user=cast.admin).reason == "no email address"
        assert digest_send(user=cast.bob).reason == "inactive"
        assert digest_send(user=cast.alice).reason == "turned off"
        assert str(digest_send_due()) == "2 digest(s) queued, 1 empty (not sent)"  # Olga's is empty
    assert set(Digest.objects.values_list("user__username", flat=True)) == {"manager", "olga", "reader"}


def test_opting_out_on_the_preferences_page_and_by_an_admin(cast, history, web_for, smtp_server):
    alice = web_for(cast.alice)
    page = alice.get("/settings/preferences/").content.decode()
    assert 'name="digest_enabled"' in page and "checked" in page and "alice@staff.example.com" in page
    assert alice.post("/settings/preferences/", {}).status_code == 302  # unticked
    cast.alice.refresh_from_db()
    assert cast.alice.digest_enabled is False
    assert "checked" not in alice.get("/settings/preferences/").content.decode().split('id="preferences"')[1]
    # an admin switches Bob's off on his user page, and sees it there
    admin = web_for(cast.admin)
    form = {
        "first_name": "Bob",
        "email": "bob@staff.example.com",
        "role": "member",
        "scope": "team",
        "teams": [cast.blue.pk],
        "is_active": "on",
    }
    assert admin.post(f"/settings/users/{cast.bob.pk}/", form).status_code == 302
    cast.bob.refresh_from_db()
    assert cast.bob.digest_enabled is False
    assert 'name="digest_enabled"' in admin.get(f"/settings/users/{cast.bob.pk}/").content.decode()
    # Bob cannot switch Alice's back on
    with pytest.raises(Exception, match="Only an admin"):
        account_services.user_digest_set(by=cast.bob, user=cast.alice, enabled=True)
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        _send_and_deliver()
    assert set(_by_recipient(smtp_server)) == {
        "Manager <manager@staff.example.com>",
        "Reader <reader@staff.example.com>",
    }


def test_the_unsubscribe_link_works_without_signing_in(cast, history, smtp_server):
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        _send_and_deliver()
    mail = _by_recipient(smtp_server)["Alice <alice@staff.example.com>"][0]
    link = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"].strip()).group(1)
    path = link.removeprefix(BASE)
    text, html = _parts(mail)
    assert f"Stop these emails: {link}" in text and f'href="{link}"' in html
    anonymous = Client(enforce_csrf_checks=True)
    # opening it only asks (a link scanner must not unsubscribe anyone)
    page = anonymous.get(path)
    assert page.status_code == 200 and "Stop the daily digest?" in page.content.decode()
    cast.alice.refresh_from_db()
    assert cast.alice.digest_enabled is True
    # the mail client's one-click POST (RFC 8058): no session, no CSRF token
    done = anonymous.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and "The daily digest is off" in done.content.decode()
    cast.alice.refresh_from_db()
    assert cast.alice.digest_enabled is False
    # the next morning, nothing for her; Bob still gets his
    with time_machine.travel(at(2026, 6, 17, 7, 0), tick=False):
        _send_and_deliver()
    assert len(_by_recipient(smtp_server)["Alice <alice@staff.example.com>"]) == 1
    assert len(_by_recipient(smtp_server)["Bob <bob@staff.example.com>"]) == 2


@pytest.mark.parametrize("kind", ["nonsense", "tampered", "other purpose", "not a user id", "gone"])
def test_a_bad_unsubscribe_token_is_refused(cast, kind):
    good = digest.unsubscribe_token(cast.bob)
    token = {
        "nonsense": "nonsense",
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "other purpose": signing.Signer().sign_object(cast.bob.pk),  # signed by Friday, but not for this
        "not a user id": signing.Signer(salt=digest.UNSUBSCRIBE_SALT).sign_object("bob"),
        "gone": signing.Signer(salt=digest.UNSUBSCRIBE_SALT).sign_object(10**9),
    }[kind]
    client = Client()
    assert client.get(f"/insights/digest/unsubscribe/{token}/").status_code == 404
    answer = client.post(
        f"/insights/digest/unsubscribe/{token}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 404 and "This link does not work" in answer.content.decode()
    cast.bob.refresh_from_db()
    assert cast.bob.digest_enabled is True


def test_building_it_costs_the_same_queries_however_much_there_is(cast, history):
    def queries() -> int:
        with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False), CaptureQueriesContext(connection) as ctx:
            digest.build(user=cast.alice)
        return len(ctx.captured_queries)

    def more_customers(start: int) -> None:
        """Olga's customers (team Red: Alice sees them), each with five notes by the manager and a reminder."""
        with time_machine.travel(at(2026, 6, 15, 20, 0), tick=False):
            for i in range(start, start + 14):
                party = make_person(cast.olga, f"Extra{i:02}", "Customer", roles=["customer"])
                for n in range(5):
                    activity_log(by=cast.manager, party=party, kind="note", subject=f"Note {n}")
                reminder_create(
                    by=cast.alice,
                    data=ReminderIn(title=f"Today {i}", due_at=at(2026, 6, 16, 12, i), party=party),
                )

    more_customers(0)  # more of everything than is shown
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        content = digest.build(user=cast.alice)
    changed = next(s for s in content.sections if s.key == "changed")
    today = next(s for s in content.sections if s.key == "today")
    assert (changed.total, len(changed.lines), changed.more) == (15, 10, 5)
    assert [line.text for line in changed.lines[:3]] == [
        "Ada Lovelace",
        "Extra00 Customer",
        "Extra01 Customer",
    ]
    # each: created by Olga, five notes by the manager: six changes, three shown
    assert [len(line.sub) for line in changed.lines[1:]] == [3] * 9 and changed.lines[1].sub_more == 3
    assert changed.lines[1].sub[0] == "Mon 15 Jun 20:00 Note: Note 4 — Manager"  # newest first
    assert (today.total, len(today.lines), today.more) == (15, 10, 5)
    text = digest.render(content).body_text
    assert (
        f"- and 5 more: {BASE}/parties/?sort=-updated" in text and f"- and 5 more: {BASE}/reminders/" in text
    )
    assert f"    · and 3 more: {BASE}/parties/{changed.lines[1].url.split('/')[-2]}/timeline/" in text
    first = queries()
    more_customers(14)  # twice as much: the same queries
    assert queries() == first


def test_the_dry_run_prints_and_changes_nothing(cast, history):
    out = StringIO()
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        call_command("digest", "send", "--user", "alice", "--dry-run", stdout=out)
    printed = out.getvalue()
    assert printed.startswith(
        "To: alice@staff.example.com\nSubject: Your Friday digest for Tue 16 Jun: 1 due today"
    )
    assert "Ring Ada back" in printed
    out = StringIO()
    with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
        call_command("digest", "send", "--user", "admin", "--dry-run", stdout=out)  # a preview even so
        call_command("digest", "send", "--user", "admin", stdout=out)
    assert out.getvalue().startswith(
        "(would not be sent: no email address)\nTo: \nSubject: Your Friday digest"
    )
    assert out.getvalue().endswith("admin: skipped (no email address)\n")
    assert not Digest.objects.exists() and not OutboundMessage.objects.exists()
    with pytest.raises(Exception, match="No user called 'nobody'"):
        call_command("digest", "send", "--user", "nobody")


def test_a_section_can_be_added(cast, history):
    """How goals (or any app) add to the digest: a builder registered with an order."""

    def goals(ctx: digest.DigestContext) -> digest.Section:
        return digest.Section(
            "goals", "Goals", [digest.Line("Ten calls this week", when="7/10")], 1, "1 goal"
        )

    registered = digest._sections.get("goals")  # the strategy app's own, put back afterwards
    digest.register_section("goals", goals, order=45)
    try:
        with time_machine.travel(at(2026, 6, 16, 7, 0), tick=False):
            content = digest.build(user=cast.bob)
    finally:
        digest._sections.pop("goals")
        if registered is not None:
            digest._sections["goals"] = registered
    assert [s.key for s in content.sections] == ["today", "changed", "goals"]
    assert "GOALS\n\n- 7/10  Ten calls this week" in digest.render(content).body_text
