"""Friday's benchmark: a realistic dataset generator and HTTP measurements (`friday bench`, not run by `make test`)."""

from __future__ import annotations

# Usernames of the users the generator and the runner create; bench data is recognised by them.
BENCH_USER_PREFIX = "bench-"


class BenchError(Exception):
    """A refusal or failure the `friday bench` command prints as a plain message, without a traceback."""
