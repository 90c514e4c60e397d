"""The processes that check a big import's rows while the worker writes them.

Kept free of Django imports at module level: a spawned process imports this module to find its functions
before Django is set up, and sets Django up itself (`start`).
"""

from __future__ import annotations

import gc
import os
import pickle
from typing import Any

_CONTEXT: Any = None
_FIELDS: tuple[str, ...] = ()


def start(context_bytes: bytes) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "friday.settings")
    import django

    django.setup()
    from friday.core import business
    from friday.imports.validate import Clean

    global _CONTEXT, _FIELDS
    _CONTEXT = pickle.loads(context_bytes)  # noqa: S301  (our own object, from the parent process)
    business.pin(_CONTEXT.business)  # every row read with the import's business; no database needed here
    _FIELDS = tuple(Clean.__slots__)
    # As in the writer (`fastinsert.bulk_session`): no automatic cyclic collections while a batch is checked
    # — they walked Django's whole heap again and again — but one of the young objects after each batch.
    gc.freeze()
    gc.disable()


def started() -> bool:
    """Answered once a process has started and set Django up: the pool can take rows."""
    return True


def check(rows: list) -> list[tuple]:
    """Check rows; send back only what the rows do not already hold (half the pickling)."""
    from friday.imports.validate import check_row

    out = []
    for row in rows:
        checked = check_row(row, _CONTEXT)
        clean = checked.clean
        state = None if clean is None else tuple(getattr(clean, name) for name in _FIELDS)
        out.append((checked.empty, checked.problems, state))
    gc.collect(1)
    return out
