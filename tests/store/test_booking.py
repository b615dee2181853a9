import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from store.booking import BookingRequest, Bookings
from store.codes import CODE_ALPHABET, nearest_code
from store.db import Database
from store.errors import BookingRejectedError, InvalidRequestError, NotFoundError
from store.models import AuditLog, Reservation, ReservationSource, ReservationStatus
from tests.store.conftest import NOW, make_policy

WED_8PM = dt.datetime(2026, 12, 2, 20, 0)


def request(party: int = 4, starts_at: dt.datetime = WED_8PM, **extra) -> BookingRequest:
    return BookingRequest(starts_at=starts_at, party_size=party, customer_name="Ravi", **extra)


async def count_confirmed(db: Database) -> int:
    async with db.read() as session:
        statement = select(func.count()).where(Reservation.status == ReservationStatus.CONFIRMED)
        return (await session.scalar(statement)) or 0


async def test_book_stores_reservation_with_code_and_audit(bookings, policy, db):
    reservation = await bookings.book(
        policy,
        request(customer_phone="+919876543210", source=ReservationSource.PHONE, call_id="c-1"),
        actor="bot:c-1",
    )
    assert len(reservation.code) == 6
    assert set(reservation.code) <= set(CODE_ALPHABET)
    assert reservation.duration_minutes == policy.dining_minutes
    assert reservation.date == WED_8PM.date() and reservation.time == WED_8PM.time()
    assert reservation.created_at.tzinfo is not None

    found = await bookings.find_by_code(policy.business_id, reservation.code.lower())
    assert found is not None and found.id == reservation.id
    by_phone = await bookings.find_by_phone(policy.business_id, "+919876543210")
    assert [r.id for r in by_phone] == [reservation.id]

    async with db.read() as session:
        audit = (await session.scalars(select(AuditLog))).all()
    assert [(a.actor, a.action, a.entity) for a in audit] == [("bot:c-1", "create", "reservations")]
    assert audit[0].before is None
    assert audit[0].after is not None and audit[0].after["code"] == reservation.code


async def test_book_full_slot_rejected_with_reason(bookings, policy):
    for _ in range(5):
        await bookings.book(policy, request(party=4), actor="admin")
    with pytest.raises(BookingRejectedError) as rejected:
        await bookings.book(policy, request(party=1), actor="admin")
    assert rejected.value.code == "full"
    assert "no room for 1" in rejected.value.message

    answer = await bookings.availability(policy, WED_8PM, 2)
    assert not answer.available
    assert answer.alternatives
    assert all(abs(a - WED_8PM) >= dt.timedelta(minutes=90) for a in answer.alternatives)


async def test_book_closed_hour_rejected(bookings, policy):
    with pytest.raises(BookingRejectedError) as rejected:
        await bookings.book(policy, request(starts_at=dt.datetime(2026, 12, 2, 17)), actor="admin")
    assert rejected.value.code == "closed"
    assert rejected.value.status == 409


async def test_cancel_frees_seats_and_is_idempotent(bookings, policy, db):
    made = [await bookings.book(policy, request(party=4), actor="admin") for _ in range(5)]
    cancelled = await bookings.cancel(policy.business_id, made[0].id, actor="staff:asha")
    assert cancelled.status is ReservationStatus.CANCELLED
    assert cancelled.cancelled_by == "staff:asha"
    assert cancelled.cancelled_at == NOW

    again = await bookings.cancel(policy.business_id, made[0].id, actor="someone-else")
    assert again.cancelled_by == "staff:asha"
    await bookings.book(policy, request(party=4), actor="admin")
    assert await count_confirmed(db) == 5

    async with db.read() as session:
        actions = (await session.scalars(select(AuditLog.action))).all()
    assert actions.count("cancel") == 1


async def test_cancel_unknown_or_other_business_is_not_found(bookings, policy):
    made = await bookings.book(policy, request(), actor="admin")
    with pytest.raises(NotFoundError):
        await bookings.cancel(policy.business_id, made.id + 1, actor="admin")
    with pytest.raises(NotFoundError):
        await bookings.cancel("another-business", made.id, actor="admin")


async def test_cancel_completed_reservation_refused(bookings, policy):
    made = await bookings.book(policy, request(), actor="admin")
    await bookings.update(policy, made.id, {"status": ReservationStatus.COMPLETED}, actor="admin")
    with pytest.raises(BookingRejectedError) as rejected:
        await bookings.cancel(policy.business_id, made.id, actor="admin")
    assert rejected.value.code == "not_cancellable"


async def test_update_resize_counts_own_seats_once(bookings, policy):
    first = await bookings.book(policy, request(party=4), actor="admin")
    await bookings.book(policy, request(party=8), actor="admin")
    await bookings.book(policy, request(party=8), actor="admin")
    # All 20 seats are held; the first keeps fitting as long as it does not grow.
    moved = await bookings.update(
        policy, first.id, {"starts_at": WED_8PM + dt.timedelta(minutes=30)}, actor="admin"
    )
    assert moved.starts_at == WED_8PM + dt.timedelta(minutes=30)
    with pytest.raises(BookingRejectedError) as rejected:
        await bookings.update(policy, first.id, {"party_size": 5}, actor="admin")
    assert rejected.value.code == "full"


async def test_update_move_is_atomic(bookings, policy, db):
    made = await bookings.book(policy, request(party=4), actor="admin")
    with pytest.raises(BookingRejectedError):
        await bookings.update(
            policy, made.id, {"starts_at": dt.datetime(2026, 12, 2, 17)}, actor="admin"
        )
    async with db.read() as session:
        stored = await session.get(Reservation, made.id)
    assert stored is not None and stored.starts_at == WED_8PM

    moved = await bookings.update(
        policy, made.id, {"starts_at": dt.datetime(2026, 12, 2, 13)}, actor="admin"
    )
    assert moved.starts_at == dt.datetime(2026, 12, 2, 13)


async def test_update_reconfirm_cancelled_needs_room(bookings, policy):
    made = await bookings.book(policy, request(party=8), actor="admin")
    await bookings.cancel(policy.business_id, made.id, actor="admin")
    await bookings.book(policy, request(party=8), actor="admin")
    await bookings.book(policy, request(party=8), actor="admin")
    with pytest.raises(BookingRejectedError):
        await bookings.update(
            policy, made.id, {"status": ReservationStatus.CONFIRMED}, actor="admin"
        )


async def test_update_refuses_server_set_fields(bookings, policy):
    made = await bookings.book(policy, request(), actor="admin")
    with pytest.raises(InvalidRequestError, match="code"):
        await bookings.update(policy, made.id, {"code": "AAAAAA"}, actor="admin")


async def test_book_race_exactly_capacity_succeeds(db):
    """100 callers race for a slot with room for 3 parties of 4: exactly 3 get it."""
    policy = make_policy(seat_capacity=12, max_party_size=4, alternatives=0)
    contenders = [Bookings(db, clock=lambda: NOW) for _ in range(4)]

    async def attempt(index: int) -> bool:
        try:
            await contenders[index % 4].book(policy, request(party=4), actor=f"caller-{index}")
        except BookingRejectedError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(100)))
    assert sum(results) == 3
    assert await count_confirmed(db) == 3


async def test_book_race_across_database_objects(tmp_path):
    """Two Database objects on one file behave like two server processes: still no overbooking."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    from store.migrate import upgrade

    await upgrade(first)
    policy = make_policy(seat_capacity=12, max_party_size=4, alternatives=0)
    sides = [Bookings(first, clock=lambda: NOW), Bookings(second, clock=lambda: NOW)]

    async def attempt(index: int) -> bool:
        try:
            await sides[index % 2].book(policy, request(party=4), actor="race")
        except BookingRejectedError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(60)))
    assert sum(results) == 3
    assert await count_confirmed(first) == 3
    await first.close()
    await second.close()


async def test_a_misheard_code_finds_the_one_upcoming_booking_it_sounds_like(bookings, policy):
    made = await bookings.book(policy, request(party=2), actor="admin")
    other = await bookings.book(policy, request(party=3), actor="admin")
    heard = made.code[:-1]  # the last symbol swallowed
    assert await bookings.find_by_code(policy.business_id, heard) is None
    if nearest_code(heard, [made.code, other.code]) is None:
        pytest.skip("the two random codes happen to sound alike")

    found = await bookings.find_near_code(policy.business_id, heard, upcoming_from=NOW)
    assert found is not None and found.id == made.id

    # Not past bookings, not cancelled ones, not another business's.
    later = NOW + dt.timedelta(days=30)
    assert await bookings.find_near_code(policy.business_id, heard, upcoming_from=later) is None
    assert await bookings.find_near_code("elsewhere", heard, upcoming_from=NOW) is None
    await bookings.cancel(policy.business_id, made.id, actor="admin")
    assert await bookings.find_near_code(policy.business_id, heard, upcoming_from=NOW) is None
