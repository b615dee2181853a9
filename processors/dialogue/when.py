"""Dates and times in a normalised utterance: "kal shaam 7 baje", "next friday", "half past 8".

The functions take text already through :func:`~processors.dialogue.numbers.normalise` and
return the value of the *last* mention (a caller correcting themselves says the right one
last) together with the text with every mention blanked out, so that a number read as a time
is not read again as a party size.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

WEEKDAYS = {
    "monday": 0,
    "somvar": 0,
    "somvaar": 0,
    "tuesday": 1,
    "mangalvar": 1,
    "mangalvaar": 1,
    "wednesday": 2,
    "budhvar": 2,
    "budhvaar": 2,
    "thursday": 3,
    "guruvar": 3,
    "guruvaar": 3,
    "veervaar": 3,
    "brihaspativar": 3,
    "friday": 4,
    "shukravar": 4,
    "shukravaar": 4,
    "saturday": 5,
    "shanivar": 5,
    "shanivaar": 5,
    "shaniwar": 5,
    "sunday": 6,
    "ravivar": 6,
    "ravivaar": 6,
    "itvaar": 6,
    "itwar": 6,
}
MONTHS = {
    "january": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}


def blank(match: re.Match[str]) -> str:
    """Underscores as long as the mention: nothing else reads it, and offsets stay put."""
    return "_" * len(match.group(0))


_PERIOD = r"subah|savere|dopahar|shaam|sham|raat|morning|afternoon|evening|night"
_BAJE = r"baje|bajey|baj|bje|oclock|o clock"
_SUFFIX = r"(?:st|nd|rd|th)"
_NOT_PEOPLE = (
    r"(?!\s+(?:people|persons|person|guests|pax|adults|of us|log|logon|logo|jan|jane|admi"
    r"|aadmi|seats|members|hi\b|tareekh|tarikh|taarikh))"
)
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))

_PM_HINTS = re.compile(r"\b(?:pm|evening|night|tonight|dinner|shaam|sham|raat)\b")
_AM_HINTS = re.compile(r"\b(?:am|morning|breakfast|subah|savere)\b")
_NOON_HINTS = re.compile(r"\b(?:afternoon|lunch|dopahar)\b")

_FRACTIONS = {"sava": 15, "savaa": 15, "saadhe": 30, "sadhe": 30, "saade": 30, "sade": 30}
_QUARTER_TO = {"paune", "pone"}
_FIXED = {"dhai": (2, 30), "dhaai": (2, 30), "dedh": (1, 30), "derh": (1, 30)}

_TIME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "fraction",
        re.compile(
            rf"\b(?:(?P<p1>{_PERIOD})\s+)?(?P<frac>sava|savaa|saadhe|sadhe|saade|sade|paune|pone)"
            rf"\s+(?P<h>\d{{1,2}})(?:\s+(?:{_BAJE}))?(?:\s+(?P<p2>{_PERIOD}))?\b"
        ),
    ),
    (
        "fixed",
        re.compile(
            rf"\b(?:(?P<p1>{_PERIOD})\s+)?(?P<fixed>dhai|dhaai|dedh|derh)\s+(?:{_BAJE})"
            rf"(?:\s+(?P<p2>{_PERIOD}))?\b"
        ),
    ),
    (
        "past",
        re.compile(r"\b(?P<part>half|quarter)\s+(?P<dir>past|to)\s+(?P<h>\d{1,2})\b"),
    ),
    (
        "baje",
        re.compile(
            rf"\b(?:(?P<p1>{_PERIOD})\s+)?(?:(?:at|around|by)\s+)?(?P<h>\d{{1,2}})"
            rf"(?::(?P<m>\d{{2}}))?\s+(?:{_BAJE})(?:\s+(?P<ap>am|pm))?(?:\s+(?P<p2>{_PERIOD}))?\b"
        ),
    ),
    (
        "clock",
        re.compile(
            rf"\b(?:(?P<p1>{_PERIOD})\s+)?(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?:\s*(?P<ap>am|pm))?"
            rf"(?:\s+(?P<p2>{_PERIOD}))?\b"
        ),
    ),
    ("compact", re.compile(r"\b(?P<h>\d{1,2})(?P<m>\d{2})\s+(?P<ap>am|pm|hrs|hours)\b")),
    (
        "meridiem",
        re.compile(r"\b(?P<h>\d{1,2})(?:\s+(?P<m>[0-5]\d))?\s+(?P<ap>am|pm)\b"),
    ),
    ("noon", re.compile(r"\b(?:12\s+)?(?P<word>noon|midday|midnight)\b")),
    (
        "spoken",
        re.compile(
            rf"\b(?:(?P<p1>{_PERIOD})\s+)?(?P<h>1[0-2]|0?[1-9])\s+(?P<m>[0-5][05])\b{_NOT_PEOPLE}"
            rf"(?:\s+(?P<p2>{_PERIOD}))?"
        ),
    ),
    (
        "in_the",
        re.compile(
            r"\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s+(?:in\s+the|at)\s+"
            r"(?P<p2>morning|afternoon|evening|night)\b"
        ),
    ),
    (
        "at",
        re.compile(
            rf"\b(?:at|around|by|about|after)\s+(?P<h>\d{{1,2}})\b(?!:|\s*{_SUFFIX}\b){_NOT_PEOPLE}"
            rf"(?:\s+(?P<p2>{_PERIOD}))?"
        ),
    ),
    (
        "period",
        re.compile(
            rf"\b(?P<p1>{_PERIOD}|tonight)\s+(?P<h>\d{{1,2}})\b(?!:|\s*{_SUFFIX}\b){_NOT_PEOPLE}"
        ),
    ),
]


def clock_time(hour: int, minute: int, period: str | None) -> dt.time | None:
    """The 24-hour time of ``hour:minute`` as said with ``period`` (``am``, ``shaam``...).

    Without a period, 1 to 11 o'clock is taken as afternoon or evening: a restaurant's
    callers say "saat baje" or "at 8" for dinner, and the read-back lets them correct it.
    """
    if hour > 23 or minute > 59:
        return None
    if hour == 0 or hour >= 13:
        return dt.time(hour, minute)
    if period in {"am", "morning", "subah", "savere"}:
        return dt.time(0 if hour == 12 else hour, minute)
    if period in {"raat", "night"} and (hour == 12 or hour < 5):
        return dt.time(0 if hour == 12 else hour, minute)
    return dt.time(12 if hour == 12 else hour + 12, minute)


def take_time(text: str) -> tuple[dt.time | None, str]:
    """The last time of day mentioned in ``text``, and ``text`` with all mentions blanked."""
    hint = _hint(text)
    found: list[tuple[int, dt.time | None]] = []
    for kind, pattern in _TIME_PATTERNS:
        for match in pattern.finditer(text):
            found.append((match.start(), _time_of(kind, match, hint)))
        text = pattern.sub(blank, text)
    values = [(start, value) for start, value in found if value is not None]
    return (max(values, key=lambda item: item[0])[1] if values else None), text


def _hint(text: str) -> str | None:
    if _PM_HINTS.search(text):
        return "pm"
    if _AM_HINTS.search(text):
        return "am"
    if _NOON_HINTS.search(text):
        return "pm"
    return None


def _time_of(kind: str, match: re.Match[str], hint: str | None) -> dt.time | None:
    groups = match.groupdict()
    period = groups.get("ap") or groups.get("p1") or groups.get("p2") or hint
    if period in {"hrs", "hours"}:
        period = None
    if kind == "noon":
        return dt.time(0, 0) if groups["word"] == "midnight" else dt.time(12, 0)
    if kind == "fixed":
        hour, minute = _FIXED[groups["fixed"]]
        return clock_time(hour, minute, period)
    hour = int(groups["h"])
    minute = int(groups.get("m") or 0)
    if kind == "fraction":
        if groups["frac"] in _QUARTER_TO:
            return clock_time(hour - 1 if hour > 1 else 12, 45, period)
        return clock_time(hour, _FRACTIONS[groups["frac"]], period)
    if kind == "past":
        if groups["dir"] == "to":
            minute = 45 if groups["part"] == "quarter" else 30
            return clock_time(hour - 1 if hour > 1 else 12, minute, period)
        return clock_time(hour, 30 if groups["part"] == "half" else 15, period)
    if kind == "compact" and groups["ap"] in {"hrs", "hours"}:
        return dt.time(hour, minute) if hour < 24 and minute < 60 else None
    return clock_time(hour, minute, period)


def take_date(text: str, today: dt.date) -> tuple[dt.date | None, str]:
    """The last date mentioned in ``text`` (relative to ``today``), and ``text`` blanked.

    ``kal`` is read as tomorrow: callers booking a table do not book yesterday. A day of the
    month that has passed this month means next month; a date that has passed this year
    means next year.
    """
    found: list[tuple[int, dt.date | None]] = []
    for pattern, resolve in _date_patterns(today):
        for match in pattern.finditer(text):
            found.append((match.start(), resolve(match)))
        text = pattern.sub(blank, text)
    values = [(start, value) for start, value in found if value is not None]
    return (max(values, key=lambda item: item[0])[1] if values else None), text


DateResolver = Callable[[re.Match[str]], dt.date | None]


def _date_patterns(today: dt.date) -> list[tuple[re.Pattern[str], DateResolver]]:
    def offset(days: int) -> DateResolver:
        return lambda _match: today + dt.timedelta(days=days)

    return [
        (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), lambda m: _iso(m.group(0))),
        (
            re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\bpar(?:son|so|soon|sun|sho)\b"),
            offset(2),
        ),
        (re.compile(r"\b(?:tomorrow|tomorow|tmrw|kal)\b"), offset(1)),
        (re.compile(r"\b(?:today|tonight|aaj)\b"), offset(0)),
        (
            re.compile(rf"\b(?:(?P<mod>this|next|coming|agle|agla|is)\s+)?(?P<day>{_WEEKDAY})\b"),
            lambda m: weekday_date(today, WEEKDAYS[m.group("day")], m.group("mod")),
        ),
        (
            re.compile(rf"\b(?P<d>\d{{1,2}}){_SUFFIX}?\s+(?:of\s+)?(?P<month>{_MONTH})\b"),
            lambda m: _day_month(today, int(m.group("d")), MONTHS[m.group("month")]),
        ),
        (
            re.compile(rf"\b(?P<month>{_MONTH})\s+(?:the\s+)?(?P<d>\d{{1,2}}){_SUFFIX}?\b"),
            lambda m: _day_month(today, int(m.group("d")), MONTHS[m.group("month")]),
        ),
        (
            re.compile(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?\b"),
            lambda m: _day_month(today, int(m.group("d")), int(m.group("m"))),
        ),
        (
            re.compile(rf"\b(?P<d>\d{{1,2}})(?:{_SUFFIX}|\s+(?:tareekh|tarikh|taarikh))\b"),
            lambda m: day_of_month(today, int(m.group("d"))),
        ),
    ]


_WEEKDAY_WORD = re.compile(rf"\b(?:{_WEEKDAY})\b")


def names_weekday(text: str) -> bool:
    """Whether a normalised utterance names a day of the week ("tuesday", "shanivar")."""
    return _WEEKDAY_WORD.search(text) is not None


def weekday_date(today: dt.date, weekday: int, modifier: str | None = None) -> dt.date:
    """The date of ``weekday`` (0 = Monday) as said with ``this``/``next``/``agle`` or alone.

    Alone or with "this", it is the next such day, today included. "Next Friday" said on a
    Thursday is the Friday of next week (a week after tomorrow), but said on a Sunday it is
    the coming Friday: "next" skips only a day that falls in the current week.
    """
    upcoming = today + dt.timedelta(days=(weekday - today.weekday()) % 7)
    if (
        modifier in {"next", "agle", "agla"}
        and upcoming.isocalendar()[:2] == today.isocalendar()[:2]
    ):
        return upcoming + dt.timedelta(days=7)
    return upcoming


def day_of_month(today: dt.date, day: int) -> dt.date | None:
    """The next date (today included) that falls on ``day`` of a month."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _day_month(today: dt.date, day: int, month: int) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _iso(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
