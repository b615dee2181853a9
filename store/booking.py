"""Booking, changing and cancelling reservations: single transactions that cannot overbook."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store.audit import record_change, snapshot
from store.availability import Availability, Occupancy, Reason, check, search_range
from store.db import Database
from store.errors import BookingRejectedError, InvalidRequestError, NotFoundError
from store.models import Reservation, ReservationSource, ReservationStatus, utcnow
from store.policy import MAX_DINING_MINUTES, BookingPolicy

CODE_ALPHABET = "ACEFHJKLMNPRTWXY34679"
"""Letters and digits that stay distinct when read aloud over a phone line."""
CODE_LENGTH = 6
SEARCH_DAYS = 7
"""How many days after the requested one to search for alternatives."""

_HOLDING_FIELDS = frozenset({"starts_at", "party_size", "status"})


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A party asking for a table.

    Attributes:
        starts_at: Local start, naive, in the business's timezone.
        party_size: How many guests.
        customer_name: Whom the table is for.
        customer_phone: E.164 number to reach them, if known.
        notes: Special requests (high chair, birthday, allergies).
        source: Whether the booking came by phone or from an admin.
        call_id: The Plivo call it came from.
    """

    starts_at: dt.datetime
    party_size: int
    customer_name: str
    customer_phone: str | None = None
    notes: str | None = None
    source: ReservationSource = ReservationSource.ADMIN
    call_id: str | None = None


class Bookings:
    """The one path by which reservations are checked, made, changed and cancelled.

    Args:
        db: The database.
        clock: Returns the current instant (aware); tests pass a fixed one.
    """

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def availability(
        self, policy: BookingPolicy, starts_at: dt.datetime, party_size: int
    ) -> Availability:
        """Whether ``party_size`` guests can sit down at ``starts_at``, with alternatives if not."""
        now = self.clock()
        return await self.db.run_read(
            lambda connection: _judge(connection, policy, starts_at, party_size, now)
        )

    async def book(
        self, policy: BookingPolicy, request: BookingRequest, *, actor: str
    ) -> Reservation:
        """Check and book in one transaction.

        Raises:
            BookingRejectedError: The request breaks a rule or the seats are gone; the code is
                the :class:`~store.availability.Reason` and the message says which.
        """
        async with self.db.write(policy.business_id) as session:
            answer = await _judge_in(
                session, policy, request.starts_at, request.party_size, self.clock()
            )
            _require(answer)
            reservation = Reservation(
                code=await _unused_code(session, policy.business_id),
                business_id=policy.business_id,
                customer_name=request.customer_name,
                customer_phone=request.customer_phone,
                party_size=request.party_size,
                starts_at=request.starts_at,
                duration_minutes=policy.dining_minutes,
                status=ReservationStatus.CONFIRMED,
                notes=request.notes,
                source=request.source,
                call_id=request.call_id,
            )
            session.add(reservation)
            await session.flush()
            record_change(session, actor=actor, action="create", record=reservation, before=None)
        return reservation

    async def update(
        self,
        policy: BookingPolicy,
        reservation_id: int,
        changes: Mapping[str, Any],
        *,
        actor: str,
    ) -> Reservation:
        """Change fields of a reservation; moves and resizes are judged by the rules first.

        A confirmed reservation that moves, grows, or comes back from cancelled must fit, not
        counting the seats it already holds itself. ``changes`` may give ``date`` and ``time``
        separately instead of ``starts_at``; the other half comes from the reservation as it is
        inside the transaction.

        Raises:
            NotFoundError: No such reservation for this business.
            InvalidRequestError: ``changes`` names a field that cannot be changed.
            BookingRejectedError: The changed reservation would break a rule.
        """
        editable = {column.key for column in Reservation.__table__.columns} - {
            "id",
            "code",
            "business_id",
            "created_at",
            "updated_at",
            "duration_minutes",
        }
        unknown = set(changes) - editable - {"date", "time"}
        if unknown:
            raise InvalidRequestError(f"cannot change: {', '.join(sorted(unknown))}")

        async with self.db.write(policy.business_id) as session:
            reservation = await _get_for_update(session, policy.business_id, reservation_id)
            before = snapshot(reservation)
            changes = _with_start(changes, reservation.starts_at)
            moved = any(
                key in _HOLDING_FIELDS and changes[key] != getattr(reservation, key)
                for key in changes
            )
            for key, value in changes.items():
                setattr(reservation, key, value)
            if moved and reservation.status is ReservationStatus.CONFIRMED:
                answer = await _judge_in(
                    session,
                    policy,
                    reservation.starts_at,
                    reservation.party_size,
                    self.clock(),
                    exclude_id=reservation.id,
                )
                _require(answer)
                reservation.duration_minutes = policy.dining_minutes
            await session.flush()
            record_change(session, actor=actor, action="update", record=reservation, before=before)
        return reservation

    async def cancel(self, business_id: str, reservation_id: int, *, actor: str) -> Reservation:
        """Cancel a reservation; cancelling one that is already cancelled changes nothing.

        Raises:
            NotFoundError: No such reservation for this business.
            BookingRejectedError: The reservation is completed or a no-show.
        """
        async with self.db.write(business_id) as session:
            reservation = await _get_for_update(session, business_id, reservation_id)
            if reservation.status is ReservationStatus.CANCELLED:
                return reservation
            if reservation.status is not ReservationStatus.CONFIRMED:
                raise BookingRejectedError(
                    f"a {reservation.status.value} reservation cannot be cancelled",
                    code="not_cancellable",
                )
            before = snapshot(reservation)
            reservation.status = ReservationStatus.CANCELLED
            reservation.cancelled_by = actor
            reservation.cancelled_at = self.clock()
            await session.flush()
            record_change(session, actor=actor, action="cancel", record=reservation, before=before)
        return reservation

    async def delete(self, business_id: str, reservation_id: int, *, actor: str) -> None:
        """Delete a reservation for good (cancelling keeps it on record; prefer that).

        Raises:
            NotFoundError: No such reservation for this business.
        """
        async with self.db.write(business_id) as session:
            reservation = await _get_for_update(session, business_id, reservation_id)
            before = snapshot(reservation)
            await session.delete(reservation)
            record_change(session, actor=actor, action="delete", record=reservation, before=before)

    async def business_of(self, reservation_id: int) -> str | None:
        """The business a reservation belongs to, if it exists."""
        async with self.db.read() as session:
            found = await session.scalar(
                select(Reservation.business_id).where(Reservation.id == reservation_id)
            )
            return found

    async def find_by_code(self, business_id: str, code: str) -> Reservation | None:
        """The reservation with this booking code, if any (case and spaces ignored)."""
        normalised = "".join(code.split()).upper()
        async with self.db.read() as session:
            found = await session.scalars(
                select(Reservation).where(
                    Reservation.business_id == business_id, Reservation.code == normalised
                )
            )
            return found.first()

    async def find_by_phone(
        self, business_id: str, phone: str, *, upcoming_from: dt.datetime | None = None
    ) -> list[Reservation]:
        """Confirmed reservations made with this phone number, soonest first."""
        statement = select(Reservation).where(
            Reservation.business_id == business_id,
            Reservation.customer_phone == phone,
            Reservation.status == ReservationStatus.CONFIRMED,
        )
        if upcoming_from is not None:
            statement = statement.where(Reservation.starts_at >= upcoming_from)
        async with self.db.read() as session:
            found = await session.scalars(statement.order_by(Reservation.starts_at))
            return list(found)


def _judge(
    connection: Connection,
    policy: BookingPolicy,
    starts_at: dt.datetime,
    party_size: int,
    now: dt.datetime,
    *,
    exclude_id: int | None = None,
) -> Availability:
    """Judge a request on the seats held now, reading no more rows than the answer needs.

    Most requests fit and need only the holdings around the requested time. One that does not
    fit reads its whole day for alternatives, and the following week only if that day has too
    few. Synchronous, so that a read can run whole in one database thread.
    """

    def occupancy(start: dt.datetime, end: dt.datetime) -> Occupancy:
        statement = _HOLDINGS if exclude_id is None else _HOLDINGS_EXCEPT
        values = {
            "business_id": policy.business_id,
            "since": start - _LOOKBACK,
            "until": end,
            "exclude_id": exclude_id,
        }
        return Occupancy(connection.execute(statement, values))

    dining = dt.timedelta(minutes=policy.dining_minutes)
    held = occupancy(starts_at, starts_at + dining)
    answer = check(policy, starts_at, party_size, held, now, with_alternatives=False)
    if answer.available or answer.reason in _UNFIXABLE or not policy.alternatives:
        return answer

    for search_days in (0, SEARCH_DAYS):
        held = occupancy(*search_range(policy, starts_at, search_days))
        answer = check(policy, starts_at, party_size, held, now, search_days=search_days)
        if len(answer.alternatives) >= policy.alternatives:
            break
    return answer


async def _judge_in(
    session: AsyncSession,
    policy: BookingPolicy,
    starts_at: dt.datetime,
    party_size: int,
    now: dt.datetime,
    *,
    exclude_id: int | None = None,
) -> Availability:
    """:func:`_judge` inside a write transaction, on the transaction's own connection."""
    return await session.run_sync(
        lambda sync_session: _judge(
            sync_session.connection(), policy, starts_at, party_size, now, exclude_id=exclude_id
        )
    )


def holdings_query(
    business_id: str, start: dt.datetime, end: dt.datetime
) -> Select[dt.datetime, int, int]:
    """Confirmed reservations that may overlap ``[start, end)``, with the values bound."""
    return _HOLDINGS.params(business_id=business_id, since=start - _LOOKBACK, until=end)


_LOOKBACK = dt.timedelta(minutes=MAX_DINING_MINUTES)
# Built once: the status test is a literal, not a bound parameter, so that SQLite can answer
# from the partial covering index ``ix_reservations_holding``.
_HOLDINGS = select(
    Reservation.starts_at, Reservation.duration_minutes, Reservation.party_size
).where(
    Reservation.business_id == bindparam("business_id"),
    text("status = 'confirmed'"),
    Reservation.starts_at > bindparam("since", type_=Reservation.starts_at.type),
    Reservation.starts_at < bindparam("until", type_=Reservation.starts_at.type),
)
_HOLDINGS_EXCEPT = _HOLDINGS.where(Reservation.id != bindparam("exclude_id"))
_UNFIXABLE = (Reason.PARTY_TOO_SMALL, Reason.PARTY_TOO_LARGE)


def _require(answer: Availability) -> None:
    if not answer.available:
        raise BookingRejectedError(describe(answer), code=answer.reason.value)


def describe(answer: Availability) -> str:
    """A sentence for a person saying why a request was (not) available."""
    when = answer.starts_at.strftime("%Y-%m-%d %H:%M")
    texts = {
        "available": f"{answer.seats_left} seats are free at {when}",
        "party_too_small": f"a party of {answer.party_size} is smaller than we can book",
        "party_too_large": f"a party of {answer.party_size} is larger than we can book",
        "in_past": f"{when} has already passed",
        "too_soon": f"{when} is too soon to book",
        "beyond_horizon": f"bookings for {when} are not open yet",
        "closed_date": f"the restaurant is closed on {answer.starts_at:%Y-%m-%d}",
        "closed": f"the restaurant does not seat guests at {when}",
        "off_slot": f"{when} is not a bookable time slot",
        "full": f"there is no room for {answer.party_size} at {when}",
    }
    return texts[answer.reason.value]


def _with_start(changes: Mapping[str, Any], current: dt.datetime) -> dict[str, Any]:
    """``changes`` with any ``date``/``time`` folded into ``starts_at``."""
    folded = dict(changes)
    day, moment = folded.pop("date", None), folded.pop("time", None)
    if day is not None or moment is not None:
        folded["starts_at"] = dt.datetime.combine(day or current.date(), moment or current.time())
    return folded


async def _get_for_update(
    session: AsyncSession, business_id: str, reservation_id: int
) -> Reservation:
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None or reservation.business_id != business_id:
        raise NotFoundError("Reservation not found")
    return reservation


async def _unused_code(session: AsyncSession, business_id: str) -> str:
    """A fresh booking code; the caller holds the business's write lock, so none can race it."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        taken = await session.scalar(
            select(Reservation.id).where(
                Reservation.business_id == business_id, Reservation.code == code
            )
        )
        if taken is None:
            return code
