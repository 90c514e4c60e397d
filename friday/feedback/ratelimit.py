"""Counting attempts in fixed windows, in Django's cache: the public feedback pages use it per client address
and per link. With the default local-memory cache each process counts on its own (see docs/feedback.md)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def over_limit(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one attempt for (scope, ident); True when this attempt is past `limit` in the current window."""
    if limit <= 0:
        return False
    key = "friday:rate:" + scope + ":" + hashlib.sha256(ident.encode()).hexdigest()[:32]
    # add() starts the window only if it is not running; incr() is atomic in the cache backends that share.
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add() and incr(): this is the first of a new one
        cache.add(key, 1, timeout=window)
        count = 1
    return count > limit
