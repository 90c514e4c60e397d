"""`friday bench automation`: the starter rules over the `bench generate` parties — a day's sweep of every time
rule, a 30-day forecast — and the outbox draining to an SMTP server on loopback.

Targets (issue 4): a day's sweep of all time rules over 100k parties ≤ 5 s; the forecast of 30 days ≤ 10 s;
the outbox drains ≥ 100 messages/s. The sweep and forecast run in-process through the services; the drain
sends real SMTP to an aiosmtpd server started here. Firings and messages the benchmark makes are deleted
afterwards (the bench rules are left switched off).
"""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from rich.console import Console
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from friday.accounts.models import User
from friday.automation import starters
from friday.automation.models import Firing, Rule
from friday.automation.services import forecast, sweep
from friday.core import clock
from friday.messaging.models import OutboundMessage
from friday.messaging.services import message_queue, outbox_drain
from friday.parties.models import Party


@dataclass
class Figure:
    name: str
    seconds: list[float]
    target: str
    detail: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _time_rules() -> list[Rule]:
    return [r for r in Rule.objects.all() if r.trigger["type"] != "event"]


def run(*, runs: int, messages: int, console: Console) -> list[Figure]:
    admin = User.objects.filter(username=f"{BENCH_USER_PREFIX}admin").first()
    if admin is None or not Party.objects.exists():
        raise BenchError("Run `friday bench generate` first.")
    starters.install(by=admin)
    rules = _time_rules()
    parties = Party.objects.count()
    console.print(f"{connection.vendor}: {parties:,} parties; {len(rules)} time rules (the starters).")
    figures: list[Figure] = []

    # A day's sweep: every time rule, from yesterday to now.
    sweeps, fired = [], 0
    for _ in range(runs):
        now = clock.now()
        Rule.objects.filter(pk__in=[r.pk for r in rules]).update(
            enabled=True, swept_until=now - dt.timedelta(days=1)
        )
        began = time.perf_counter()
        result = sweep(now=now)
        sweeps.append(time.perf_counter() - began)
        fired = result.fired
        Firing.objects.all().delete()
    Rule.objects.update(enabled=False)
    figures.append(Figure("sweep of a day, all time rules", sweeps, "≤ 5 s", f"{fired:,} firings a day"))

    # The forecast of the next 30 days for the same rules.
    forecasts, items = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        items = len(forecast(rules, days=30, limit=1_000_000).items)
        forecasts.append(time.perf_counter() - began)
    figures.append(Figure("forecast, 30 days", forecasts, "≤ 10 s", f"{items:,} firings forecast"))

    # The sandbox: a draft of the (live) birthday rule — customers only, a week ahead — beside the rule: both
    # 30-day forecasts and their difference, as the draft's review page and the Sandbox page compute it.
    figures.append(_sandbox(admin, runs))

    # The outbox: queue `messages`, drain them to a local SMTP server.
    figures.append(_drain(messages, console))
    return figures


def _sandbox(admin: User, runs: int) -> Figure:
    from friday.automation.services import RuleIn, forecast_diff, rule_draft_discard, rule_draft_save

    rule = Rule.objects.filter(trigger__type="yearly", trigger__field="birthday").order_by("pk").first()
    if rule is None:
        raise BenchError("The starter birthday rule is missing.")
    Rule.objects.filter(pk=rule.pk).update(enabled=True, swept_until=clock.now(), enabled_at=clock.now())
    rule.refresh_from_db()
    rule = rule_draft_save(
        by=admin,
        rule=rule,
        data=RuleIn(
            name=rule.name,
            description=rule.description,
            trigger={**rule.trigger, "days_before": 7},
            conditions={"filter": {"roles": ["customer"]}},
            actions=rule.actions,
            owner=rule.owner,
        ),
    )
    seconds, detail = [], ""
    for _ in range(runs):
        began = time.perf_counter()
        diff = forecast_diff(rule, days=30)
        seconds.append(time.perf_counter() - began)
        live = len(diff.live.items) if diff.live else 0
        detail = (
            f"live {live:,}, draft {len(diff.draft.items):,}: +{len(diff.added):,} −{len(diff.removed):,}"
        )
    rule_draft_discard(by=admin, rule=rule)
    Rule.objects.update(enabled=False)
    return Figure("sandbox: a rule draft beside the live rule, 30 days", seconds, "≤ 10 s", detail)


def _drain(messages: int, console: Console) -> Figure:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO

    class Sink:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Sink.count += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = {
        k: getattr(settings, k)
        for k in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_USE_SSL")
    }
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        "django.core.mail.backends.smtp.EmailBackend",
        "127.0.0.1",
        port,
    )
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        party = Party.objects.filter(emails__isnull=False, do_not_contact=False).first()
        if party is None:
            raise BenchError("No bench party has an email address.")
        stamp = int(time.time())
        for i in range(messages):
            message_queue(
                key=f"bench:{stamp}:{i}", party=party, subject=f"Bench {i}", body_text="Hello.\n" * 20
            )
        began = time.perf_counter()
        result = outbox_drain(worker_id="bench")
        seconds = time.perf_counter() - began
        if result.sent != messages or Sink.count != messages:
            raise BenchError(f"Sent {result.sent}, received {Sink.count} of {messages}.")
        OutboundMessage.objects.filter(key__startswith=f"bench:{stamp}:").delete()
    finally:
        controller.stop()
        for k, v in saved.items():
            setattr(settings, k, v)
    rate = messages / seconds
    return Figure(
        "outbox drain to SMTP", [seconds], "≥ 100 msg/s", f"{messages:,} messages, {rate:,.0f} msg/s"
    )


def report(figures: list[Figure], console: Console) -> None:
    table = Table("measure", "median s", "target", "detail")
    for f in figures:
        table.add_row(f.name, f"{f.median:.2f}", f.target, f.detail)
    console.print(table)
