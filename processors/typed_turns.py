"""User turns for typed conversations: each final transcript is one whole turn.

Spoken turns end when the VAD and the turn analyser say so; a typed line (or a scenario's
scripted line) is complete as it arrives. :func:`typed_turn_strategies` starts the turn on the
``TranscriptionFrame`` and ends it on the same frame, so the LLM runs at once, with no timeout.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start.transcription_user_turn_start_strategy import (
    TranscriptionUserTurnStartStrategy,
)
from pipecat.turns.user_stop.base_user_turn_stop_strategy import BaseUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies


class FinalTranscriptUserTurnStopStrategy(BaseUserTurnStopStrategy):
    """Ends the user turn as soon as a final transcript arrives."""

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """End the turn on a ``TranscriptionFrame`` with text."""
        if isinstance(frame, TranscriptionFrame) and frame.text.strip():
            await self.trigger_user_turn_stopped()
            return ProcessFrameResult.STOP
        return ProcessFrameResult.CONTINUE


def typed_turn_strategies() -> UserTurnStrategies:
    """Turn strategies for typed lines: one transcript, one turn, no barge-in."""
    return UserTurnStrategies(
        start=[TranscriptionUserTurnStartStrategy(use_interim=False, enable_interruptions=False)],
        stop=[FinalTranscriptUserTurnStopStrategy()],
    )
