"""The call record: turns, interruptions, tool calls, latency per turn, errors and the outcome.

An observer, so it sees every frame without sitting in the audio path. It keeps plain data that
the call's owner writes to the ``CallLog`` however the call ends.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ErrorFrame,
    InterruptionFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSTextFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed


class Outcome(enum.StrEnum):
    """How a call ended for the business (the values of the store's ``CallOutcome``)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    ENQUIRY = "enquiry"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"
    FAILED = "failed"


@dataclass
class CallRecord:
    """What happened on a call, as JSON-ready lists."""

    transcript: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    turn_latencies: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    fatal: bool = False

    @property
    def outcome(self) -> Outcome:
        """The outcome the record shows; the most consequential event wins."""
        done = {(c["name"], c.get("status")) for c in self.tool_calls}
        if ("book_reservation", "booked") in done:
            return Outcome.BOOKED
        if ("cancel_reservation", "cancelled") in done:
            return Outcome.CANCELLED
        if ("transfer_to_staff", "transferring") in done:
            return Outcome.TRANSFERRED
        if self.fatal:
            return Outcome.FAILED
        if any(turn["role"] == "user" for turn in self.transcript):
            return Outcome.ENQUIRY
        return Outcome.ABANDONED


class CallRecorderObserver(BaseObserver):
    """Builds a :class:`CallRecord` from the frames of one call.

    Turn latency is measured from the moment the caller stopped speaking (the VAD's decision
    less its ``stop_secs`` of confirming silence) to the moment the bot started speaking.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record = CallRecord()
        self._started = time.monotonic()
        self._speech_ended: float | None = None
        self._bot_text: list[str] = []
        self._ttfb: dict[str, float] = {}
        self._interrupted = False

    async def on_push_frame(self, data: FramePushed) -> None:
        """Note the frames that make up the record, once each."""
        if not data.first_push:
            return
        frame = data.frame
        now = time.monotonic()
        if isinstance(frame, TranscriptionFrame):
            self._add_turn("user", frame.text, now, language=str(frame.language or "") or None)
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speech_ended = now - frame.stop_secs
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_started(now)
        elif isinstance(frame, TTSTextFrame):
            self._bot_text.append(frame.text)
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._flush_bot_turn(now)
        elif isinstance(frame, InterruptionFrame):
            self._interrupted = True
            self._flush_bot_turn(now)
        elif isinstance(frame, MetricsFrame):
            for item in frame.data:
                if isinstance(item, TTFBMetricsData) and item.value > 0:
                    self._ttfb[item.processor] = round(item.value * 1000, 1)
        elif isinstance(frame, ErrorFrame):
            self.error(str(frame.error), source=getattr(frame.processor, "name", None))

    def tool_event(self, name: str, data: dict[str, Any]) -> None:
        """Record a tool call and its result (a :class:`~bot.tools.CallTools` event hook)."""
        result = data.get("result", data)
        status = result.get("status") if isinstance(result, dict) else None
        self.record.tool_calls.append(
            {"at": self._offset(time.monotonic()), "name": name, "status": status, **data}
        )

    def error(self, message: str, *, fatal: bool = False, source: str | None = None) -> None:
        """Record a failure (an engine error, a dropped socket, ...)."""
        self.record.errors.append(
            {"at": self._offset(time.monotonic()), "error": message, "source": source}
        )
        self.record.fatal = self.record.fatal or fatal

    def finish(self) -> CallRecord:
        """Close any open turn and hand over the record."""
        self._flush_bot_turn(time.monotonic())
        return self.record

    def _bot_started(self, now: float) -> None:
        if self._speech_ended is None:
            return
        self.record.turn_latencies.append(
            {
                "turn": len(self.record.turn_latencies) + 1,
                "ms": round((now - self._speech_ended) * 1000, 1),
                "ttfb_ms": dict(self._ttfb),
            }
        )
        self._speech_ended = None
        self._ttfb = {}

    def _flush_bot_turn(self, now: float) -> None:
        text = " ".join(" ".join(self._bot_text).split())
        self._bot_text = []
        if text:
            self._add_turn("bot", text, now, interrupted=self._interrupted or None)
        self._interrupted = False

    def _add_turn(self, role: str, text: str, now: float, **extra: Any) -> None:
        turn = {"role": role, "text": text, "at": self._offset(now)}
        turn.update({key: value for key, value in extra.items() if value is not None})
        self.record.transcript.append(turn)

    def _offset(self, now: float) -> float:
        return round(now - self._started, 3)
