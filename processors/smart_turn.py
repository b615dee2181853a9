"""smart-turn v3, pipecat's end-of-turn model, ready for a call's first turn and quick on it.

:class:`WarmSmartTurnAnalyzer` is pipecat's :class:`LocalSmartTurnAnalyzerV3` on the process's
one ONNX session (:mod:`processors.shared_models`), which is run once on silence before its
first turn. ONNX Runtime's first run of a session is slower than the next ones (it sizes its
buffers then): when every call loaded its own session, each call's first turn paid for it
(smart-turn took 36-183 ms, median 53, on the first turn over 15 calls, against 30-50 ms on the
next ones, 2 cores). The warm-up runs in the analyzer's own model thread, long before the caller
has finished a sentence.

:class:`SpeculativeSmartTurnAnalyzer` also judges a turn while the VAD is still listening.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

import numpy as np
from loguru import logger
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.metrics.metrics import MetricsData

from processors.audio_level import QuietMeter
from processors.shared_models import shared

WARM_UP_SECS = 1.0
"""Length of the silence the model is first run on (it pads any input to 8 s anyway)."""
SPECULATE_AFTER_SECS = 0.08
"""Quiet, while the VAD still has the caller speaking, after which the model is run ahead of
the VAD's stop. Shorter wastes inferences on the gaps between words; at 0.08 s the verdict is
ready, after ~50 ms of inference, well before the VAD's 0.2 s are up."""


class WarmSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """:class:`LocalSmartTurnAnalyzerV3` on the shared session, warmed up once per process.

    Args:
        sample_rate: Rate of the audio, or None to take the pipeline's.
        params: When a turn ends (pipecat's defaults when None).
    """

    _warmed_up = False
    """Whether an analyzer in this process has started the shared session's warm-up."""

    def __init__(
        self, *, sample_rate: int | None = None, params: SmartTurnParams | None = None
    ) -> None:
        # Not LocalSmartTurnAnalyzerV3.__init__, which loads a session of its own.
        BaseSmartTurn.__init__(self, sample_rate=sample_rate, params=params)
        self._log_data = False  # pipecat's PIPECAT_SMART_TURN_LOG_DATA, for debugging
        self._session = shared("smart-turn-v3", lambda: LocalSmartTurnAnalyzerV3()._session)

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the audio rate; the first analyzer in the process then warms the model up.

        The turn strategy sets the rate in its ``setup``, as the pipeline starts.

        Args:
            sample_rate: The pipeline's input rate.
        """
        super().set_sample_rate(sample_rate)
        with _warm_up_lock:
            if WarmSmartTurnAnalyzer._warmed_up:
                return
            WarmSmartTurnAnalyzer._warmed_up = True
        silence = np.zeros(round(self.sample_rate * WARM_UP_SECS), dtype=np.float32)
        warm_up = self._model_executor.submit(self._predict_endpoint, silence)
        warm_up.add_done_callback(_log_failure)


_warm_up_lock = threading.Lock()


class SpeculativeSmartTurnAnalyzer(WarmSmartTurnAnalyzer):
    """:class:`WarmSmartTurnAnalyzer` that judges a turn while the VAD is still listening.

    The VAD declares that the caller stopped only after ``stop_secs`` (0.2 s) of silence, and
    then smart-turn's verdict took another 45-85 ms of inference on the call's critical path
    (2 cores). This analyzer notices the silence itself, from the audio's level: after
    :data:`SPECULATE_AFTER_SECS` of quiet it runs the model on the turn so far, in the model's
    own thread, so the verdict is usually ready when the VAD's stop asks for it (quiet as
    :class:`~processors.audio_level.QuietMeter` judges it). Should the caller
    speak again before then, the guess is dropped and the turn goes on as if it never ran.

    What the model hears differs only in the silence at the end (80 ms of it rather than 200):
    over the recorded test lines, both gave the same verdict.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the analyzer; arguments as :class:`LocalSmartTurnAnalyzerV3`'s."""
        super().__init__(**kwargs)
        self._speculation: Future[tuple[EndOfTurnState, MetricsData | None]] | None = None
        self._meter = QuietMeter(16_000)
        self._quiet_secs = 0.0

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the audio rate (and warm the model up).

        Args:
            sample_rate: The pipeline's input rate.
        """
        super().set_sample_rate(sample_rate)
        self._meter = QuietMeter(self.sample_rate)

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        """Buffer the audio as pipecat does; start or drop a speculative verdict on its level.

        Args:
            buffer: 16-bit mono audio at the pipeline's input rate.
            is_speech: Whether the VAD has the caller speaking.
        """
        state = super().append_audio(buffer, is_speech)
        if not is_speech or state is EndOfTurnState.COMPLETE:
            self._quiet_secs = 0.0
            return state
        if not self._meter.is_quiet(buffer):
            self._quiet_secs = 0.0
            self._drop_speculation()
            return state
        self._quiet_secs += len(buffer) / 2 / self.sample_rate
        if self._speculation is None and self._quiet_secs >= SPECULATE_AFTER_SECS:
            snapshot = list(self._audio_buffer)
            self._speculation = self._model_executor.submit(self._process_speech_segment, snapshot)
        return state

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        """The speculative verdict when one stands, else pipecat's own analysis."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return await super().analyze_end_of_turn()
        state, result = await asyncio.wrap_future(speculation)
        if state is EndOfTurnState.COMPLETE:
            self._clear(state)
        return state, result

    def _clear(self, turn_state: EndOfTurnState) -> None:
        super()._clear(turn_state)
        self._drop_speculation()
        self._meter.reset()
        self._quiet_secs = 0.0

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.cancel()  # a no-op when it is already running
            self._speculation = None


def _log_failure(warm_up: Future[Any]) -> None:
    if not warm_up.cancelled() and (error := warm_up.exception()) is not None:
        logger.warning(f"smart-turn warm-up failed: {type(error).__name__}: {error}")
