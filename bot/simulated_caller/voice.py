"""The simulated caller's voice: Flite's recorded-speech voice where installed, else espeak-ng.

A simulated caller should sound like a person, so that the recogniser is tried on speech like a
caller's. Flite (``apt-get install flite``; BSD-style licence, run as a separate program) speaks
English with voices built from recordings of people; its ``rms`` voice, heard by the local
recogniser over the phone line, gave a word error rate of 6 % on the scenarios' lines against
24 % for espeak-ng's formant voice (``python -m bench.stt_wer --caller-voice ...``). Without Flite,
or for Hindi, which it does not speak, the caller uses espeak-ng's caller voices
(:data:`processors.local_tts.CALLER_VOICES`), which ship with the package.

Numerals of five or more digits are read digit by digit, as people say phone numbers
(:func:`processors.language_model.read_digits`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from pipecat.audio.utils import create_file_resampler

from processors.language_model import read_digits
from processors.local_tts import CALLER_VOICES, base_language, synthesise

FLITE_VOICE = "rms"
"""Flite's US-English male voice: the one the local recogniser heard best."""
FLITE_TIMEOUT_SECS = 20.0
ENGINES = ("auto", "flite", "espeak")
"""``auto``: Flite for English when installed, else espeak-ng."""


NO_FLITE = "Flite is not installed: apt-get install flite"


class CallerVoiceError(RuntimeError):
    """The caller's voice could not speak (Flite missing when asked for, or failing)."""


@dataclass(frozen=True)
class CallerVoice:
    """One way of speaking a language: the engine and its voice."""

    engine: str
    voice: str

    def __str__(self) -> str:
        return f"{self.engine} {self.voice}"


def flite_program() -> str | None:
    """The path of the ``flite`` program, or None when it is not installed."""
    return shutil.which("flite")


def caller_voice(language: str = "en", engine: str = "auto") -> CallerVoice:
    """The voice a simulated caller speaks ``language`` in.

    Args:
        language: ``"en"``, ``"hi"``, ``"en-IN"``...
        engine: ``auto`` (Flite for English when installed, else espeak-ng), ``flite`` or
            ``espeak``.

    Raises:
        ValueError: An unknown engine, or Flite asked to speak a language other than English.
        CallerVoiceError: Flite asked for and not installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown caller voice engine {engine!r}: use one of {', '.join(ENGINES)}")
    base = base_language(language)
    if engine == "flite":
        if base != "en":
            raise ValueError(f"Flite speaks English only, not {language!r}")
        if flite_program() is None:
            raise CallerVoiceError(NO_FLITE)
    if engine == "flite" or (engine == "auto" and base == "en" and flite_program() is not None):
        return CallerVoice("flite", FLITE_VOICE)
    if base not in CALLER_VOICES:
        raise ValueError(f"no caller voice for language {language!r}")
    return CallerVoice("espeak-ng", CALLER_VOICES[base])


async def caller_speech(
    text: str, language: str = "en", sample_rate: int = 8000, *, engine: str = "auto"
) -> bytes:
    """``text`` said by the simulated caller, as 16-bit mono PCM at ``sample_rate``.

    Raises:
        ValueError: See :func:`caller_voice`.
        CallerVoiceError: Flite is missing when asked for, or failed.
    """
    voice = caller_voice(language, engine)
    spoken = read_digits(text)
    if voice.engine != "flite":
        return await synthesise(spoken, base_language(language), voice.voice, sample_rate)
    pcm, rate = await _flite(spoken, voice.voice)
    return await create_file_resampler().resample(pcm, rate, sample_rate)


async def _flite(text: str, voice: str) -> tuple[bytes, int]:
    """Run Flite on ``text``; its PCM and sample rate."""
    program = flite_program()
    if program is None:
        raise CallerVoiceError(NO_FLITE)
    handle, name = tempfile.mkstemp(suffix=".wav", prefix="caller-")
    os.close(handle)
    path = Path(name)
    try:
        process = await asyncio.create_subprocess_exec(
            program,
            "-voice",
            voice,
            "-t",
            text,
            "-o",
            str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), FLITE_TIMEOUT_SECS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise CallerVoiceError(f"Flite took over {FLITE_TIMEOUT_SECS:.0f} s") from None
        if process.returncode != 0:
            message = stderr.decode(errors="replace").strip()
            raise CallerVoiceError(f"Flite failed ({process.returncode}): {message}")
        return await asyncio.to_thread(_read_wav, path)
    finally:
        await asyncio.to_thread(path.unlink, True)


def _read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise CallerVoiceError("Flite wrote audio that is not 16-bit mono")
        return wav.readframes(wav.getnframes()), wav.getframerate()
