import asyncio
import time

import numpy as np
import pytest
from pipecat.frames.frames import (
    ErrorFrame,
    MetricsFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSUpdateSettingsFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.settings import TTSSettings
from pipecat.tests.utils import run_test

from processors.espeak import EspeakError
from processors.local_tts import (
    CALLER_VOICES,
    VOICES,
    EspeakTTSService,
    base_language,
    synthesise,
    voice_for,
)

ENGLISH = "Hello, a table for four at seven pm"
HINDI = "नमस्ते"


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(samples(pcm) ** 2)))


def same_speech(a: bytes, b: bytes) -> bool:
    """Whether two syntheses say the same thing: espeak-ng jitters a little from run to run."""
    if abs(len(a) - len(b)) > 0.03 * max(len(a), len(b)):
        return False
    n = min(len(a), len(b)) // 320 * 160  # whole 20 ms frames at 8 kHz
    envelope_a = np.sqrt((samples(a)[:n].reshape(-1, 160) ** 2).mean(axis=1))
    envelope_b = np.sqrt((samples(b)[:n].reshape(-1, 160) ** 2).mean(axis=1))
    return bool(np.corrcoef(envelope_a, envelope_b)[0, 1] > 0.8)


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_synthesise_english_is_audible_and_sentence_length(rate):
    pcm = await synthesise(ENGLISH, "en", sample_rate=rate)

    secs = len(pcm) / 2 / rate
    assert len(pcm) % 2 == 0
    assert 1.5 < secs < 4.5  # eight words at 160 words a minute, plus pauses
    assert rms(pcm) > 500  # speech, not silence or a click


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_synthesise_hindi_devanagari_is_audible(rate):
    pcm = await synthesise(HINDI, "hi", sample_rate=rate)

    secs = len(pcm) / 2 / rate
    assert 0.3 < secs < 1.5  # "na-mas-te"
    assert rms(pcm) > 500


async def test_synthesise_output_rate_scales_length():
    at_8k = await synthesise(ENGLISH, sample_rate=8000)
    at_16k = await synthesise(ENGLISH, sample_rate=16000)

    assert abs(len(at_16k) - 2 * len(at_8k)) <= 8  # same speech, twice the samples


async def test_synthesise_bot_and_caller_voices_differ():
    bot = await synthesise(ENGLISH, "en", sample_rate=16000)
    caller = await synthesise(ENGLISH, "en", CALLER_VOICES["en"], sample_rate=16000)

    assert VOICES["en"] != CALLER_VOICES["en"]
    assert bot != caller
    # Different voices, not just a shifted copy: their spectra differ markedly.
    n = min(len(bot), len(caller)) // 2
    spectrum_bot = np.abs(np.fft.rfft(samples(bot)[:n]))
    spectrum_caller = np.abs(np.fft.rfft(samples(caller)[:n]))
    similarity = (
        spectrum_bot
        @ spectrum_caller
        / (np.linalg.norm(spectrum_bot) * np.linalg.norm(spectrum_caller))
    )
    assert similarity < 0.9


async def test_synthesise_concurrent_tasks_do_not_interleave():
    texts = [
        "Your table for two is booked for tomorrow.",
        "आपकी टेबल बुक हो गई है।",
        "We open at noon and close at eleven.",
        "Thank you for calling, goodbye.",
    ]
    jobs = list(zip(texts, ["en", "hi", "en", "en"], strict=True))
    alone = [await synthesise(text, language, sample_rate=8000) for text, language in jobs]

    together = await asyncio.gather(
        *(synthesise(text, language, sample_rate=8000) for text, language in jobs * 3)
    )

    # Each text whole and unmixed: its own length and loudness contour, not a blend.
    assert all(same_speech(a, b) for a, b in zip(together, alone * 3, strict=True))
    assert not same_speech(alone[0], alone[2])  # the check tells texts apart


async def test_synthesise_unknown_voice_raises():
    with pytest.raises(EspeakError, match="no voice"):
        await synthesise("hello", voice="xx-no-such-voice")


def test_voice_for_language_codes():
    assert voice_for("en-IN") == VOICES["en"]
    assert voice_for("hi") == VOICES["hi"]
    assert voice_for("hi", "hi+m3") == "hi+m3"
    assert base_language("EN-gb") == "en"
    with pytest.raises(ValueError, match="ta"):
        voice_for("ta")


def test_service_without_voice_for_language_fails_at_construction():
    with pytest.raises(ValueError, match="no espeak-ng voice"):
        EspeakTTSService(language="ta")


async def test_service_speaks_with_pipecat_frames_and_ttfb():
    tts = EspeakTTSService()

    down, _ = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame(ENGLISH)],
        pipeline_params=PipelineParams(audio_out_sample_rate=8000, enable_metrics=True),
    )

    kinds = [type(f) for f in down]
    assert kinds.index(TTSStartedFrame) < kinds.index(TTSAudioRawFrame)
    assert kinds.index(TTSStoppedFrame) > max(
        i for i, k in enumerate(kinds) if k is TTSAudioRawFrame
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert {(f.sample_rate, f.num_channels) for f in audio} == {(8000, 1)}
    assert 1.5 < sum(len(f.audio) for f in audio) / 2 / 8000 < 4.5
    assert len({f.context_id for f in audio}) == 1
    ttfb = [
        d.value
        for f in down
        if isinstance(f, MetricsFrame)
        for d in f.data
        if isinstance(d, TTFBMetricsData) and d.value > 0
    ]
    assert ttfb and max(ttfb) < 0.5


async def test_service_switches_to_hindi_during_a_call():
    tts = EspeakTTSService(sample_rate=16000)

    down, _ = await run_test(
        tts,
        frames_to_send=[
            TTSUpdateSettingsFrame(delta=TTSSettings(language="hi-IN")),
            TTSSpeakFrame(HINDI),
        ],
    )

    assert tts.settings.language == "hi"  # type: ignore[attr-defined]
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    assert same_speech(audio, await synthesise(HINDI, "hi", sample_rate=16000))


async def test_service_unknown_voice_reports_error():
    tts = EspeakTTSService(voice="xx-no-such-voice", stop_frame_timeout_s=0.1)

    _, up = await run_test(tts, frames_to_send=[TTSSpeakFrame("hello")])

    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "no voice" in errors[0].error


async def test_tts_real_time_factor():
    text = (
        "Thank you for calling. I have booked a table for four people tomorrow at seven "
        "thirty in the evening, under the name Priya. Is there anything else I can help with?"
    )
    await synthesise("warm up", sample_rate=8000)

    started = time.perf_counter()
    pcm = await synthesise(text, sample_rate=8000)
    elapsed = time.perf_counter() - started

    audio_secs = len(pcm) / 2 / 8000
    rtf = elapsed / audio_secs
    print(f"\nTTS: {audio_secs:.2f}s of audio in {elapsed * 1000:.1f} ms, RTF {rtf:.4f}")
    assert rtf < 0.1
