"""``/api/reservations``: generated CRUD booking through the rules, availability, cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import ColumnElement

from api.crud import Resource, actor, crud_endpoints
from api.endpoint import Endpoint, Inputs
from api.errors import problem
from api.keys import BOOKINGS, BUSINESSES
from api.schemas.common import IdPath
from api.schemas.reservations import (
    AvailabilityQuery,
    AvailabilityRead,
    CancelRequest,
    ReservationCreate,
    ReservationFilters,
    ReservationPatch,
    ReservationRead,
    ReservationReplace,
    Slot,
)
from bot.config import Business
from store.booking import BookingRequest, describe
from store.errors import BookingRejectedError, NotFoundError
from store.models import Reservation

PREFIX = "/api/reservations"


def business_for(request: web.Request, slug: str, where: list[str | int]) -> Business:
    """The configured business ``slug``, or a 422 naming the field that named it."""
    business = request.app[BUSINESSES].current.by_slug(slug)
    if business is None:
        raise problem(where, f"unknown business '{slug}'", "unknown_business")
    return business


def check_party(business: Business, party_size: int, where: list[str | int]) -> None:
    """Refuse a party size outside the business's own limits with a 422."""
    rules = business.reservations
    if not rules.min_party_size <= party_size <= rules.max_party_size:
        raise problem(
            where,
            f"{business.slug} books parties of {rules.min_party_size} to {rules.max_party_size}",
            "party_size_limit",
        )


class BookingWriter:
    """Creates, changes and deletes reservations through the booking rules."""

    async def create(self, request: web.Request, body: BaseModel) -> Reservation:
        """Book a table; 409 when the rules say no."""
        assert isinstance(body, ReservationCreate)
        business = business_for(request, body.business_id, ["body", "business_id"])
        check_party(business, body.party_size, ["body", "party_size"])
        booking = BookingRequest(
            starts_at=dt.datetime.combine(body.date, body.time),
            party_size=body.party_size,
            customer_name=body.customer_name,
            customer_phone=body.customer_phone,
            notes=body.notes,
            source=body.source,
        )
        return await request.app[BOOKINGS].book(
            business.booking_policy(), booking, actor=actor(request)
        )

    async def update(
        self, request: web.Request, record_id: int, changes: dict[str, Any]
    ) -> Reservation:
        """Move, resize or edit a reservation; moves and resizes must fit."""
        business = await self._business(request, record_id)
        if changes.get("party_size") is not None:
            check_party(business, changes["party_size"], ["body", "party_size"])
        return await request.app[BOOKINGS].update(
            business.booking_policy(), record_id, changes, actor=actor(request)
        )

    async def delete(self, request: web.Request, record_id: int) -> None:
        """Delete a reservation for good."""
        slug = await self._slug(request, record_id)
        await request.app[BOOKINGS].delete(slug, record_id, actor=actor(request))

    async def _slug(self, request: web.Request, record_id: int) -> str:
        slug = await request.app[BOOKINGS].business_of(record_id)
        if slug is None:
            raise NotFoundError("Reservation not found")
        return slug

    async def _business(self, request: web.Request, record_id: int) -> Business:
        slug = await self._slug(request, record_id)
        business = request.app[BUSINESSES].current.by_slug(slug)
        if business is None:
            raise BookingRejectedError(
                f"business '{slug}' is no longer configured; its reservations cannot change",
                code="unknown_business",
            )
        return business


async def availability(inputs: Inputs[Any, AvailabilityQuery, Any]) -> AvailabilityRead:
    """Whether a party fits, by the same rules the bot uses."""
    query = inputs.query
    business = business_for(inputs.request, query.business_id, ["query", "business_id"])
    starts_at = dt.datetime.combine(query.date, query.time)
    answer = await inputs.request.app[BOOKINGS].availability(
        business.booking_policy(), starts_at, query.party_size
    )
    return AvailabilityRead(
        available=answer.available,
        reason=answer.reason,
        message=describe(answer),
        business_id=business.slug,
        date=query.date,
        time=query.time,
        party_size=query.party_size,
        seats_left=answer.seats_left,
        alternatives=[Slot(date=a.date(), time=a.time()) for a in answer.alternatives],
    )


async def cancel(inputs: Inputs[IdPath, Any, CancelRequest]) -> ReservationRead:
    """Cancel a reservation; cancelling twice changes nothing."""
    request = inputs.request
    slug = await BookingWriter()._slug(request, inputs.path.id)
    who = inputs.body.cancelled_by if inputs.body.cancelled_by else actor(request)
    cancelled = await request.app[BOOKINGS].cancel(slug, inputs.path.id, actor=who)
    return ReservationRead.model_validate(cancelled)


def _where(filters: ReservationFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.business_id is not None:
        conditions.append(Reservation.business_id == filters.business_id)
    if filters.status is not None:
        conditions.append(Reservation.status == filters.status)
    if filters.date_from is not None:
        conditions.append(
            Reservation.starts_at >= dt.datetime.combine(filters.date_from, dt.time())
        )
    if filters.date_to is not None:
        day_after = filters.date_to + dt.timedelta(days=1)
        conditions.append(Reservation.starts_at < dt.datetime.combine(day_after, dt.time()))
    if filters.phone is not None:
        conditions.append(Reservation.customer_phone == filters.phone)
    if filters.q:
        pattern = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Reservation.customer_name.ilike(f"%{pattern}%", escape="\\"))
    return conditions


RESERVATIONS: Resource[Reservation] = Resource(
    name="Reservation",
    prefix=PREFIX,
    model=Reservation,
    read=ReservationRead,
    create=ReservationCreate,
    replace=ReservationReplace,
    patch=ReservationPatch,
    filters=ReservationFilters,
    where=_where,
    order_by=lambda: (Reservation.starts_at, Reservation.id),
    writer=BookingWriter(),
    extra=(
        Endpoint(
            "GET",
            f"{PREFIX}/availability",
            availability,
            "Check availability",
            "reservations",
            "check_availability",
            query_model=AvailabilityQuery,
            response=AvailabilityRead,
        ),
        Endpoint(
            "POST",
            f"{PREFIX}/{{id}}/cancel",
            cancel,
            "Cancel a reservation",
            "reservations",
            "cancel_reservation",
            path_model=IdPath,
            body_model=CancelRequest,
            body_required=False,
            response=ReservationRead,
            errors=(404, 409),
        ),
    ),
)


def endpoints() -> list[Endpoint]:
    """Every reservation route."""
    return crud_endpoints(RESERVATIONS)
