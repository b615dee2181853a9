import asyncio
import shutil

import pytest

from bot.simulated_caller import voice
from bot.simulated_caller.audio import rms, ulaw_decode, ulaw_encode
from bot.simulated_caller.voice import (
    CallerVoice,
    CallerVoiceError,
    caller_speech,
    caller_voice,
    flite_program,
)
from processors.language_model import word_errors
from processors.local_stt import DecoderInput, load_decoder, recognise
from processors.local_tts import CALLER_VOICES

needs_flite = pytest.mark.skipif(
    flite_program() is None, reason="Flite is not installed (apt-get install flite)"
)


@pytest.fixture
def no_flite(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(
        voice.shutil, "which", lambda name: None if name == "flite" else real_which(name)
    )


@needs_flite
def test_english_callers_speak_with_flite_when_it_is_installed():
    assert caller_voice("en") == CallerVoice("flite", "rms")
    assert caller_voice("en-IN") == CallerVoice("flite", "rms")
    assert str(caller_voice("en")) == "flite rms"


def test_hindi_callers_speak_with_espeak_whatever_is_installed():
    assert caller_voice("hi") == CallerVoice("espeak-ng", CALLER_VOICES["hi"])
    with pytest.raises(ValueError, match="Flite speaks English only"):
        caller_voice("hi", "flite")


def test_without_flite_the_caller_falls_back_to_espeak(no_flite):
    assert caller_voice("en") == CallerVoice("espeak-ng", CALLER_VOICES["en"])
    with pytest.raises(CallerVoiceError, match="apt-get install flite"):
        caller_voice("en", "flite")
    pcm = asyncio.run(caller_speech("a table for two", "en", 8000))
    assert len(pcm) / 2 / 8000 > 0.5
    assert rms(pcm) > 300


def test_an_unknown_engine_or_language_is_named():
    with pytest.raises(ValueError, match="unknown caller voice engine 'piper'"):
        caller_voice("en", "piper")
    with pytest.raises(ValueError, match="no caller voice for language 'ta'"):
        caller_voice("ta", "espeak")


@needs_flite
@pytest.mark.parametrize("rate", [8000, 16000])
def test_flite_speech_is_pcm_at_the_rate_asked(rate):
    pcm = asyncio.run(caller_speech("could I book a table for four", "en", rate))

    seconds = len(pcm) / 2 / rate
    assert 1.0 < seconds < 4.0
    assert rms(pcm) > 300


@needs_flite
def test_the_recogniser_hears_the_flite_caller_better_than_espeak_over_the_phone_line():
    lines = [
        "I'd like to book a table for four this saturday at 8 pm",
        "my number is 98765 43210",
        "yes, that's right",
    ]

    async def errors_of(engine: str) -> int:
        decoder = load_decoder(["Himalayan Kitchen"])
        line_input = DecoderInput(8000)  # one call: the cepstral mean carries over
        errors = 0
        for line in lines:
            pcm = await caller_speech(line, "en", 8000, engine=engine)
            phone = ulaw_decode(ulaw_encode(bytes(4800) + pcm + bytes(2400)))
            errors += word_errors(line, recognise(decoder, await line_input.convert(phone)))
        return errors

    flite, espeak = asyncio.run(errors_of("flite")), asyncio.run(errors_of("espeak"))

    # Of 23 words; on 2026-12-04 Flite's voice lost 3 ("for" for "four", "h" for "eight"),
    # espeak-ng's 7.
    assert flite <= 4
    assert flite < espeak
