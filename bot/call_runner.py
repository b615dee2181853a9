"""What the audio websocket hands a call to once Plivo's stream has started."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from bot.config import Business


@dataclass(frozen=True, slots=True)
class CallSetup:
    """Everything known about a call when its audio stream starts.

    Attributes:
        call_uuid: Plivo's ``CallUUID`` (the ``callId`` of the ``start`` event).
        stream_id: The ``streamId`` of the ``start`` event; Plivo wants it on ``playAudio``,
            ``checkpoint`` and ``clearAudio``.
        business: The business called, as configured when the stream started.
        caller_number: The caller's E.164 number, ``None`` when withheld. Personal data: log
            it only through ``bot.phone.mask_phone``.
        call_log_id: The primary key of the call's ``CallLog`` row.
        first_messages: Text frames already read from the socket after ``start``, oldest first;
            the runner handles them before reading more. Often empty.
        start_event: The parsed ``start`` event (``start.mediaFormat``, ``extra_headers``, ...).
    """

    call_uuid: str
    stream_id: str
    business: Business
    caller_number: str | None
    call_log_id: int
    first_messages: list[str] = field(default_factory=list)
    start_event: Mapping[str, Any] = field(default_factory=dict)


class CallRunner(Protocol):
    """Runs one call over Plivo's audio websocket until the call ends.

    The websocket is prepared and its ``start`` event consumed; the runner reads ``media``,
    ``dtmf``, ``playedStream`` and ``clearedAudio`` events and sends ``playAudio``,
    ``checkpoint`` and ``clearAudio``. It returns when the call is over; the handler closes the
    socket afterwards if the runner has not.
    """

    async def __call__(self, ws: web.WebSocketResponse, call: CallSetup) -> None:
        """Run the call."""
