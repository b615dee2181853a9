"""Opening hours as one spoken phrase, for :attr:`DialogueFacts.hours <.facts.DialogueFacts>`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from processors.dialogue.phrases import ENGLISH_WEEKDAYS, HINDI_WEEKDAYS, spoken_time


class Window(Protocol):
    """One service window of a day (the booking store's ``OpeningWindow`` is one)."""

    @property
    def opens(self) -> dt.time:
        """When seating starts."""
        ...

    @property
    def closes(self) -> dt.time:
        """When the window ends (past midnight when not after ``opens``)."""
        ...


def spoken_hours(weekly: Mapping[int, Sequence[Window]], language: str = "en") -> str:
    """The week's opening hours in words, days with the same hours grouped.

    For example ``"Tuesday to Thursday, 12 noon to 3:30 pm and 7 pm to 11 pm; Friday and
    Saturday, 12 noon to 4 pm and 7 pm to 12:30 am; closed on Monday"``.

    Args:
        weekly: The windows of each ISO weekday (1 = Monday); a missing day is closed.
        language: ``"hi"`` for Hindi, else English.
    """
    names = HINDI_WEEKDAYS if language == "hi" else ENGLISH_WEEKDAYS
    days = [_day(weekly.get(iso, ()), language) for iso in range(1, 8)]
    parts: list[str] = []
    closed: list[str] = []
    start = 0
    while start < 7:
        end = start
        while end + 1 < 7 and days[end + 1] == days[start]:
            end += 1
        span = _span(names, start, end, language)
        if days[start]:
            parts.append(f"{span}, {days[start]}")
        else:
            closed.append(span)
        start = end + 1
    if closed:
        joined = (" aur " if language == "hi" else " and ").join(closed)
        parts.append(f"{joined} ko band" if language == "hi" else f"closed on {joined}")
    return "; ".join(parts)


def _day(windows: Sequence[Window], language: str) -> str:
    spans = []
    for window in windows:
        opens, closes = spoken_time(window.opens, language), spoken_time(window.closes, language)
        spans.append(f"{opens} se {closes} tak" if language == "hi" else f"{opens} to {closes}")
    return (" aur " if language == "hi" else " and ").join(spans)


def _span(names: Sequence[str], start: int, end: int, language: str) -> str:
    if start == end:
        return names[start]
    if end == start + 1:
        return f"{names[start]} {'aur' if language == 'hi' else 'and'} {names[end]}"
    return f"{names[start]} {'se' if language == 'hi' else 'to'} {names[end]}"
