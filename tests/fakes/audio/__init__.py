"""Recorded caller utterances: 8 kHz, 16-bit, mono WAVs rendered once with espeak-ng.

``UTTERANCES`` maps each fixture name to the exact text spoken in ``<name>.wav``. The fake TTS
also serves these files when it is asked to say one of these texts verbatim.
"""

from __future__ import annotations

import wave
from functools import cache
from pathlib import Path

AUDIO_DIR = Path(__file__).resolve().parent
SAMPLE_RATE = 8000

UTTERANCES: dict[str, str] = {
    "book_table": "I would like to book a table for four tomorrow at eight pm",
    "yes_right": "Yes, that's right",
    "name_ravi": "My name is Ravi",
    "cancel_booking": "Can I cancel my booking",
    "thank_you_bye": "Thank you, bye",
    "hello": "Hello, is this the restaurant?",
    "seven_thirty": "Seven thirty please",
}


def utterance_path(name: str) -> Path:
    """The WAV file of fixture ``name`` (a key of ``UTTERANCES``)."""
    if name not in UTTERANCES:
        raise KeyError(f"no utterance fixture named {name!r}; have {sorted(UTTERANCES)}")
    return AUDIO_DIR / f"{name}.wav"


def read_wav_pcm16(path: Path) -> tuple[bytes, int]:
    """Read a mono 16-bit WAV file and return ``(pcm_bytes, sample_rate)``."""
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        return wav.readframes(wav.getnframes()), wav.getframerate()


@cache
def load_utterance(name: str) -> bytes:
    """PCM16 little-endian, 8 kHz mono audio of fixture ``name``."""
    pcm, rate = read_wav_pcm16(utterance_path(name))
    if rate != SAMPLE_RATE:
        raise ValueError(f"{name}: expected {SAMPLE_RATE} Hz, found {rate} Hz")
    return pcm


def text_to_fixture() -> dict[str, Path]:
    """Map each fixture's exact text to its WAV path (only files that exist)."""
    return {
        text: AUDIO_DIR / f"{name}.wav"
        for name, text in UTTERANCES.items()
        if (AUDIO_DIR / f"{name}.wav").exists()
    }
