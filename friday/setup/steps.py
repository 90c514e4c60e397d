"""The guide's steps, as a registry: each app that owns a step registers it (the strategy app adds "goals").

A step has a key, a title, an order, the page that does it (a URL name such as "setup:business", or a path) and
`done`, a check over real data — a process published, a rule switched on — never only the click.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    order: int
    url: str
    done: Callable[[], bool]
    summary: Callable[[], str] | None = (
        None  # what is already set, in a few words ("3 terms", "GBP, Europe/London")
    )
    why: str = ""

    def href(self) -> str:
        if self.url.startswith("/"):
            return self.url
        try:
            return reverse(self.url)
        except NoReverseMatch:
            return ""


_STEPS: dict[str, Step] = {}


def register_step(
    key: str,
    title: str,
    *,
    order: int,
    url: str,
    done: Callable[[], bool],
    summary: Callable[[], str] | None = None,
    why: str = "",
) -> Step:
    """Add (or replace, by key) a step of the guide. Call it from an AppConfig.ready()."""
    if not key or len(key) > 40:
        raise ValueError("A step key is 1 to 40 characters.")
    step = Step(key=key, title=title, order=order, url=url, done=done, summary=summary, why=why)
    _STEPS[key] = step
    return step


def unregister_step(key: str) -> None:
    _STEPS.pop(key, None)


def steps() -> list[Step]:
    return sorted(_STEPS.values(), key=lambda s: (s.order, s.key))


def step_get(key: str) -> Step | None:
    return _STEPS.get(key)
