import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store.booking import Bookings
from store.db import Database
from store.migrate import upgrade
from store.policy import BookingPolicy, OpeningWindow

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
# Tuesday 1 December 2026, 10:00 in Kolkata.
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=IST)

LUNCH = OpeningWindow(dt.time(12, 0), dt.time(15, 30))
DINNER = OpeningWindow(dt.time(19, 0), dt.time(23, 30))
LATE_DINNER = OpeningWindow(dt.time(19, 0), dt.time(1, 0))


def make_policy(**overrides: object) -> BookingPolicy:
    hours: dict[int, tuple[OpeningWindow, ...]] = dict.fromkeys(range(1, 6), (LUNCH, DINNER))
    hours[5] = (LUNCH, LATE_DINNER)  # Friday runs past midnight
    hours[6] = (LUNCH, LATE_DINNER)
    hours[7] = (LUNCH,)
    values: dict[str, object] = {
        "business_id": "himalayan-kitchen",
        "timezone": "Asia/Kolkata",
        "weekly_hours": hours,
        "closed_dates": frozenset({dt.date(2026, 12, 25)}),
        "slot_minutes": 30,
        "dining_minutes": 90,
        "seat_capacity": 20,
        "max_party_size": 8,
        "min_notice_minutes": 60,
        "horizon_days": 30,
        "last_seating_minutes": 60,
        "alternatives": 3,
    }
    values.update(overrides)
    return BookingPolicy(**values)  # type: ignore[arg-type]


@pytest.fixture
def policy() -> BookingPolicy:
    return make_policy()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await upgrade(database)
    yield database
    await database.close()


@pytest.fixture
def bookings(db: Database) -> Bookings:
    return Bookings(db, clock=lambda: NOW)
