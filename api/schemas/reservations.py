"""Reservation request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, model_validator

from api.schemas.common import (
    ListQuery,
    LocalTime,
    Name,
    Notes,
    Patch,
    Phone,
    Read,
    Slug,
    StoredTime,
    Strict,
)
from store.availability import Reason
from store.models import ReservationSource, ReservationStatus


class ReservationRead(Read):
    """A reservation as stored."""

    @model_validator(mode="before")
    @classmethod
    def _split_start(cls, data: Any) -> Any:
        """Rows from the database carry ``starts_at``; the API shows its date and time."""
        if type(data) is dict and "date" not in data and "starts_at" in data:
            start = data["starts_at"]
            return {**data, "date": start.date(), "time": start.time()}
        return data

    id: int
    code: str = Field(description="Short booking code the guest can read out.")
    business_id: str
    customer_name: str
    customer_phone: str | None
    party_size: int
    date: dt.date
    time: StoredTime
    duration_minutes: int
    status: ReservationStatus
    notes: str | None
    source: ReservationSource
    call_id: str | None
    cancelled_by: str | None
    cancelled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ReservationCreate(Strict):
    """A new booking; it goes through the booking rules."""

    business_id: Slug
    customer_name: Name
    customer_phone: Phone | None = None
    party_size: int = Field(ge=1, le=1000)
    date: dt.date
    time: LocalTime
    notes: Notes | None = None
    source: ReservationSource = ReservationSource.ADMIN


class ReservationReplace(Strict):
    """Every changeable field of a reservation (``PUT``)."""

    customer_name: Name
    customer_phone: Phone | None = None
    party_size: int = Field(ge=1, le=1000)
    date: dt.date
    time: LocalTime
    notes: Notes | None = None
    status: ReservationStatus


class ReservationPatch(Patch):
    """Some fields of a reservation (``PATCH``); a moved date needs no time and vice versa."""

    _not_null = ("customer_name", "party_size", "date", "time", "status")

    customer_name: Name | None = None
    customer_phone: Phone | None = None
    party_size: int | None = Field(None, ge=1, le=1000)
    date: dt.date | None = None
    time: LocalTime | None = None
    notes: Notes | None = None
    status: ReservationStatus | None = None


class ReservationFilters(ListQuery):
    """Filters of the reservation list."""

    business_id: Slug | None = None
    status: ReservationStatus | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    phone: Phone | None = None
    q: str | None = Field(None, max_length=120, description="Part of the guest's name.")


class AvailabilityQuery(Strict):
    """A party asking whether a time is free."""

    model_config = Strict.model_config | {"extra": "ignore"}

    business_id: Slug
    date: dt.date
    time: LocalTime
    party_size: int = Field(ge=1, le=1000)


class Slot(Strict):
    """A local date and time."""

    date: dt.date
    time: LocalTime


class AvailabilityRead(Strict):
    """Whether the party fits, why not, and what would."""

    available: bool
    reason: Reason
    message: str
    business_id: str
    date: dt.date
    time: LocalTime
    party_size: int
    seats_left: int
    alternatives: list[Slot]


class CancelRequest(Strict):
    """Who is cancelling (defaults to the API actor)."""

    cancelled_by: Name | None = None
