import audioop
import warnings

import numpy as np
import pytest

from tests.fakes.audio import AUDIO_DIR, UTTERANCES, load_utterance, utterance_path
from tests.fakes.pcm import resample, rms, samples, silence, ulaw_decode, ulaw_encode
from tests.fakes.speech_detector import SpeechDetector, SpeechEventKind
from tests.fakes.voice import Voice, synthesize


def test_every_fixture_loads_as_8k_pcm16_and_total_size_is_small() -> None:
    total = 0
    for name in UTTERANCES:
        pcm = load_utterance(name)
        seconds = len(pcm) / 2 / 8000
        assert 0.8 < seconds < 4.0, name
        assert rms(pcm) > 1000, name
        total += utterance_path(name).stat().st_size
    assert total < 1_000_000
    assert (AUDIO_DIR / "README.md").exists()
    with pytest.raises(KeyError):
        utterance_path("nope")


def test_ulaw_codec_is_bit_exact_with_audioop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        everything = np.arange(-32768, 32768, dtype="<i2").tobytes()
        assert ulaw_encode(everything) == audioop.lin2ulaw(everything, 2)
        codes = bytes(range(256))
        assert ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert ulaw_encode(silence(0.02, 8000)) == b"\xff" * 160


def test_resample_keeps_duration() -> None:
    pcm = load_utterance("name_ravi")
    up = resample(pcm, 8000, 16000)
    assert len(up) == 2 * len(pcm)
    down = resample(up, 16000, 8000)
    assert len(down) == len(pcm)
    assert np.abs(samples(down).astype(int) - samples(pcm)).max() < 2


def test_detector_finds_one_utterance_per_fixture() -> None:
    detector = SpeechDetector(sample_rate=8000, endpointing_secs=0.3, interim_every_secs=None)
    pcm = silence(0.3, 8000) + load_utterance("book_table") + silence(0.5, 8000)
    events = detector.feed(pcm)
    kinds = [e.kind for e in events]
    assert kinds == [SpeechEventKind.STARTED, SpeechEventKind.ENDPOINT]
    assert events[0].at == pytest.approx(0.3, abs=0.03)
    utterance = detector.close_utterance()
    assert utterance is not None
    assert utterance.last_voiced_end - utterance.start == pytest.approx(3.46, abs=0.05)


def test_synthetic_voice_is_deterministic_audible_and_grows_with_text() -> None:
    short = synthesize("Hello.", 8000)
    long = synthesize("Hello, your table is booked for tonight.", 8000)
    assert short == synthesize("Hello.", 8000)
    assert len(long) > 4 * len(short) / 2
    assert rms(long) > 1000
    assert int(np.abs(samples(long)).max()) < 32767
    voice = Voice()
    assert voice.render("  My name   is Ravi ", 8000) == load_utterance("name_ravi")
    assert len(voice.render("My name is Ravi", 16000)) == 2 * len(load_utterance("name_ravi"))
