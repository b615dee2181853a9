"""Turning tool results into speech: slots like ``"2026-12-05 20:00 (Saturday)"``, bookings."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from processors.dialogue.phrases import phrase, spoken_date, spoken_people, spoken_slot, spoken_time

_SLOT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})")
INTERRUPTED = "interrupted"
"""The status :func:`tool_result` gives a call that an interruption cancelled."""
_REASONS = frozenset(
    {"full", "closed", "closed_date", "too_soon", "in_past", "beyond_horizon", "off_slot"}
)


def tool_result(content: Any) -> dict[str, Any]:
    """A tool result as a dict, whatever the context holds (JSON text, a marker, an error).

    pipecat writes a result into the context as JSON, ``"COMPLETED"`` for an empty one,
    ``"CANCELLED"`` when an interruption cancelled the call (read as status
    :data:`INTERRUPTED`), and plain text when the handler raised.
    """
    if isinstance(content, Mapping):
        return dict(content)
    if isinstance(content, list):
        content = " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping)
        )
    text = str(content).strip()
    if text == "CANCELLED":
        return {"status": INTERRUPTED}
    if text == "COMPLETED":
        return {"status": "completed"}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"status": "error", "error": text}
    return parsed if isinstance(parsed, dict) else {"status": "error", "error": text}


def parse_slot(text: object) -> tuple[dt.date, dt.time] | None:
    """The date and time of a slot written by the tools, ``"2026-12-05 20:00 (Saturday)"``."""
    match = _SLOT.search(str(text))
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1)), dt.time.fromisoformat(match.group(2).zfill(5))
    except ValueError:
        return None


def describe_reservation(reservation: Mapping[str, Any], language: str) -> str:
    """``a table for 4 on Saturday 5 December at 8 pm, under Priya`` (Hindi likewise)."""
    slot = parse_slot(reservation.get("when"))
    party = _int(reservation.get("party_size"))
    name = str(reservation.get("name") or "").strip()
    if slot is None or party is None:
        text = str(reservation.get("when") or "")
    else:
        text = spoken_slot(party, slot[0], slot[1], language)
    if name:
        text += f", {name} ji ke naam se" if language == "hi" else f", under {name}"
    return text


def describe_when(reservation: Mapping[str, Any], language: str) -> str:
    """``Saturday 5 December at 8 pm`` of a reservation (Hindi likewise)."""
    slot = parse_slot(reservation.get("when"))
    if slot is None:
        return str(reservation.get("when") or "")
    day, moment = spoken_date(slot[0], language), spoken_time(slot[1], language)
    return f"{day}, {moment}" if language == "hi" else f"{day} at {moment}"


def unavailable(reason: object, party: int, day: dt.date, moment: dt.time, language: str) -> str:
    """Why a slot cannot be booked, from the tool's ``reason``."""
    key = f"unavailable_{reason}" if reason in _REASONS else "unavailable"
    return phrase(
        key,
        language,
        party=spoken_people(party, language),
        date=spoken_date(day, language),
        time=spoken_time(moment, language),
    )


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
