"""Energy-based utterance detection over 20 ms windows, driven by audio time (not wall time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from tests.fakes.pcm import samples

WINDOW_SECS = 0.02


class SpeechEventKind(StrEnum):
    """What the detector noticed in the audio just fed to it."""

    STARTED = "started"  # an utterance began (after ``min_speech_secs`` of voiced audio)
    PROGRESS = "progress"  # another ``interim_every_secs`` of the utterance went by
    ENDPOINT = "endpoint"  # ``endpointing_secs`` of silence followed the utterance


@dataclass
class SpeechEvent:
    """One detector event; times are seconds of audio since the stream began."""

    kind: SpeechEventKind
    at: float


@dataclass
class Utterance:
    """The utterance in progress: its audio (PCM16) and its extent in stream seconds."""

    start: float
    last_voiced_end: float
    audio: bytearray = field(default_factory=bytearray)
    last_progress: float = 0.0
    endpointed: bool = False


def voiced_secs(pcm: bytes, sample_rate: int, threshold: float = 300.0, channels: int = 1) -> float:
    """Seconds of the 20 ms windows of ``pcm`` (PCM16) whose first channel's RMS is voiced."""
    detector = SpeechDetector(sample_rate=sample_rate, channels=channels, threshold=threshold)
    step = detector._window_bytes
    windows = (pcm[i : i + step] for i in range(0, len(pcm) - step + 1, step))
    return sum(WINDOW_SECS for window in windows if detector._level(window) >= threshold)


class SpeechDetector:
    """Splits a PCM16 stream into utterances with a simple RMS threshold per 20 ms window.

    ``feed`` returns events as audio arrives; the caller decides what to do with the current
    utterance (``utterance``) and calls ``close_utterance`` when it reports a final result.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int = 1,
        threshold: float = 300.0,
        min_speech_secs: float = 0.06,
        endpointing_secs: float | None = 0.3,
        interim_every_secs: float | None = 0.5,
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = max(1, channels)
        self.threshold = threshold
        self.min_speech_windows = max(1, round(min_speech_secs / WINDOW_SECS))
        self.endpointing_secs = endpointing_secs
        self.interim_every_secs = interim_every_secs
        self._window_bytes = round(sample_rate * WINDOW_SECS) * 2 * self.channels
        self._pending = bytearray()
        self._candidate = bytearray()  # voiced windows not yet long enough to count as speech
        self._candidate_windows = 0
        self.cursor = 0.0  # seconds of audio consumed
        self.total_bytes = 0
        self.utterance: Utterance | None = None

    def feed(self, pcm: bytes) -> list[SpeechEvent]:
        """Consume PCM16 (interleaved if multichannel) and report what happened."""
        self.total_bytes += len(pcm)
        self._pending.extend(pcm)
        events: list[SpeechEvent] = []
        while len(self._pending) >= self._window_bytes:
            window = bytes(self._pending[: self._window_bytes])
            del self._pending[: self._window_bytes]
            events.extend(self._window(window))
        return events

    def close_utterance(self) -> Utterance | None:
        """End the current utterance (a final result was produced for it) and return it."""
        utterance, self.utterance = self.utterance, None
        return utterance

    def _level(self, window: bytes) -> float:
        x = samples(window).astype(np.float64)
        if self.channels > 1:
            x = x[: x.size // self.channels * self.channels].reshape(-1, self.channels)[:, 0]
        return float(np.sqrt(np.mean(x**2))) if x.size else 0.0

    def _window(self, window: bytes) -> list[SpeechEvent]:
        self.cursor += WINDOW_SECS
        voiced = self._level(window) >= self.threshold
        utterance = self.utterance
        if utterance is None:
            return self._idle_window(window, voiced)
        utterance.audio.extend(window)
        events: list[SpeechEvent] = []
        if voiced:
            utterance.last_voiced_end = self.cursor
        silence = self.cursor - utterance.last_voiced_end
        if utterance.endpointed:
            pass  # reported once; waiting for the consumer to close it
        elif self.endpointing_secs is not None and silence >= self.endpointing_secs - 1e-9:
            utterance.endpointed = True
            events.append(SpeechEvent(SpeechEventKind.ENDPOINT, self.cursor))
        elif (
            self.interim_every_secs is not None
            and self.cursor - utterance.last_progress >= self.interim_every_secs - 1e-9
        ):
            utterance.last_progress = self.cursor
            events.append(SpeechEvent(SpeechEventKind.PROGRESS, self.cursor))
        return events

    def _idle_window(self, window: bytes, voiced: bool) -> list[SpeechEvent]:
        if not voiced:
            self._candidate.clear()
            self._candidate_windows = 0
            return []
        self._candidate.extend(window)
        self._candidate_windows += 1
        if self._candidate_windows < self.min_speech_windows:
            return []
        began = self.cursor - self._candidate_windows * WINDOW_SECS
        self.utterance = Utterance(
            start=began,
            last_voiced_end=self.cursor,
            audio=bytearray(self._candidate),
            last_progress=self.cursor,
        )
        self._candidate.clear()
        self._candidate_windows = 0
        return [SpeechEvent(SpeechEventKind.STARTED, began)]
