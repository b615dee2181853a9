"""Booking, changing and cancelling reservations: single transactions that cannot overbook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)

from store.audit import write_change
from store.availability import Availability, Occupancy, Reason, check, search_range
from store.codes import nearest_code, new_code, normalise
from store.db import Database, Prepared
from store.errors import BookingRejectedError, InvalidRequestError, NotFoundError
from store.models import Reservation, ReservationSource, ReservationStatus, utcnow
from store.policy import MAX_DINING_MINUTES, BookingPolicy

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
        now = self.clock()

        def work(connection: Connection) -> Reservation:
            answer = _judge(connection, policy, request.starts_at, request.party_size, now)
            _require(answer)
            values: dict[str, Any] = {
                "code": _unused_code(connection, policy.business_id),
                "business_id": policy.business_id,
                "customer_name": request.customer_name,
                "customer_phone": request.customer_phone,
                "party_size": request.party_size,
                "starts_at": request.starts_at,
                "duration_minutes": policy.dining_minutes,
                "status": ReservationStatus.CONFIRMED,
                "notes": request.notes,
                "source": request.source,
                "call_id": request.call_id,
                "cancelled_by": None,
                "cancelled_at": None,
                "created_at": now,
                "updated_at": now,
            }
            values["id"] = _INSERT.rows(connection, values)[0][0]
            _audit(connection, actor, "create", values["id"], None, values)
            return Reservation(**values)

        return await self.db.run_write(work, policy.business_id)

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
        unknown = set(changes) - _EDITABLE - {"date", "time"}
        if unknown:
            raise InvalidRequestError(f"cannot change: {', '.join(sorted(unknown))}")
        now = self.clock()

        def work(connection: Connection) -> Reservation:
            before = _get_for_update(connection, policy.business_id, reservation_id)
            folded = _with_start(changes, before["starts_at"])
            after = {**before, **folded, "updated_at": now}
            moved = any(key in _HOLDING_FIELDS and folded[key] != before[key] for key in folded)
            if moved and after["status"] is ReservationStatus.CONFIRMED:
                answer = _judge(
                    connection,
                    policy,
                    after["starts_at"],
                    after["party_size"],
                    now,
                    exclude_id=reservation_id,
                )
                _require(answer)
                after["duration_minutes"] = policy.dining_minutes
            _save(connection, reservation_id, before, after)
            _audit(connection, actor, "update", reservation_id, before, after)
            return Reservation(**after)

        return await self.db.run_write(work, policy.business_id)

    async def cancel(self, business_id: str, reservation_id: int, *, actor: str) -> Reservation:
        """Cancel a reservation; cancelling one that is already cancelled changes nothing.

        Raises:
            NotFoundError: No such reservation for this business.
            BookingRejectedError: The reservation is completed or a no-show.
        """
        now = self.clock()

        def work(connection: Connection) -> Reservation:
            before = _get_for_update(connection, business_id, reservation_id)
            status = before["status"]
            if status is ReservationStatus.CANCELLED:
                return Reservation(**before)
            if status is not ReservationStatus.CONFIRMED:
                raise BookingRejectedError(
                    f"a {status.value} reservation cannot be cancelled", code="not_cancellable"
                )
            after = {
                **before,
                "status": ReservationStatus.CANCELLED,
                "cancelled_by": actor,
                "cancelled_at": now,
                "updated_at": now,
            }
            _save(connection, reservation_id, before, after)
            _audit(connection, actor, "cancel", reservation_id, before, after)
            return Reservation(**after)

        return await self.db.run_write(work, business_id)

    async def delete(self, business_id: str, reservation_id: int, *, actor: str) -> None:
        """Delete a reservation for good (cancelling keeps it on record; prefer that).

        Raises:
            NotFoundError: No such reservation for this business.
        """

        def work(connection: Connection) -> None:
            before = _get_for_update(connection, business_id, reservation_id)
            connection.execute(delete(_TABLE).where(_TABLE.c.id == reservation_id))
            _audit(connection, actor, "delete", reservation_id, before, None)

        await self.db.run_write(work, business_id)

    async def get(self, reservation_id: int) -> Reservation | None:
        """A reservation by id, whatever its business."""
        return await self.db.run_read(
            lambda connection: _first(connection, _TABLE.c.id == reservation_id)
        )

    async def business_of(self, reservation_id: int) -> str | None:
        """The business a reservation belongs to, if it exists."""
        found = await self.get(reservation_id)
        return found.business_id if found is not None else None

    async def find_by_code(self, business_id: str, code: str) -> Reservation | None:
        """The reservation with this booking code, if any (case and spaces ignored)."""
        normalised = normalise(code)
        return await self.db.run_read(
            lambda connection: _first(
                connection, _TABLE.c.business_id == business_id, _TABLE.c.code == normalised
            )
        )

    async def find_near_code(
        self, business_id: str, heard: str, *, upcoming_from: dt.datetime
    ) -> Reservation | None:
        """The confirmed, upcoming reservation whose code is nearest to a misheard one.

        Only when one code is near enough and nearer than any other
        (:func:`store.codes.nearest_code`); for a caller whose code the recogniser misheard.
        """
        codes_of = (
            select(_TABLE.c.code)
            .where(
                _TABLE.c.business_id == business_id,
                _TABLE.c.status == ReservationStatus.CONFIRMED,
                _TABLE.c.starts_at >= upcoming_from,
            )
            .order_by(_TABLE.c.code)
        )

        def query(connection: Connection) -> Reservation | None:
            codes = connection.execute(codes_of).scalars()
            code = nearest_code(heard, (str(code) for code in codes))
            if code is None:
                return None
            return _first(connection, _TABLE.c.business_id == business_id, _TABLE.c.code == code)

        return await self.db.run_read(query)

    async def find_by_phone(
        self, business_id: str, phone: str, *, upcoming_from: dt.datetime | None = None
    ) -> list[Reservation]:
        """Confirmed reservations made with this phone number, soonest first."""
        conditions = [
            _TABLE.c.business_id == business_id,
            _TABLE.c.customer_phone == phone,
            _TABLE.c.status == ReservationStatus.CONFIRMED,
        ]
        if upcoming_from is not None:
            conditions.append(_TABLE.c.starts_at >= upcoming_from)
        statement = select(_TABLE).where(*conditions).order_by(_TABLE.c.starts_at)

        def query(connection: Connection) -> list[Reservation]:
            return [Reservation(**row) for row in connection.execute(statement).mappings()]

        return await self.db.run_read(query)


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
        statement = _PREPARED_HOLDINGS if exclude_id is None else _PREPARED_HOLDINGS_EXCEPT
        values = {
            "business_id": policy.business_id,
            "since": start - _LOOKBACK,
            "until": end,
            "exclude_id": exclude_id,
        }
        return Occupancy(statement.rows(connection, values))

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
_PREPARED_HOLDINGS = Prepared(_HOLDINGS)
_PREPARED_HOLDINGS_EXCEPT = Prepared(_HOLDINGS_EXCEPT)
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


def _get_for_update(
    connection: Connection, business_id: str, reservation_id: int
) -> dict[str, Any]:
    """The reservation's columns, read inside the write transaction."""
    row = connection.execute(_BY_ID, {"reservation_id": reservation_id}).mappings().first()
    if row is None or row["business_id"] != business_id:
        raise NotFoundError("Reservation not found")
    return dict(row)


def _first(connection: Connection, *conditions: ColumnElement[bool]) -> Reservation | None:
    row = connection.execute(select(_TABLE).where(*conditions).limit(1)).mappings().first()
    return Reservation(**row) if row is not None else None


def _save(
    connection: Connection, reservation_id: int, before: dict[str, Any], after: dict[str, Any]
) -> None:
    changed = {key: value for key, value in after.items() if before.get(key) != value}
    if changed:
        connection.execute(update(_TABLE).where(_TABLE.c.id == reservation_id).values(changed))


def _audit(
    connection: Connection,
    actor: str,
    action: str,
    reservation_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    write_change(
        connection,
        actor=actor,
        action=action,
        entity=_TABLE.name,
        entity_id=reservation_id,
        before=before,
        after=after,
    )


def _unused_code(connection: Connection, business_id: str) -> str:
    """A fresh booking code; the caller holds the write lock, so none can race it."""
    while True:
        code = new_code()
        if not _CODE_TAKEN.rows(connection, {"business_id": business_id, "code": code}):
            return code


_TABLE = Reservation.metadata.tables["reservations"]
_INSERT = Prepared(
    insert(_TABLE).returning(_TABLE.c.id),
    column_keys=[column.key for column in _TABLE.columns if column.key != "id"],
)
_BY_ID = select(_TABLE).where(_TABLE.c.id == bindparam("reservation_id"))
_CODE_TAKEN = Prepared(
    select(_TABLE.c.id).where(
        _TABLE.c.business_id == bindparam("business_id"), _TABLE.c.code == bindparam("code")
    )
)
_EDITABLE = frozenset(
    column.key
    for column in _TABLE.columns
    if column.key
    not in {"id", "code", "business_id", "created_at", "updated_at", "duration_minutes"}
)
