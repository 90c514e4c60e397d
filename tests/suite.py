"""`make test`: lint, then the whole suite on SQLite, then again on a throwaway PostgreSQL cluster.

Locally a missing PostgreSQL or Chromium skips with a clear message; with FRIDAY_REQUIRE_ALL=1 (CI) it fails.
Extra arguments are passed to pytest (`make test ARGS="-k party"`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REQUIRE_ALL = os.environ.get("FRIDAY_REQUIRE_ALL") == "1"


def say(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def lint() -> int:
    say("lint: ruff and mypy")
    for argv in (
        [BIN / "ruff", "format", "--check", "friday", "tests", "bench"],
        [BIN / "ruff", "check", "friday", "tests", "bench"],
        [BIN / "mypy"],
    ):
        code = subprocess.call([str(a) for a in argv], cwd=ROOT)
        if code:
            return code
    return 0


def pg_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway cluster on a free loopback port; as the `postgres` OS user when running as root."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("initdb")
    tmp = Path(tempfile.mkdtemp(prefix="friday-pg-"))
    data = tmp / "data"
    port = free_port()
    as_root = os.geteuid() == 0

    def run(cmd: list[str]) -> None:
        if as_root:
            subprocess.run(
                ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        else:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    if as_root:
        pg = pwd.getpwnam("postgres")
        os.chown(tmp, pg.pw_uid, pg.pw_gid)
    run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    opts = (
        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=100"
    )
    run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-o", f"'{opts}'", "-w", "start"])
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/friday"
    finally:
        run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def pytest(label: str, env: dict[str, str], args: list[str]) -> int:
    say(f"tests on {label}")
    started = time.monotonic()
    code = subprocess.call([str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT, env=env)
    print(f"--- {label}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code


def main() -> int:
    args = sys.argv[1:]
    if not args and lint():
        return 1
    data_dir = tempfile.mkdtemp(prefix="friday-test-")
    base_env = {
        **os.environ,
        "FRIDAY_DATA_DIR": data_dir,
        "FRIDAY_EMAIL_URL": "memory://",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    }
    base_env.pop("FRIDAY_DATABASE_URL", None)
    failed = pytest("SQLite", base_env, args)
    try:
        with postgres_cluster() as url:
            # Tests marked `once` do not depend on the database: they run in the SQLite pass only.
            pg_args = args if "-m" in args else [*args, "-m", "not once"]
            failed |= pytest("PostgreSQL", {**base_env, "FRIDAY_DATABASE_URL": url}, pg_args)
    except FileNotFoundError:
        message = "skipped: PostgreSQL not found (install the postgresql package)"
        print(f"\n=== {message}", flush=True)
        if REQUIRE_ALL:
            print("FRIDAY_REQUIRE_ALL=1: a skipped database is a failure.")
            failed = 1
    shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
