"""Opening hours as written in ``bots.yaml``: weekday keys and ``"12:00-15:30"`` windows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator

from store.policy import OpeningWindow

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
"""A weekday key as stored: the short lowercase English name."""

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys in ISO order: ``WEEKDAYS[0]`` is Monday (ISO weekday 1)."""

_FULL_NAMES: dict[str, Weekday] = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_DAY_MINUTES = 24 * 60
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")


def iso_weekday(day: Weekday) -> int:
    """The ISO weekday number of a weekday key (1 = Monday ... 7 = Sunday)."""
    return WEEKDAYS.index(day) + 1


def parse_weekday(value: object) -> Weekday:
    """Read a weekday key: ``mon``..``sun`` or the full lowercase name (``monday``...).

    Raises:
        ValueError: For anything else, naming the bad key.
    """
    if isinstance(value, str):
        key = value.strip().lower()
        if key in WEEKDAYS:
            return WEEKDAYS[WEEKDAYS.index(key)]
        if key in _FULL_NAMES:
            return _FULL_NAMES[key]
    raise ValueError(f"unknown weekday {value!r} (expected mon..sun)")


def _time(hours: str, minutes: str, text: str, *, closing: bool) -> dt.time:
    h, m = int(hours), int(minutes)
    if closing and h == 24 and m == 0:
        return dt.time(0, 0)  # "18:00-24:00" closes at midnight
    if h > 23 or m > 59:
        raise ValueError(f"invalid time '{hours}:{minutes}' in window '{text}'")
    return dt.time(h, m)


def parse_window(value: object) -> OpeningWindow:
    """Read one window written as ``"HH:MM-HH:MM"`` (24-hour clock).

    A window whose end is not after its start runs past midnight into the next day
    (``"19:00-01:00"``); ``24:00`` may be written as the end for midnight.

    Raises:
        ValueError: For a malformed window or an impossible time such as ``25:00``.
    """
    if isinstance(value, OpeningWindow):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a window written as text like '12:00-15:30', got {value!r} "
            "(quote it in YAML)"
        )
    match = _WINDOW.match(value)
    if match is None:
        raise ValueError(
            f"malformed window '{value}' (expected HH:MM-HH:MM on a 24-hour clock, "
            "e.g. '12:00-15:30')"
        )
    opens = _time(match[1], match[2], value, closing=False)
    closes = _time(match[3], match[4], value, closing=True)
    window = OpeningWindow(opens, closes)
    start, end = window_minutes(window)
    if end - start > _DAY_MINUTES:  # pragma: no cover - unreachable with HH:MM input
        raise ValueError(f"window '{value}' is longer than 24 hours")
    return window


def format_window(window: OpeningWindow) -> str:
    """Write a window back as ``"HH:MM-HH:MM"``."""
    return f"{window.opens:%H:%M}-{window.closes:%H:%M}"


def window_minutes(window: OpeningWindow) -> tuple[int, int]:
    """Start and end as minutes after the midnight the window opens after; end > start."""
    start = window.opens.hour * 60 + window.opens.minute
    end = window.closes.hour * 60 + window.closes.minute
    if window.crosses_midnight:
        end += _DAY_MINUTES
    return start, end


def _as_list(value: object) -> object:
    """Accept a single window, or nothing (``mon:`` with no value) for a closed day."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


def _check_day(windows: tuple[OpeningWindow, ...]) -> tuple[OpeningWindow, ...]:
    ordered = tuple(sorted(windows, key=window_minutes))
    for earlier, later in pairwise(ordered):
        if window_minutes(later)[0] < window_minutes(earlier)[1]:
            raise ValueError(
                f"windows '{format_window(earlier)}' and '{format_window(later)}' overlap"
            )
    return ordered


def _check_aliases(value: object) -> object:
    """Refuse a day given twice, e.g. as both ``mon`` and ``monday``."""
    if not isinstance(value, Mapping):
        return value
    seen: dict[str, object] = {}
    for key in value:
        try:
            day = parse_weekday(key)
        except ValueError:
            continue  # reported with its own key path by the key validator
        if day in seen:
            raise ValueError(f"{day} is given twice (as {seen[day]!r} and {key!r})")
        seen[day] = key
    return value


def _check_week(
    hours: Mapping[Weekday, tuple[OpeningWindow, ...]],
) -> Mapping[Weekday, tuple[OpeningWindow, ...]]:
    if not any(hours.values()):
        raise ValueError("business is never open: no day has an opening window")
    for index, day in enumerate(WEEKDAYS):
        following = WEEKDAYS[(index + 1) % 7]
        for window in hours.get(day, ()):
            spill = window_minutes(window)[1] - _DAY_MINUTES
            for next_window in hours.get(following, ()):
                if spill > 0 and window_minutes(next_window)[0] < spill:
                    raise ValueError(
                        f"{day} window '{format_window(window)}' runs past midnight into "
                        f"{following} window '{format_window(next_window)}'"
                    )
    ordered = {day: hours[day] for day in WEEKDAYS if day in hours}
    return MappingProxyType(ordered)


def _dump_hours(hours: Mapping[Weekday, tuple[OpeningWindow, ...]]) -> dict[str, list[str]]:
    return {day: [format_window(w) for w in windows] for day, windows in hours.items()}


Window = Annotated[OpeningWindow, PlainValidator(parse_window)]
"""One opening window, read from ``"HH:MM-HH:MM"``."""

DayWindows = Annotated[tuple[Window, ...], BeforeValidator(_as_list), AfterValidator(_check_day)]
"""A day's windows, sorted by opening time; same-day overlaps are refused."""

WeeklyHours = Annotated[
    Mapping[Annotated[Weekday, BeforeValidator(parse_weekday)], DayWindows],
    BeforeValidator(_check_aliases),
    AfterValidator(_check_week),
    PlainSerializer(_dump_hours),
]
"""A read-only mapping of weekday key to that day's windows; a missing day is closed."""
