"""The availability rules: may this party sit down at this local time? Pure, no database.

A request is judged against the business's :class:`~store.policy.BookingPolicy` and the
reservations that hold seats around it. The same function answers the bot's tools, the API's
availability route and the checks inside a booking transaction.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from store.policy import BookingPolicy

MINUTE = dt.timedelta(minutes=1)


class Reason(enum.StrEnum):
    """Why a request is (not) available; stable codes the API and the bot share."""

    AVAILABLE = "available"
    PARTY_TOO_SMALL = "party_too_small"
    PARTY_TOO_LARGE = "party_too_large"
    IN_PAST = "in_past"
    TOO_SOON = "too_soon"
    BEYOND_HORIZON = "beyond_horizon"
    CLOSED_DATE = "closed_date"
    CLOSED = "closed"
    OFF_SLOT = "off_slot"
    FULL = "full"


class Holding(NamedTuple):
    """Seats a confirmed reservation holds from ``starts_at`` for ``minutes``."""

    starts_at: dt.datetime
    minutes: int
    party_size: int

    @property
    def ends_at(self) -> dt.datetime:
        """When the seats are free again."""
        return self.starts_at + dt.timedelta(minutes=self.minutes)


@dataclass(frozen=True, slots=True)
class Availability:
    """The answer to a request.

    Attributes:
        available: Whether the party can be booked at the requested time.
        reason: Why, as a stable code.
        starts_at: The requested local start.
        party_size: The requested party size.
        seats_left: Seats still free over the requested dining time (0 when not open).
        alternatives: Local starts that do fit, nearest first, same day before later days.
    """

    available: bool
    reason: Reason
    starts_at: dt.datetime
    party_size: int
    seats_left: int = 0
    alternatives: tuple[dt.datetime, ...] = ()


class Occupancy:
    """Seats taken over time, as a step function built from holdings.

    ``levels[i]`` seats are taken from ``points[i]`` until ``points[i + 1]``; before the first
    point and after the last nothing is taken. Holdings are ``(starts_at, minutes, party_size)``
    triples: :class:`Holding` or database rows of the same shape.
    """

    def __init__(self, holdings: Iterable[tuple[dt.datetime, int, int]]) -> None:
        changes: dict[dt.datetime, int] = {}
        spans: dict[int, dt.timedelta] = {}
        for starts_at, minutes, party_size in holdings:
            span = spans.get(minutes) or spans.setdefault(minutes, dt.timedelta(minutes=minutes))
            ends_at = starts_at + span
            changes[starts_at] = changes.get(starts_at, 0) + party_size
            changes[ends_at] = changes.get(ends_at, 0) - party_size
        self.points = sorted(changes)
        self.levels: list[int] = []
        level = 0
        for point in self.points:
            level += changes[point]
            self.levels.append(level)

    def peak(self, start: dt.datetime, end: dt.datetime) -> int:
        """Most seats taken at any moment in ``[start, end)``."""
        index = max(bisect.bisect_right(self.points, start) - 1, 0)
        peak = 0
        while index < len(self.points) and self.points[index] < end:
            if index + 1 == len(self.points) or self.points[index + 1] > start:
                peak = max(peak, self.levels[index])
            index += 1
        return peak


def service_spans(policy: BookingPolicy, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The opening windows that open on ``day``, as local start and end datetimes."""
    if day in policy.closed_dates:
        return []
    return [window.span_on(day) for window in policy.weekly_hours.get(day.isoweekday(), ())]


def seating_spans(policy: BookingPolicy, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """For windows opening on ``day``, the first and last start a booking may have."""
    last_seating = dt.timedelta(minutes=policy.last_seating_minutes)
    spans = []
    for opens, closes in service_spans(policy, day):
        if closes - last_seating >= opens:
            spans.append((opens, closes - last_seating))
    return spans


def check(
    policy: BookingPolicy,
    starts_at: dt.datetime,
    party_size: int,
    occupancy: Occupancy,
    now: dt.datetime,
    *,
    with_alternatives: bool = True,
    search_days: int = 0,
) -> Availability:
    """Judge one request against the rules and the seats already held.

    Args:
        policy: The business's rules.
        starts_at: The requested local start (naive, in the business's timezone).
        party_size: How many guests.
        occupancy: Seats held around ``starts_at``; to search for alternatives, every holding
            that overlaps the windows of the requested day and the ``search_days`` after it
            (see :func:`search_range`).
        now: The current instant (aware).
        with_alternatives: Whether to search for alternatives when the request does not fit.
        search_days: How many following days to search when the requested day has too few
            alternatives.

    Returns:
        The availability, with alternatives when it is not available for a reason another time
        could fix.
    """
    local_now = policy.local_now(now)
    reason = _rule_reason(policy, starts_at, party_size, local_now)
    dining = dt.timedelta(minutes=policy.dining_minutes)
    seats_left = 0
    if reason is Reason.AVAILABLE or reason is Reason.OFF_SLOT:
        seats_left = max(policy.seat_capacity - occupancy.peak(starts_at, starts_at + dining), 0)
        if reason is Reason.AVAILABLE and seats_left < party_size:
            reason = Reason.FULL
    if reason is Reason.AVAILABLE:
        return Availability(True, reason, starts_at, party_size, seats_left)

    alternatives: tuple[dt.datetime, ...] = ()
    if with_alternatives and reason not in (Reason.PARTY_TOO_SMALL, Reason.PARTY_TOO_LARGE):
        alternatives = tuple(
            find_alternatives(policy, starts_at, party_size, occupancy, now, search_days)
        )
    return Availability(False, reason, starts_at, party_size, seats_left, alternatives)


def find_alternatives(
    policy: BookingPolicy,
    starts_at: dt.datetime,
    party_size: int,
    occupancy: Occupancy,
    now: dt.datetime,
    search_days: int = 0,
) -> list[dt.datetime]:
    """Up to ``policy.alternatives`` starts that fit, nearest to the request, same day first."""
    wanted = policy.alternatives
    found = _fitting_near(policy, starts_at.date(), starts_at, party_size, occupancy, now)
    found = [start for start in found if start != starts_at][:wanted]
    for days_later in range(1, search_days + 1):
        if len(found) >= wanted:
            break
        target = starts_at + dt.timedelta(days=days_later)
        found += _fitting_near(policy, target.date(), target, party_size, occupancy, now)
    return found[:wanted]


def search_range(
    policy: BookingPolicy, starts_at: dt.datetime, search_days: int = 0
) -> tuple[dt.datetime, dt.datetime]:
    """The range of times whose seat holdings decide a request and its alternatives.

    Holdings that overlap it are those starting after its start less the longest possible dining
    duration and before its end.
    """
    day = starts_at.date()
    start = min(dt.datetime.combine(day, dt.time()), starts_at)
    end = dt.datetime.combine(day + dt.timedelta(days=search_days + 2), dt.time())
    dining = dt.timedelta(minutes=policy.dining_minutes)
    return start, max(end, starts_at + dining)


def _rule_reason(
    policy: BookingPolicy, starts_at: dt.datetime, party_size: int, local_now: dt.datetime
) -> Reason:
    """The first rule, other than capacity, that the request breaks."""
    if party_size < policy.min_party_size:
        return Reason.PARTY_TOO_SMALL
    if party_size > policy.max_party_size:
        return Reason.PARTY_TOO_LARGE
    if starts_at <= local_now:
        return Reason.IN_PAST
    if starts_at < local_now + dt.timedelta(minutes=policy.min_notice_minutes):
        return Reason.TOO_SOON
    if starts_at.date() > local_now.date() + dt.timedelta(days=policy.horizon_days):
        return Reason.BEYOND_HORIZON
    if not _within_seating(policy, starts_at):
        day = starts_at.date()
        return Reason.CLOSED_DATE if day in policy.closed_dates else Reason.CLOSED
    if _minute_of_day(starts_at) % policy.slot_minutes or starts_at.second or starts_at.microsecond:
        return Reason.OFF_SLOT
    return Reason.AVAILABLE


def _within_seating(policy: BookingPolicy, starts_at: dt.datetime) -> bool:
    """Whether a window (of this day, or of the day before past midnight) seats at ``starts_at``."""
    day = starts_at.date()
    for opening_day in (day, day - dt.timedelta(days=1)):
        for first, last in seating_spans(policy, opening_day):
            if first <= starts_at <= last:
                return True
    return False


def _minute_of_day(moment: dt.datetime) -> int:
    return moment.hour * 60 + moment.minute


def _slot_starts(policy: BookingPolicy, day: dt.date) -> Iterator[dt.datetime]:
    """Every start on the slot grid that a window opening on ``day`` seats."""
    step = dt.timedelta(minutes=policy.slot_minutes)
    for first, last in seating_spans(policy, day):
        offset = -_minute_of_day(first) % policy.slot_minutes
        start = first.replace(second=0, microsecond=0) + offset * MINUTE
        if start < first:
            start += step
        while start <= last:
            yield start
            start += step


def _fitting_near(
    policy: BookingPolicy,
    day: dt.date,
    target: dt.datetime,
    party_size: int,
    occupancy: Occupancy,
    now: dt.datetime,
) -> list[dt.datetime]:
    """Starts on ``day``'s windows that pass every rule for this party, nearest ``target`` first."""
    dining = dt.timedelta(minutes=policy.dining_minutes)
    local_now = policy.local_now(now)
    fitting = [
        start
        for start in _slot_starts(policy, day)
        if _rule_reason(policy, start, party_size, local_now) is Reason.AVAILABLE
        and occupancy.peak(start, start + dining) + party_size <= policy.seat_capacity
    ]
    fitting.sort(key=lambda start: (abs(start - target), start))
    return fitting
