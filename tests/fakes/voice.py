"""The fake TTS voice: pre-rendered WAVs for known texts, else speech-like synthetic PCM."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tests.fakes.audio import read_wav_pcm16, text_to_fixture
from tests.fakes.pcm import resample

SECS_PER_CHAR = 0.06
PEAK = 9000.0


def normalise_text(text: str) -> str:
    """Collapse whitespace so that ``"Hello  there "`` finds the recording of ``"Hello there"``."""
    return " ".join(text.split())


def synthesize(text: str, sample_rate: int, secs_per_char: float = SECS_PER_CHAR) -> bytes:
    """Audible, speech-like PCM16: ~``secs_per_char`` per character, voiced words, silent gaps.

    Each word is a harmonic tone (pitch seeded by the word) with a syllable-rate tremolo under a
    smooth envelope; spaces and punctuation are short pauses. Deterministic for a given text.
    """
    parts: list[np.ndarray] = []
    for word in text.split(" "):
        letters = sum(ch.isalnum() for ch in word)
        pause_chars = len(word) - letters + 1  # punctuation and the following space
        if letters:
            parts.append(_voiced(word, letters * secs_per_char, sample_rate))
        parts.append(np.zeros(round(pause_chars * secs_per_char * sample_rate)))
    signal = np.concatenate(parts) if parts else np.zeros(0)
    return np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()


def _voiced(word: str, duration: float, sample_rate: int) -> np.ndarray:
    seed = zlib.crc32(word.lower().encode())
    f0 = 110.0 + seed % 60  # 110-170 Hz
    t = np.arange(round(duration * sample_rate)) / sample_rate
    glide = 1.0 + 0.08 * np.sin(np.pi * t / max(duration, 1e-3))  # intonation over the word
    phase = 2 * np.pi * f0 * np.cumsum(glide) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 7))
    formant = 0.3 * np.sin(2 * np.pi * (700 + seed % 500) * t)
    tremolo = 0.65 + 0.35 * np.sin(2 * np.pi * 4.5 * t)
    envelope = np.sin(np.pi * t / max(duration, 1e-3)) ** 0.5
    return PEAK * 0.55 * (tone + formant) * tremolo * envelope


class Voice:
    """Renders text to PCM16 at any rate, preferring a pre-rendered WAV of the exact text."""

    def __init__(
        self,
        prerendered: Mapping[str, Path] | None = None,
        *,
        secs_per_char: float = SECS_PER_CHAR,
    ) -> None:
        table = text_to_fixture() if prerendered is None else prerendered
        self.prerendered = {normalise_text(text): path for text, path in table.items()}
        self.secs_per_char = secs_per_char

    def render(self, text: str, sample_rate: int) -> bytes:
        """PCM16 mono audio of ``text`` at ``sample_rate``."""
        path = self.prerendered.get(normalise_text(text))
        if path is not None:
            pcm, rate = read_wav_pcm16(path)
            return resample(pcm, rate, sample_rate)
        return synthesize(normalise_text(text), sample_rate, self.secs_per_char)
