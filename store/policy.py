"""The booking policy of one business: the rules availability is judged by.

The store knows nothing of ``bots.yaml``; the bot's configuration layer turns a business block
into a :class:`BookingPolicy`, and everything that books or checks availability takes one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MAX_DINING_MINUTES = 360
"""Upper bound on a dining duration; bounds how far back an overlap query must look."""


@dataclass(frozen=True, slots=True)
class OpeningWindow:
    """One service window on a weekday, e.g. lunch 12:00-15:30.

    A window whose ``closes`` is not after ``opens`` runs past midnight into the next day
    (``18:00``-``01:00``); it belongs to the day it opens on.
    """

    opens: dt.time
    closes: dt.time

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window ends on the following calendar day."""
        return self.closes <= self.opens

    def span_on(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The window's start and end as local datetimes when it opens on ``day``."""
        start = dt.datetime.combine(day, self.opens)
        end_day = day + dt.timedelta(days=1) if self.crosses_midnight else day
        return start, dt.datetime.combine(end_day, self.closes)


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    """Everything the availability rules need to know about one business.

    Attributes:
        business_id: The business's slug.
        timezone: IANA name of the business's timezone; all times are local to it.
        weekly_hours: Opening windows per ISO weekday (1 = Monday ... 7 = Sunday).
        closed_dates: Dates on which no window opens (holidays, private events).
        slot_minutes: Bookings start on multiples of this many minutes past the hour.
        dining_minutes: How long a table is held for one booking.
        seat_capacity: Seats available at any one moment.
        max_party_size: Largest party the bot or the API may book.
        min_party_size: Smallest party that may book a table.
        min_notice_minutes: How far ahead of its start a booking must be made.
        horizon_days: Bookings open this many days ahead (today + horizon is the last day).
        last_seating_minutes: The last booking starts this long before a window closes.
        alternatives: How many alternative slots to offer when a request does not fit.
    """

    business_id: str
    timezone: str = "Asia/Kolkata"
    weekly_hours: Mapping[int, tuple[OpeningWindow, ...]] = field(default_factory=dict)
    closed_dates: frozenset[dt.date] = frozenset()
    slot_minutes: int = 30
    dining_minutes: int = 90
    seat_capacity: int = 40
    max_party_size: int = 10
    min_party_size: int = 1
    min_notice_minutes: int = 60
    horizon_days: int = 30
    last_seating_minutes: int = 60
    alternatives: int = 3

    def __post_init__(self) -> None:
        """Reject a policy whose numbers contradict each other."""
        if not 1 <= self.dining_minutes <= MAX_DINING_MINUTES:
            raise ValueError(f"dining_minutes must be 1..{MAX_DINING_MINUTES}")
        if self.slot_minutes < 1 or 1440 % self.slot_minutes:
            raise ValueError("slot_minutes must divide a day evenly")
        if not 1 <= self.min_party_size <= self.max_party_size <= self.seat_capacity:
            raise ValueError("need 1 <= min_party_size <= max_party_size <= seat_capacity")
        if set(self.weekly_hours) - set(range(1, 8)):
            raise ValueError("weekly_hours keys are ISO weekdays 1..7")
        if self.horizon_days < 1 or self.min_notice_minutes < 0 or self.alternatives < 0:
            raise ValueError("horizon_days must be >= 1; notice and alternatives >= 0")
        ZoneInfo(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The business's timezone."""
        return ZoneInfo(self.timezone)

    def local_now(self, now: dt.datetime | None = None) -> dt.datetime:
        """``now`` (aware, default the current instant) as a naive local datetime."""
        instant = now if now is not None else dt.datetime.now(dt.UTC)
        return instant.astimezone(self.zone).replace(tzinfo=None)
