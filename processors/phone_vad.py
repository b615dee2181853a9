"""Silero VAD that hears the caller stop as soon as the line goes quiet.

Silero's confidence lags the audio: after the last word it stayed above the VAD's threshold for
one to three more 32 ms windows of silence (see :mod:`processors.audio_level`), so its stop,
``stop_secs`` after the first window it called silent, came 0-100 ms late and every turn paid for
that. :class:`PhoneVADAnalyzer` takes a window that is quiet next to the caller's recent speech
as no speech, whatever the model says; anything louder is left to the model, so noise and soft
speech are judged as before.

A turn starts after :data:`PHONE_VAD_PARAMS`' 0.1 s of speech, not pipecat's 0.2 s: Silero is
confident for only 0.1-0.15 s of a short answer ("yes", "four", "correct"), so with 0.2 s the
VAD never heard it and the caller was asked whether they were still there.

It also runs on the process's one Silero session (:mod:`processors.shared_models`), with the
model's recurrent state its own, instead of loading the model for every call.
"""

from __future__ import annotations

import copy

from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from processors.audio_level import QuietMeter
from processors.shared_models import shared

PHONE_VAD_PARAMS = VADParams(start_secs=0.1)
"""pipecat's defaults (confidence 0.7, stop after 0.2 s, minimum volume 0.6) but for the start."""


class PhoneVADAnalyzer(SileroVADAnalyzer):
    """:class:`SileroVADAnalyzer` whose confidence is 0 on windows the level calls quiet.

    Args:
        sample_rate: Rate of the audio, or None to take the pipeline's.
        params: The VAD's thresholds and timings (:data:`PHONE_VAD_PARAMS` when None).
    """

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None) -> None:
        self._meter = QuietMeter(sample_rate or 16_000)
        # Not SileroVADAnalyzer.__init__, which loads a model of its own; the rest of it is here.
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params or PHONE_VAD_PARAMS)
        self._model = silero_model()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the audio rate and start metering at it.

        Args:
            sample_rate: The pipeline's input rate.
        """
        super().set_sample_rate(sample_rate)
        self._meter = QuietMeter(self.sample_rate)

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """The VAD's state after ``buffer``, judged right here on the event loop.

        pipecat hands every 20 ms frame to the analyzer's own thread and waits for it; the
        work is ~0.1 ms, and with many calls the hand-overs cost more than the work.
        """
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer: bytes) -> float:
        """Silero's confidence for the window, or 0.0 when the window is quiet.

        Args:
            buffer: One window of 16-bit mono audio.
        """
        confidence = super().voice_confidence(buffer)
        return 0.0 if self._meter.is_quiet(buffer) else confidence


def silero_model() -> SileroOnnxModel:
    """A Silero model with a fresh recurrent state, on the process's one ONNX session."""
    model = copy.copy(shared("silero-vad", lambda: SileroVADAnalyzer()._model))
    model.reset_states()  # new state arrays: the session alone is shared
    return model
