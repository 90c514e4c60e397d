"""A goal's periods: the calendar month, quarter or year (in the business's time zone), or a rolling window of
days; the current one runs to today, the ones before make the trend."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from friday.core import clock
from friday.strategy.models import Period

MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}


@dataclass(frozen=True)
class Span:
    """One period: [start, end) in business dates, and `upto` (exclusive): the day after the last day counted —
    `end` for a period that is over, tomorrow for the one in progress."""

    start: dt.date
    end: dt.date
    upto: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def complete(self) -> bool:
        return self.upto >= self.end

    @property
    def elapsed(self) -> Fraction:
        """How much of the period has gone, today included (1 once it is over)."""
        return Fraction(min((self.upto - self.start).days, self.days), self.days)

    def since(self) -> dt.datetime:
        return start_of(self.start)

    def until(self) -> dt.datetime:
        return start_of(self.upto)


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=clock.business_tz())


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _label(start: dt.date, period: str, end: dt.date) -> str:
    if period == Period.MONTH:
        return f"{start:%b %Y}"
    if period == Period.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if period == Period.YEAR:
        return str(start.year)
    last = end - dt.timedelta(days=1)
    return f"{start.day} {start:%b} – {last.day} {last:%b %Y}"


def spans(
    period: str, *, count: int, today: dt.date | None = None, rolling_days: int | None = None
) -> list[Span]:
    """The `count` periods ending with the one in progress on `today`, oldest first."""
    today = today or clock.today()
    tomorrow = today + dt.timedelta(days=1)
    out: list[Span] = []
    if period == Period.ROLLING:
        days = dt.timedelta(days=rolling_days or 1)
        end = tomorrow
        for _ in range(count):
            out.append(Span(end - days, end, end, _label(end - days, period, end)))
            end -= days
    else:
        step = MONTHS[Period(period)]
        first = dt.date(today.year, 1 + ((today.month - 1) // step) * step, 1)
        for i in range(count):
            start = _add_months(first, -step * i)
            end = _add_months(start, step)
            out.append(Span(start, end, min(end, tomorrow), _label(start, period, end)))
    out.reverse()
    return out


def before(span: Span, period: str, rolling_days: int | None = None) -> Span:
    """The period just before `span` (complete)."""
    if period == Period.ROLLING:
        days = dt.timedelta(days=rolling_days or 1)
        start = span.start - days
        return Span(start, span.start, span.start, _label(start, period, span.start))
    start = _add_months(span.start, -MONTHS[Period(period)])
    return Span(start, span.start, span.start, _label(start, period, span.start))
