"""Offline text-to-speech with espeak-ng: no keys, no network, voices from the wheel.

Licence: espeak-ng is GPL-3.0-or-later. It is loaded in-process via ctypes
(:mod:`processors.espeak`) from the ``espeakng-loader`` wheel, which ships the library and its
voice data; a program using this module therefore runs GPL code in its own process.

espeak-ng has English and Hindi voices but no Indian-English one. The bot speaks British RP
English by default, and Hindi from Devanagari text: the Hindi voice reads Latin-script
(romanised) Hindi with English letter rules. :data:`CALLER_VOICES` sound unlike the bot's, for
a simulated caller; the US-English one is the voice pocketsphinx recognised best.
Synthesis takes a few milliseconds a sentence and runs in a worker thread; the 22050 Hz
output is resampled to the service's rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from types import MappingProxyType
from typing import Any

from pipecat.audio.utils import create_file_resampler
from pipecat.frames.frames import ErrorFrame, Frame, TTSAudioRawFrame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.transcriptions.language import Language
from pipecat.utils.tracing.service_decorators import traced_tts

from processors.espeak import ESPEAK_SAMPLE_RATE, EspeakError, synthesise_pcm

VOICES: Mapping[str, str] = MappingProxyType({"en": "en-gb-x-rp+f3", "hi": "hi+f3"})
"""The bot's voice per language (espeak-ng voice name plus variant)."""

CALLER_VOICES: Mapping[str, str] = MappingProxyType({"en": "en-us+klatt4", "hi": "hi+m3"})
"""Voices that sound unlike :data:`VOICES`, for a simulated caller."""

DEFAULT_RATE = 160
"""Words per minute: a little slower than espeak-ng's 175, for a phone line."""

DEFAULT_PITCH = 50


def base_language(language: str) -> str:
    """The language part of a code: ``"en-IN"`` and ``Language.EN_IN`` give ``"en"``."""
    return str(language).split("-", 1)[0].lower()


def voice_for(language: str, voice: str | None = None) -> str:
    """The espeak-ng voice to use: ``voice`` if given, else the bot's voice for ``language``.

    Raises:
        ValueError: No voice is given and there is no default for the language.
    """
    if voice:
        return voice
    try:
        return VOICES[base_language(language)]
    except KeyError:
        raise ValueError(f"no espeak-ng voice for language {language!r}; pass voice=") from None


async def synthesise(
    text: str,
    language: str = "en",
    voice: str | None = None,
    sample_rate: int = 16000,
    *,
    rate: int = DEFAULT_RATE,
    pitch: int = DEFAULT_PITCH,
) -> bytes:
    """Speak ``text`` as 16-bit mono PCM at ``sample_rate``, off the event loop.

    For use outside a pipeline (e.g. a simulated caller). Concurrent calls are safe: they take
    turns on the one espeak-ng engine.

    Args:
        text: What to say; Devanagari for Hindi.
        language: Chooses the default voice (``"en"``, ``"hi"``, ``"en-IN"``...).
        voice: An espeak-ng voice such as ``"en-us+m3"``, overriding the language's default.
        sample_rate: The rate of the returned audio.
        rate: Words per minute.
        pitch: Base pitch, 0-100.

    Raises:
        ValueError: No voice for ``language`` and none given.
        EspeakError: espeak-ng failed (unknown voice, library not loadable).
    """
    pcm = await asyncio.to_thread(
        synthesise_pcm, text, voice_for(language, voice), rate=rate, pitch=pitch
    )
    return await create_file_resampler().resample(pcm, ESPEAK_SAMPLE_RATE, sample_rate)


class EspeakTTSService(TTSService):
    """Text-to-speech with espeak-ng, for calls that must not depend on a cloud service.

    The voice follows the ``language`` setting unless ``voice`` names one; both can change
    during a call with ``TTSUpdateSettingsFrame``. Frames follow pipecat's HTTP services:
    ``TTSStartedFrame``, ``TTSAudioRawFrame`` chunks of half a second, ``TTSStoppedFrame``,
    with TTFB and usage metrics.

    Args:
        language: ``"en"`` or ``"hi"`` (region suffixes and ``Language`` values are fine).
        voice: An espeak-ng voice (``"en-us+m3"``); None means the language's bot voice.
        rate: Words per minute.
        pitch: Base pitch, 0-100.
        sample_rate: Output rate; None means the pipeline's output rate.
        **kwargs: Passed to ``TTSService``.

    Raises:
        ValueError: No voice is given and there is none for ``language``.
    """

    def __init__(
        self,
        *,
        language: str = "en",
        voice: str | None = None,
        rate: int = DEFAULT_RATE,
        pitch: int = DEFAULT_PITCH,
        sample_rate: int | None = None,
        **kwargs: Any,
    ) -> None:
        voice_for(language, voice)  # fail now, not on the first sentence
        super().__init__(
            sample_rate=sample_rate,
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice=voice, language=base_language(language)),
            **kwargs,
        )
        self._rate = rate
        self._pitch = pitch

    def can_generate_metrics(self) -> bool:
        """TTFB and usage metrics are reported like the cloud services'."""
        return True

    def language_to_service_language(self, language: Language) -> str | None:
        """espeak-ng is asked for a voice, not a language: keep just the language part."""
        return base_language(language)

    @traced_tts
    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Synthesise ``text`` and yield its audio in chunks.

        Args:
            text: One sentence or so, as the base class aggregates it.
            context_id: The audio context the frames belong to.

        Yields:
            ``TTSAudioRawFrame`` chunks, or an ``ErrorFrame`` if espeak-ng fails.
        """
        language = self._settings.language
        voice = self._settings.voice
        await self.start_ttfb_metrics()
        try:
            audio = await synthesise(
                text,
                language if isinstance(language, str) else "en",
                voice if isinstance(voice, str) else None,
                self.sample_rate,
                rate=self._rate,
                pitch=self._pitch,
            )
        except (EspeakError, ValueError) as e:
            yield ErrorFrame(error=f"{self}: speech synthesis failed: {e}", exception=e)
            return
        await self.start_tts_usage_metrics(text)
        await self.stop_ttfb_metrics()

        for start in range(0, len(audio), self.chunk_size):
            chunk = audio[start : start + self.chunk_size]
            yield TTSAudioRawFrame(chunk, self.sample_rate, 1, context_id=context_id)
