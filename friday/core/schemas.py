"""Shared pieces of API schemas: bounded text without NUL bytes, strict input models, the error body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from friday.core.ids import MAX_ID


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("null characters are not allowed")
    return value


# Bounded text without NUL bytes (PostgreSQL refuses them): StrN holds at most N characters.
Str2 = Annotated[str, StringConstraints(max_length=2), AfterValidator(_no_nul)]
Str3 = Annotated[str, StringConstraints(max_length=3), AfterValidator(_no_nul)]
Str20 = Annotated[str, StringConstraints(max_length=20), AfterValidator(_no_nul)]
Str30 = Annotated[str, StringConstraints(max_length=30), AfterValidator(_no_nul)]
Str40 = Annotated[str, StringConstraints(max_length=40), AfterValidator(_no_nul)]
Str50 = Annotated[str, StringConstraints(max_length=50), AfterValidator(_no_nul)]
Str60 = Annotated[str, StringConstraints(max_length=60), AfterValidator(_no_nul)]
Str64 = Annotated[str, StringConstraints(max_length=64), AfterValidator(_no_nul)]
Str100 = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_nul)]
Str120 = Annotated[str, StringConstraints(max_length=120), AfterValidator(_no_nul)]
Str200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
Str220 = Annotated[str, StringConstraints(max_length=220), AfterValidator(_no_nul)]
Str254 = Annotated[str, StringConstraints(max_length=254), AfterValidator(_no_nul)]
Str500 = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
Str2000 = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Str10k = Annotated[str, StringConstraints(max_length=10000), AfterValidator(_no_nul)]


def _moment(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 2999:
        raise ValueError("give a date between the years 1900 and 2999")
    offset = value.utcoffset()
    if offset is not None and abs(offset) > dt.timedelta(hours=14):
        raise ValueError("a time zone offset is at most 14 hours either way")
    return value


# A moment as clients may send it: a sensible year and a real time zone offset (a database refuses the rest, and
# a refusal must be a 422 naming the field, not a server error). Without an offset, services read it on the
# business's clock.
Moment = Annotated[dt.datetime, AfterValidator(_moment)]


# Ids as clients may send them: a positive 64-bit integer (larger ones cannot exist and would overflow SQL).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class InSchema(Schema):
    """Input schemas refuse unknown fields: a typo or a field you may not set is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    code: str = Field(examples=["party.not_found"])
    detail: str
    field: str | None = None
