"""`friday bench run`: start the real server, time the party endpoints over HTTP, and compare with raw SQL.

For every request path it also runs the same request in-process (django.test.Client) under
CaptureQueriesContext, which counts the queries, and an execute wrapper, which records each statement with its
bound parameters exactly as Django sent it. Those are then replayed with a plain cursor to time the database's
share of the same rows. (Replaying the interpolated SQL instead would hide plans that differ with bound
parameters: SQLite plans `a > ?1 OR (a = ?2 AND b > ?3)` differently from the same with literals.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import django
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError
from friday.accounts.models import ApiToken, Role, Scope, User
from friday.accounts.services import token_create, token_revoke, user_create
from friday.core.pagination import encode_cursor
from friday.parties import selectors
from friday.parties.models import Activity, Party

Statement = tuple[str, tuple[Any, ...]]
TARGET_P95_MS = 50.0
TARGET_RATIO = 3.0
WARMUP = 5
RUNNER = BENCH_USER_PREFIX + "runner"
MEMBER = BENCH_USER_PREFIX + "amy"


@dataclass
class Endpoint:
    key: str
    label: str
    paths: list[str]
    headers: dict[str, str]
    client: Client
    table: str  # the selector's main table: its first query on this table is "the selector query"
    http_ms: list[float] = field(default_factory=list)
    selector_ms: list[float] = field(default_factory=list)
    all_sql_ms: list[float] = field(default_factory=list)
    # Per request: the statements (SQL with placeholders, parameters) and the query count.
    queries: list[list[Statement]] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = self.counts
        selector = _selector(self.queries[-1], self.table)
        http_p95, selector_p95, all_p95 = (
            pct(self.http_ms, 95),
            pct(self.selector_ms, 95),
            pct(self.all_sql_ms, 95),
        )
        return {
            "endpoint": self.label,
            "example": self.paths[0],
            "requests": len(self.http_ms),
            "http_ms": {"p50": pct(self.http_ms, 50), "p95": http_p95, "max": max(self.http_ms)},
            "selector_sql_ms": {"p50": pct(self.selector_ms, 50), "p95": selector_p95},
            "all_sql_ms": {"p50": pct(self.all_sql_ms, 50), "p95": all_p95},
            "ratio_selector": http_p95 / selector_p95 if selector_p95 else None,
            "ratio_all_sql": http_p95 / all_p95 if all_p95 else None,
            "queries": {"min": min(counts), "max": max(counts)},
            "selector_sql": selector[0] if selector else "",
            "selector_params": [str(p) for p in selector[1]] if selector else [],
            "selector_plan": self.plan,
        }


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def run(*, requests: int, port: int | None, seed: int, save: bool, console: Console) -> dict[str, Any]:
    if requests < 1:
        raise BenchError("--requests must be at least 1.")
    total = Party.objects.count()
    if total < 100:
        raise BenchError(f"Only {total} parties here: run `friday bench generate` first.")
    rng = random.Random(seed)
    commit = _commit()
    runner = _runner()
    member = User.objects.filter(username=MEMBER, is_active=True).first()
    tokens: list[ApiToken] = []
    server: subprocess.Popen[bytes] | None = None
    log = tempfile.NamedTemporaryFile(prefix="friday-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    try:
        token, raw = token_create(user=runner, name="friday bench run")
        tokens.append(token)
        member_raw = None
        if member is not None:
            member_token, member_raw = token_create(user=member, name="friday bench run", by=runner)
            tokens.append(member_token)
        with console.status("Choosing rows and capturing each request's queries in-process…"):
            endpoints = _endpoints(rng, requests, runner, member, raw, member_raw)
            for endpoint in endpoints:
                _capture(endpoint)
        port = port or _free_port()
        with console.status(f"Starting `friday serve --port {port}`…"):
            server = _serve(port, log)
        _measure_http(endpoints, port, server, console)
        with console.status("Replaying the captured SQL with a plain cursor…"):
            for endpoint in endpoints:
                _replay(endpoint)
    finally:
        if server is not None:
            _stop(server)
        signal.signal(signal.SIGTERM, previous_sigterm)
        for t in tokens:
            token_revoke(token=t, by=runner)
        log.close()

    if _commit() != commit:
        console.print(f"[red]The code changed during the run ({commit} → {_commit()}): measure again.[/]")
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "environment": _environment(),
        "dataset": _dataset(),
        "requests_per_endpoint": requests,
        "targets": {"http_p95_ms": TARGET_P95_MS, "ratio": TARGET_RATIO},
        "endpoints": [e.summary() for e in endpoints],
    }
    _print(result, console)
    if save:
        out = Path(settings.BASE_DIR) / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"run-{connection.vendor}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        console.print(f"Saved {path.relative_to(settings.BASE_DIR)}")
    Path(log.name).unlink(missing_ok=True)
    return result


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# --- who asks, and what -----------------------------------------------------------------------------------


def _runner() -> User:
    """The admin the benchmark signs in as: reused when it exists, created through the service otherwise."""
    user = User.objects.filter(username=RUNNER).first()
    if user is None:
        user = user_create(
            by=None,
            username=RUNNER,
            password=secrets.token_urlsafe(18),
            role=Role.ADMIN,
            scope=Scope.ALL,
            first_name="Bench",
            last_name="Runner",
        )
    if not user.is_admin:
        raise BenchError(f"The user {RUNNER!r} exists but is not an active admin.")
    return user


def _endpoints(
    rng: random.Random, n: int, runner: User, member: User | None, raw: str, member_raw: str | None
) -> list[Endpoint]:
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw}")
    pages = Client(HTTP_HOST="127.0.0.1")
    pages.force_login(runner)
    bearer = {"Authorization": f"Bearer {raw}"}
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={pages.cookies[settings.SESSION_COOKIE_NAME].value}"}

    ids = list(Party.objects.values_list("id", flat=True))
    party_ids = [rng.choice(ids) for _ in range(n)]
    deep = _deep_cursors(rng, n, selectors.parties_visible(runner))
    terms = _search_terms(rng, n, ids)
    lists = "/api/v1/parties?limit=50"
    party, activity = "parties_party", "parties_activity"
    endpoints = [
        Endpoint("list", "list, page 1", [lists] * n, bearer, api, party),
        Endpoint("deep", "list, deep page", [f"{lists}&cursor={c}" for c in deep], bearer, api, party),
        Endpoint("search", "search, 3 letters", [f"{lists}&q={quote(t)}" for t in terms], bearer, api, party),
        Endpoint("detail", "party", [f"/api/v1/parties/{i}" for i in party_ids], bearer, api, party),
        Endpoint(
            "timeline",
            "party timeline",
            [f"/api/v1/parties/{i}/activities" for i in party_ids],
            bearer,
            api,
            activity,
        ),
        Endpoint("page_list", "page: list, page 1", ["/parties/"] * n, cookie, pages, party),
        Endpoint(
            "page_deep", "page: list, deep", [f"/parties/?cursor={c}" for c in deep], cookie, pages, party
        ),
        Endpoint("page_detail", "page: party", [f"/parties/{i}/" for i in party_ids], cookie, pages, party),
    ]
    if member is not None and member_raw is not None:
        # A member with team scope: every list carries the visibility filter (own or own teams' records).
        as_member = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {member_raw}")
        member_bearer = {"Authorization": f"Bearer {member_raw}"}
        member_deep = _deep_cursors(rng, n, selectors.parties_visible(member))
        member_ids = list(selectors.parties_visible(member).values_list("id", flat=True))
        member_party_ids = [rng.choice(member_ids) for _ in range(n)]
        endpoints += [
            Endpoint("member_list", "member: list, page 1", [lists] * n, member_bearer, as_member, party),
            Endpoint(
                "member_deep",
                "member: list, deep",
                [f"{lists}&cursor={c}" for c in member_deep],
                member_bearer,
                as_member,
                party,
            ),
            Endpoint(
                "member_detail",
                "member: party",
                [f"/api/v1/parties/{i}" for i in member_party_ids],
                member_bearer,
                as_member,
                party,
            ),
            Endpoint(
                "member_search",
                "member: search",
                [f"{lists}&q={quote(t)}" for t in terms],
                member_bearer,
                as_member,
                party,
            ),
        ]
    return endpoints


def _deep_cursors(rng: random.Random, n: int, visible: Any) -> list[str]:
    """Cursors at rows between 88% and 92% of the name order: each opens a page near the 90% position."""
    count = visible.count()
    ordered = visible.order_by("sort_name", "id").values_list("sort_name", "id")
    cursors = []
    for _ in range(n):
        sort_name, pk = ordered[int(count * rng.uniform(0.88, 0.92))]
        cursors.append(encode_cursor([sort_name, pk]))
    return cursors


def _search_terms(rng: random.Random, n: int, ids: list[int]) -> list[str]:
    """Three letters taken from real names, as a user starts typing part of one."""
    names = dict(
        Party.objects.filter(id__in=[rng.choice(ids) for _ in range(n * 2)]).values_list("id", "display_name")
    )
    terms: list[str] = []
    for name in names.values():
        parts = [w for w in name.split() if len(w) >= 3 and w.isalpha()]
        if parts:
            word = rng.choice(parts)
            start = rng.randrange(len(word) - 2)
            terms.append(word[start : start + 3])
        if len(terms) == n:
            break
    while len(terms) < n:
        terms.append(terms[len(terms) % max(1, len(terms))] if terms else "son")
    return terms


class _Recorder:
    """An execute wrapper that keeps every statement with its parameters, as sent to the database."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)


def _capture(endpoint: Endpoint) -> None:
    endpoint.client.get(
        endpoint.paths[0]
    )  # a warm-up: the token's last use is recorded at most once a minute
    for path in endpoint.paths:
        recorder = _Recorder()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(recorder):
            response = endpoint.client.get(path)
        if response.status_code != 200:
            raise BenchError(
                f"GET {path} answered {response.status_code} in-process: {response.content[:300]!r}"
            )
        # token_authenticate records a token's use at most once a minute: not part of the page's cost.
        touch = 'UPDATE "accounts_apitoken"'
        endpoint.counts.append(sum(1 for q in captured.captured_queries if not q["sql"].startswith(touch)))
        endpoint.queries.append([st for st in recorder.statements if not st[0].startswith(touch)])


# --- the server and HTTP ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, log: Any) -> subprocess.Popen[bytes]:
    """`friday serve` (gunicorn) against the same database; returns once /healthz answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "friday.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        start_new_session=True,  # our own Ctrl-C handling stops it, in `finally`
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"`friday serve` exited with {server.returncode}:\n{_tail(log.name)}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        time.sleep(0.2)
    _stop(server)
    raise BenchError(f"`friday serve` did not answer /healthz within 60 s:\n{_tail(log.name)}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _tail(path: str, lines: int = 30) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def _measure_http(
    endpoints: list[Endpoint], port: int, server: subprocess.Popen[bytes], console: Console
) -> None:
    with Progress(
        TextColumn("[bold]{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for endpoint in endpoints:
            task = progress.add_task(endpoint.label, total=len(endpoint.paths))
            with _connection(port) as conn:
                for path in endpoint.paths[:WARMUP]:
                    _get(conn, path, endpoint.headers, server)
                for path in endpoint.paths:
                    endpoint.http_ms.append(_get(conn, path, endpoint.headers, server))
                    progress.advance(task)


@contextlib.contextmanager
def _connection(port: int) -> Iterator[list[http.client.HTTPConnection]]:
    holder = [http.client.HTTPConnection("127.0.0.1", port, timeout=60)]
    try:
        yield holder
    finally:
        holder[0].close()


def _get(
    holder: list[http.client.HTTPConnection],
    path: str,
    headers: dict[str, str],
    server: subprocess.Popen[bytes],
) -> float:
    """One keep-alive GET; milliseconds from sending the request to the last byte of the body."""
    for attempt in (1, 2):
        conn = holder[0]
        try:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            # The server closed an idle keep-alive connection: reconnect once and time the request again.
            conn.close()
            holder[0] = http.client.HTTPConnection(conn.host, conn.port, timeout=60)
            if attempt == 2 or server.poll() is not None:
                raise BenchError(f"GET {path} failed: {exc}") from exc
            continue
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return elapsed
    raise AssertionError("unreachable")


# --- the database's share ---------------------------------------------------------------------------------


def _replay(endpoint: Endpoint) -> None:
    """Run each request's SELECTs again with a plain cursor: the selector's query alone, and all of them.

    Each request's statements run once untimed first, so both figures are the hot floor: pages cached, statements
    prepared.
    """
    for statements in endpoint.queries:
        selects = [st for st in statements if _is_select(st[0])]
        main = _selector(selects, endpoint.table)
        if main is None:
            raise BenchError(f"No query on {endpoint.table} in {endpoint.label}: {selects!r}")
        _timed(selects)
        endpoint.selector_ms.append(_timed([main]))
        endpoint.all_sql_ms.append(_timed(selects))
    last = _selector(endpoint.queries[-1], endpoint.table)
    endpoint.plan = _plan(*last) if last else []


def _selector(statements: list[Statement], table: str) -> Statement | None:
    """The selector's query: the request's first SELECT on its main table."""
    marker = f'FROM "{table}"'
    return next((st for st in statements if marker in st[0] and _is_select(st[0])), None)


def _plan(sql: str, params: tuple[Any, ...]) -> list[str]:
    """The database's plan for the selector's query, with the same bound parameters, for the JSON report."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [str(row[-1]) for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN {sql}", params)
        return [str(row[0]) for row in cursor.fetchall()]


def _is_select(sql: str) -> bool:
    return sql.lstrip().upper().startswith("SELECT")


def _timed(statements: list[Statement]) -> float:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        return (time.perf_counter() - started) * 1000


# --- reporting --------------------------------------------------------------------------------------------


def _environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": connection.vendor,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "server": "friday serve (gunicorn gthread, FRIDAY_WEB_WORKERS/THREADS defaults)",
        "commit": _commit(),
        "sqlite_stat1": _has_statistics(),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
        else:
            cursor.execute("SHOW server_version")
        env["database_version"] = cursor.fetchone()[0]
    return env


def _commit() -> str:
    """The code measured: HEAD, marked dirty when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if changes else head


def _has_statistics() -> bool | None:
    """Whether SQLite's planner has ANALYZE statistics (None on other databases)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT count(*) FROM sqlite_stat1")
        return bool(cursor.fetchone()[0])


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _dataset() -> dict[str, int]:
    return {"parties": Party.objects.count(), "activities": Activity.objects.count()}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _print(result: dict[str, Any], console: Console) -> None:
    env, data = result["environment"], result["dataset"]
    table = Table(
        title=f"Friday {env['commit']} on {env['database']} {env['database_version']}"
        f"{' (ANALYZE statistics)' if env.get('sqlite_stat1') else ''}: {data['parties']:,} parties, "
        f"{data['activities']:,} activities; {result['requests_per_endpoint']} requests each (/api/v1 unless "
        "marked page)",
        show_edge=False,
    )
    for name, justify in [
        ("endpoint", "left"),
        ("p50", "right"),
        ("p95", "right"),
        ("max", "right"),
        ("SQL p95", "right"),
        ("all SQL p95", "right"),
        ("p95÷SQL", "right"),
        ("p95÷all", "right"),
        ("queries", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result["endpoints"]:
        http, q = row["http_ms"], row["queries"]
        p95_style = "green" if http["p95"] <= TARGET_P95_MS else "red"
        ratio = row["ratio_selector"]
        ratio_style = "green" if ratio is not None and ratio <= TARGET_RATIO else "red"
        table.add_row(
            row["endpoint"],
            _ms(http["p50"]),
            f"[{p95_style}]{_ms(http['p95'])}[/]",
            _ms(http["max"]),
            _ms(row["selector_sql_ms"]["p95"]),
            _ms(row["all_sql_ms"]["p95"]),
            f"[{ratio_style}]{ratio:,.1f}x[/]" if ratio is not None else "—",
            f"{row['ratio_all_sql']:,.1f}x" if row["ratio_all_sql"] is not None else "—",
            str(q["min"]) if q["min"] == q["max"] else f"{q['min']}–{q['max']}",
        )
    console.print(table)
    console.print(
        "HTTP times in ms over one keep-alive connection. SQL p95: the selector's query replayed with a cursor "
        "(hot); all SQL p95: every SELECT the request ran, replayed. Queries: per request, counted in-process, "
        "not counting the token's last-use update (at most once a minute). "
        f"Targets: p95 ≤ {TARGET_P95_MS:.0f} ms, p95 ≤ {TARGET_RATIO:.0f}x SQL p95, the same count on page 1 "
        "and deep pages."
    )
