import time
from pathlib import Path

import pocketsphinx
import pytest
from pipecat.audio.utils import create_file_resampler, pcm_to_ulaw, ulaw_to_pcm
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    MetricsFrame,
    STTMuteFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test

from frames.listening import ListeningForFrame
from processors import language_model
from processors.language_model import (
    approximate_pronunciation,
    corpus,
    recogniser_model,
    word_errors,
)
from processors.local_stt import WIDEBAND_CMN, PocketsphinxSTTService
from processors.local_tts import CALLER_VOICES, synthesise

BUSINESS = ["Himalayan Kitchen", "paneer tikka"]

PHRASES = [
    "hello i want to book a table for tomorrow night",
    "a table for five people on friday at eight pm",
    "my name is anjali gupta",
    "yes please",
    "that's correct",
    "can i change my reservation to sunday",
    "i need to cancel my table for tonight",
    "what time do you close",
    "do you have vegetarian food",
    "make it quarter past seven",
    "we are twelve people",
    "on the third of april at one thirty pm",
    "my name is vikram singh",
    "no thanks",
    "is seven o'clock available",
    "hello is this himalayan kitchen",
]


class Recorder(FrameProcessor):
    """Keeps every non-audio frame going downstream, with when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[float, Frame]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)

        if direction == FrameDirection.DOWNSTREAM and not isinstance(frame, InputAudioRawFrame):
            self.frames.append((time.perf_counter(), frame))
        await self.push_frame(frame, direction)

    def of(self, kind: type) -> list:
        return [f for _, f in self.frames if isinstance(f, kind)]


async def caller_says(text: str, rate: int = 16000, *, telephone: bool = False) -> bytes:
    """The simulated caller's voice; ``telephone`` sends it through 8 kHz mu-law as Plivo does."""
    if not telephone:
        return await synthesise(text, voice=CALLER_VOICES["en"], sample_rate=rate)
    pcm = await synthesise(text, voice=CALLER_VOICES["en"], sample_rate=8000)
    ulaw = await pcm_to_ulaw(pcm, 8000, 8000, create_file_resampler())
    return await ulaw_to_pcm(ulaw, 8000, rate, create_file_resampler())


def utterance(pcm: bytes, rate: int, *, paced: bool = False) -> list[Frame]:
    """Audio in 20 ms frames with VAD frames where a VAD would put them (start_secs=0.2)."""
    step = rate // 50 * 2
    chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    silence = [bytes(step)] * 10
    frames: list[Frame] = []
    for i, chunk in enumerate(silence * 2 + chunks + silence):
        if i == len(silence) * 2 + 13:  # the VAD decides 0.2 s (+ a little) into the speech
            frames.append(VADUserStartedSpeakingFrame(start_secs=0.2))
        frames.append(InputAudioRawFrame(chunk, rate, 1))
        if paced:
            frames.append(SleepFrame(sleep=0.02))
    frames.append(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    return frames


async def recognise_each(phrases: list[str], rate: int, **stt_args) -> list[str]:
    """Each phrase's final transcript, each from a fresh service: a call's first utterance."""
    heard = []
    for phrase in phrases:
        telephone = rate == 8000
        frames = utterance(await caller_says(phrase, rate, telephone=telephone), rate)
        recorder = Recorder()
        stt = PocketsphinxSTTService(business_phrases=BUSINESS, **stt_args)

        await run_test(
            Pipeline([stt, recorder]),
            frames_to_send=frames,
            pipeline_params=PipelineParams(audio_in_sample_rate=rate),
        )

        heard.append(" ".join(f.text for f in recorder.of(TranscriptionFrame)))
    return heard


def report_wer(label: str, phrases: list[str], heard: list[str]) -> float:
    errors = sum(word_errors(p, h) for p, h in zip(phrases, heard, strict=True))
    wer = errors / sum(len(p.split()) for p in phrases)
    print(f"\n{label}: WER {wer:.1%} ({errors} errors)")
    for phrase, text in zip(phrases, heard, strict=True):
        if phrase != text:
            print(f"  said {phrase!r}\n  heard {text!r}")
    return wer


def test_recogniser_model_is_built_once_per_vocabulary():
    language_model._build.cache_clear()
    language_model._cmudict.cache_clear()

    started = time.perf_counter()
    cold = recogniser_model(BUSINESS, ["Ishita"])
    cold_secs = time.perf_counter() - started
    started = time.perf_counter()
    cached = recogniser_model(["paneer  tikka", "himalayan kitchen"], ["ishita"])
    cached_secs = time.perf_counter() - started
    started = time.perf_counter()
    pocketsphinx.Decoder(lm=cold.lm_path, dict=cold.dict_path, loglevel="FATAL")
    decoder_secs = time.perf_counter() - started

    print(
        f"\nmodel: {len(cold.words)} words, cold build {cold_secs * 1000:.0f} ms, cached "
        f"{cached_secs * 1e6:.0f} us, decoder load {decoder_secs * 1000:.0f} ms"
    )
    assert cached is cold
    assert cached_secs < 0.01
    assert cold_secs < 5
    assert decoder_secs < 1  # the trimmed dictionary: the full CMUdict takes seconds
    assert {"himalayan", "kitchen", "paneer", "ishita", "priya", "rahul", "sharma"} <= cold.words
    assert {"paneer", "ishita", "priya"} <= set(cold.approximated)
    assert recogniser_model(["Other Place"]) is not cold


def test_recogniser_dictionary_has_exactly_the_model_words():
    model = recogniser_model(BUSINESS)

    lines = Path(model.dict_path).read_text(encoding="utf-8").splitlines()
    dictionary_words = {line.split(" ", 1)[0].split("(", 1)[0] for line in lines}
    arpa = Path(model.lm_path).read_text(encoding="utf-8")
    unigrams = arpa.split("\\1-grams:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    lm_words = {line.split()[1] for line in unigrams} - {"<s>", "</s>"}

    assert dictionary_words == lm_words == model.words


def test_corpus_expands_numbers_dates_times_and_names():
    sentences = set(corpus(["Himalayan Kitchen"], ["ishita"]))
    text = "\n".join(sentences)

    for expected in [
        "seven thirty pm",
        "twenty first",
        "thirty first",
        "twenty people",
        "next saturday",
        "december",
        "my name is priya",
        "my name is ishita",
        "is this himalayan kitchen",
        "cancel my booking",
        "what time do you open",
    ]:
        assert expected in text, expected
    assert "yes" in sentences and "no" in sentences


@pytest.mark.parametrize(
    ("word", "phones"),
    [
        ("priya", "P R IH Y AA"),
        ("neha", "N EY HH AA"),
        ("anjali", "AH N JH AH L IY"),
        ("vijay", "V IH JH EY"),
        ("pooja", "P UW JH AA"),
        ("shah", "SH AA"),
        ("lakshmi", "L AH K SH M IY"),
    ],
)
def test_approximate_pronunciation_of_romanised_names(word, phones):
    assert approximate_pronunciation(word) == phones


async def test_stt_round_trip_word_error_rate():
    heard = await recognise_each(PHRASES, 16000, cmn_init=WIDEBAND_CMN)

    assert report_wer("16 kHz caller speech", PHRASES, heard) < 0.25


async def test_stt_round_trip_over_telephone_audio():
    # Plivo's 8 kHz mu-law, fed at 8 kHz so the service resamples it to the model's 16 kHz.
    heard = await recognise_each(PHRASES, 8000)

    # Narrowband speech suits the wideband en-US model less well: a looser bound.
    # 19-25 % measured across the settings tried, 64 % without the telephone cepstral mean,
    # so the bound still catches a regression.
    assert report_wer("8 kHz mu-law caller speech", PHRASES, heard) < 0.35


async def test_stt_pipeline_streams_interims_then_a_prompt_final_transcript():
    phrases = [
        "i'd like to book a table for four people tomorrow at seven thirty pm",
        "my name is rahul sharma",
        "yes that's right",
    ]
    frames: list[Frame] = []
    for phrase in phrases:  # as Plivo's serializer hands it over: 8 kHz mu-law at 16 kHz
        frames += utterance(await caller_says(phrase, telephone=True), 16000, paced=True)
        frames.append(SleepFrame(sleep=0.3))
    recorder = Recorder()
    stt = PocketsphinxSTTService(business_phrases=BUSINESS)

    await run_test(
        Pipeline([stt, recorder]),
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=16000, enable_metrics=True),
    )

    finals = recorder.of(TranscriptionFrame)
    assert len(finals) == len(phrases)
    assert {"table", "four", "tomorrow", "seven", "thirty"} <= set(finals[0].text.split())
    assert {"name", "rahul"} <= set(finals[1].text.split())
    assert "right" in finals[2].text.split()
    assert all(f.finalized for f in finals)
    report_wer("paced telephone speech, one call", phrases, [f.text for f in finals])
    assert len(recorder.of(InterimTranscriptionFrame)) >= 3
    interims_first = recorder.of(InterimTranscriptionFrame)[0]
    assert phrases[0].startswith(interims_first.text.split()[0])

    stops = [t for t, f in recorder.frames if isinstance(f, VADUserStoppedSpeakingFrame)]
    done = [t for t, f in recorder.frames if isinstance(f, TranscriptionFrame)]
    latencies_ms = [(d - s) * 1000 for s, d in zip(stops, done, strict=True)]
    print(f"\nVAD stop to final transcript: {', '.join(f'{ms:.1f}' for ms in latencies_ms)} ms")
    assert max(latencies_ms) < 150

    ttfb = [
        d.value
        for f in recorder.of(MetricsFrame)
        for d in f.data
        if isinstance(d, TTFBMetricsData) and d.value > 0
    ]
    # One per turn: speech end (VAD stop minus stop_secs) to final. The values are not
    # checked: the test builds its VAD frames, and so their timestamps, ahead of time.
    assert len(ttfb) == len(phrases)


async def test_stt_end_frame_flushes_an_open_utterance():
    frames = utterance(await caller_says("cancel my booking"), 16000)[:-1]  # no VAD stop
    recorder = Recorder()

    await run_test(Pipeline([PocketsphinxSTTService(), recorder]), frames_to_send=frames)

    assert [f.text for f in recorder.of(TranscriptionFrame)] == ["cancel my booking"]


async def test_stt_silence_between_vad_frames_gives_no_transcript():
    recorder = Recorder()

    await run_test(
        Pipeline([PocketsphinxSTTService(), recorder]),
        frames_to_send=utterance(bytes(32000), 16000) + [SleepFrame(sleep=0.2)],
    )

    assert recorder.of(TranscriptionFrame) == []


async def test_stt_ignores_audio_outside_vad_speech():
    # Speech that no VAD start frame announced is only kept as pre-roll, never transcribed.
    pcm = await caller_says("what time do you open")
    frames: list[Frame] = [
        InputAudioRawFrame(pcm[i : i + 640], 16000, 1) for i in range(0, len(pcm), 640)
    ]
    recorder = Recorder()

    await run_test(Pipeline([PocketsphinxSTTService(), recorder]), frames_to_send=frames)

    assert recorder.of(TranscriptionFrame) == []
    assert recorder.of(InterimTranscriptionFrame) == []


async def test_stt_muted_hears_nothing_until_unmuted():
    speech = utterance(await caller_says("cancel my booking"), 16000)
    frames = [STTMuteFrame(mute=True), *speech, STTMuteFrame(mute=False), *speech]
    recorder = Recorder()
    stt = PocketsphinxSTTService(cmn_init=WIDEBAND_CMN)

    await run_test(Pipeline([stt, recorder]), frames_to_send=frames)

    finals = recorder.of(TranscriptionFrame)
    assert len(finals) == 1
    assert "cancel" in finals[0].text.split()


def test_band_extender_adds_a_high_band_only_where_the_line_has_hiss():
    import numpy as np

    from processors.local_stt import BandExtender

    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    vowel = (8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
    hiss = np.convolve(rng.standard_normal(16000), [1, -1], mode="same")  # energy up high
    fricative = (3000 * hiss / np.abs(hiss).max()).astype("<i2").tobytes()

    def energy_above_4k(pcm: bytes) -> float:
        x = np.frombuffer(pcm, dtype="<i2").astype(float)
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        return float(spectrum[len(spectrum) // 2 :].sum() / spectrum.sum())

    extended_vowel = b"".join(
        BandExtender().process(vowel[i : i + 640]) for i in range(0, 32000, 640)
    )
    extender = BandExtender()
    extended_hiss = b"".join(extender.process(fricative[i : i + 640]) for i in range(0, 32000, 640))

    assert len(extended_vowel) == len(vowel)
    assert energy_above_4k(extended_vowel) < 0.01
    assert energy_above_4k(extended_hiss) > energy_above_4k(fricative)


@pytest.mark.parametrize(("topics", "search"), [(["party"], "party"), (["code", None], "_default")])
async def test_stt_decodes_with_the_model_of_what_the_bot_asked(topics, search):
    frames = utterance(await caller_says("four people", 8000, telephone=True), 8000)
    recorder = Recorder()
    stt = PocketsphinxSTTService(business_phrases=BUSINESS)

    await run_test(
        Pipeline([stt, recorder]),
        frames_to_send=[*(ListeningForFrame(topic) for topic in topics), *frames],
        pipeline_params=PipelineParams(audio_in_sample_rate=8000),
    )

    assert stt._decoder.current_search().endswith(search)
    assert [f.text for f in recorder.of(TranscriptionFrame)] == ["four people"]
    assert recorder.of(ListeningForFrame) == []  # the hint stops at the recogniser
