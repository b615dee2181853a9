"""Shapes every resource shares: pages, list queries, ids, ISO dates and times, phones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from bot.phone import normalise_phone

T = TypeVar("T")
MAX_ID = 2**63 - 1
"""Largest id SQLite and PostgreSQL can store; larger ones are refused, not overflowed."""


class Strict(BaseModel):
    """Base of request models: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Strict):
    """Base of ``PATCH`` bodies: fields may be left out, but those in ``_not_null`` not nulled."""

    _not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in self._not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Read(BaseModel):
    """Base of response models, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matches."""

    items: list[T]
    total: int
    skip: int
    limit: int


class ListQuery(Strict):
    """Pagination every list takes."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    skip: int = Field(0, ge=0, le=1_000_000_000, description="Matches to skip.")
    limit: int = Field(50, ge=1, le=500, description="Most items to return.")


class IdPath(Strict):
    """A record's id in the path."""

    id: int = Field(ge=1, le=MAX_ID)


def _whole_minute(value: dt.time) -> dt.time:
    if value.second or value.microsecond or value.tzinfo is not None:
        raise ValueError("time must be HH:MM, local to the business")
    return value


_HHMM = PlainSerializer(
    lambda value: value.isoformat(timespec="minutes"), return_type=str, when_used="json"
)
_HHMM_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^\d{2}:\d{2}$", "examples": ["19:30"]}
)

LocalTime = Annotated[dt.time, AfterValidator(_whole_minute), _HHMM, _HHMM_SCHEMA]
"""A local time of day as ``HH:MM``, as requests give it."""

StoredTime = Annotated[dt.time, _HHMM, _HHMM_SCHEMA]
"""A local time of day as ``HH:MM``, as responses show it (stored times need no checks)."""

Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=24),
    AfterValidator(normalise_phone),
    WithJsonSchema({"type": "string", "maxLength": 24, "examples": ["+919876543210"]}),
]
"""A phone number in any common spelling, stored as E.164."""

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
