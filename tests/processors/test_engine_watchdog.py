import time
from collections.abc import Sequence
from typing import Any

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ErrorFrame,
    Frame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMAssistantPushAggregationFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.utils.errors import ErrorCategory

from processors.apology import Apology, ApologyClips, ClipKey, apology_text, chime
from processors.engine_watchdog import EngineWatchdog, describe

RATE = 8000
TEXT = apology_text("en")
KEY = ClipKey("himalayan-kitchen", "en", "aura-2-thalia-en", RATE, TEXT)
CLIP = b"\x10\x00" * RATE  # one second of a spoken clip


class FakeSTT(STTService):
    async def run_stt(self, audio: bytes):
        yield None


class FakeTTS(TTSService):
    async def run_tts(self, text: str, context_id: str):
        yield None


class FakeLLM(LLMService):
    pass


class GroqToolUseFailed(Exception):
    """Shaped like the OpenAI SDK's BadRequestError for Groq's tool_use_failed."""

    code = "tool_use_failed"
    status_code = 400


class Recorded:
    """The recorder's ``error``: keeps what was reported and when."""

    def __init__(self) -> None:
        self.errors: list[tuple[float, str, str | None]] = []

    def __call__(self, message: str, *, source: str | None = None) -> None:
        self.errors.append((time.monotonic(), message, source))

    @property
    def messages(self) -> list[str]:
        return [message for _, message, _ in self.errors]

    @property
    def sources(self) -> list[str | None]:
        return [source for _, _, source in self.errors]


class Timeline(BaseObserver):
    """When each frame was first pushed (the sink's order mixes system and other frames)."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.pushed: list[tuple[float, Frame]] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        self.pushed.append((time.monotonic(), data.frame))

    def first(self, kind: type[Frame]) -> float:
        return next(at for at, frame in self.pushed if isinstance(frame, kind))

    def apology_started(self) -> float:
        return next(at for at, frame in self.pushed if frame in apologies([frame]))


def watchdog(*, cached: bool = True, budget: float = 0.3) -> tuple[EngineWatchdog, Recorded]:
    clips = ApologyClips()
    if cached:
        clips.put(KEY, CLIP)
    report = Recorded()
    apology = Apology(TEXT, RATE, key=KEY, clips=clips)
    return EngineWatchdog(apology, report=report, budget_secs=budget), report


async def run(
    dog: EngineWatchdog, frames: Sequence[Frame], *observers: BaseObserver
) -> tuple[list[Frame], list[Frame]]:
    down, up = await run_test(
        dog,
        frames_to_send=[*frames, SleepFrame(sleep=0.1)],
        observers=[dog.observer, *observers],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    return list(down), list(up)


def apologies(frames: list[Frame]) -> list[TTSStartedFrame]:
    return [
        f
        for f in frames
        if isinstance(f, TTSStartedFrame) and (f.context_id or "").startswith("apology-")
    ]


def error(processor: object, message: str = "boom", **kwargs: Any) -> ErrorFrame:
    return ErrorFrame(message, processor=processor, **kwargs)  # type: ignore[arg-type]


def turn(text: str = "a table for four") -> list[Frame]:
    return [
        TranscriptionFrame(text, "caller", "t", finalized=True),
        UserStoppedSpeakingFrame(),
    ]


async def test_llm_error_interrupts_then_plays_the_spoken_clip_once_per_episode():
    dog, report = watchdog()
    llm = FakeLLM()
    failed = error(llm, "Error during completion: ...", exception=GroqToolUseFailed("x"))
    down, up = await run(dog, [failed, SleepFrame(sleep=0.1), error(llm, "again")])

    assert len(apologies(down)) == 1
    kinds = [type(f) for f in down if not isinstance(f, ErrorFrame)]
    start = kinds.index(TTSStartedFrame)
    assert kinds[start - 1] is InterruptionFrame  # the broken reply is cut first
    assert any(isinstance(f, InterruptionFrame) for f in up)  # ...upstream too (LLM, TTS)
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    assert audio == CLIP
    assert {f.sample_rate for f in down if isinstance(f, TTSAudioRawFrame)} == {RATE}
    (said,) = [f for f in down if isinstance(f, TTSTextFrame)]
    assert said.text == TEXT
    assert kinds[-2:] == [TTSStoppedFrame, LLMAssistantPushAggregationFrame]
    assert report.messages == ["llm error: tool_use_failed (HTTP 400)", "llm error: again"]
    assert report.sources == ["llm", "llm"]


async def test_a_new_turn_starts_a_new_episode():
    dog, report = watchdog()
    tts = FakeTTS()
    down, _ = await run(
        dog,
        [
            error(tts, "Error getting audio: HTTP 500: {}"),
            SleepFrame(sleep=0.1),
            error(tts, "Error getting audio: HTTP 500: {}"),  # same episode: nothing new
            UserStartedSpeakingFrame(),
            error(tts, "Error getting audio: HTTP 500: {}"),
        ],
    )
    assert len(apologies(down)) == 2
    assert report.messages == ["tts error: HTTP 500", "tts error: HTTP 500"]


async def test_a_turn_without_reply_is_a_stall_heard_within_the_budget():
    dog, report = watchdog(budget=0.3)
    timeline = Timeline()
    down, _ = await run(dog, [*turn(), SleepFrame(sleep=0.6)], timeline)

    assert len(apologies(down)) == 1
    ((_, message, source),) = report.errors
    assert (message, source) == ("llm stall: no reply 0.3 s after the request", "llm")
    waited = timeline.apology_started() - timeline.first(UserStoppedSpeakingFrame)
    assert 0.28 <= waited < 0.45


async def test_progress_restarts_the_budget_and_bot_speech_ends_the_wait():
    dog, report = watchdog(budget=0.2)
    frames: list[Frame] = [
        *turn(),
        SleepFrame(sleep=0.15),
        LLMFullResponseStartFrame(),
        LLMTextFrame("Sure,"),
        SleepFrame(sleep=0.15),
        LLMTextFrame(" which day?"),
        SleepFrame(sleep=0.15),
        BotStartedSpeakingFrame(),
        SleepFrame(sleep=0.3),
    ]
    down, _ = await run(dog, frames)
    assert not apologies(down)
    assert not report.errors


async def test_a_reply_that_stops_mid_stream_is_the_llms_stall():
    dog, report = watchdog(budget=0.3)
    frames = [
        *turn(),
        LLMFullResponseStartFrame(),
        LLMTextFrame("Sure, let"),
        SleepFrame(sleep=0.5),
    ]
    down, _ = await run(dog, frames)
    assert len(apologies(down)) == 1
    assert report.messages == ["llm stall: reply stopped for 0.3 s mid-stream"]


async def test_text_that_is_never_voiced_is_the_tts_stall():
    dog, report = watchdog(budget=0.3)
    frames = [
        *turn(),
        LLMFullResponseStartFrame(),
        LLMTextFrame("Sure."),
        LLMFullResponseEndFrame(),
        SleepFrame(sleep=0.5),
    ]
    down, _ = await run(dog, frames)
    assert len(apologies(down)) == 1
    assert report.sources == ["tts"]


async def test_a_running_tool_holds_the_clock():
    dog, report = watchdog(budget=0.2)
    call: dict[str, Any] = {"function_name": "check_availability", "tool_call_id": "c1"}
    call["arguments"] = {}
    frames = [
        *turn(),
        FunctionCallInProgressFrame(**call),
        SleepFrame(sleep=0.4),  # a slow tool: no stall
        FunctionCallResultFrame(**call, result={"available": True}),
        SleepFrame(sleep=0.35),  # but no reply after it: a stall
    ]
    down, _ = await run(dog, frames)
    assert len(apologies(down)) == 1
    assert report.messages == ["llm stall: no reply 0.2 s after the request"]


async def test_stt_error_waits_until_the_caller_stops_and_interrupts_nothing():
    dog, report = watchdog()
    timeline = Timeline()
    frames = [
        VADUserStartedSpeakingFrame(),
        error(FakeSTT(), "no close frame received or sent"),
        SleepFrame(sleep=0.3),
        VADUserStoppedSpeakingFrame(),
    ]
    down, _ = await run(dog, frames, timeline)
    assert len(apologies(down)) == 1
    assert timeline.apology_started() >= timeline.first(VADUserStoppedSpeakingFrame)
    assert not any(isinstance(f, InterruptionFrame) for f in down)
    assert report.errors[0][1:] == ("stt error: no close frame received or sent", "stt")


async def test_lost_speech_is_apologised_for_once_the_bot_has_finished_its_sentence():
    dog, _ = watchdog()
    timeline = Timeline()
    frames = [
        BotStartedSpeakingFrame(),
        VADUserStartedSpeakingFrame(),
        error(FakeSTT(), "connection error"),
        VADUserStoppedSpeakingFrame(),
        SleepFrame(sleep=0.2),
        BotStoppedSpeakingFrame(),
    ]
    down, _ = await run(dog, frames, timeline)
    assert len(apologies(down)) == 1
    assert timeline.apology_started() >= timeline.first(BotStoppedSpeakingFrame)


async def test_an_stt_error_in_silence_waits_for_speech_that_goes_unheard():
    dog, report = watchdog(budget=0.3)
    timeline = Timeline()
    frames = [
        error(FakeSTT(), "connection error"),  # nobody is speaking: no apology (yet)
        SleepFrame(sleep=0.6),
        VADUserStartedSpeakingFrame(),
        UserStartedSpeakingFrame(),
        SleepFrame(sleep=0.1),
        VADUserStoppedSpeakingFrame(),  # ...and no transcript comes for it
        SleepFrame(sleep=0.5),
    ]
    down, _ = await run(dog, frames, timeline)
    assert len(apologies(down)) == 1
    waited = timeline.apology_started() - timeline.first(VADUserStoppedSpeakingFrame)
    assert 0.28 <= waited < 0.45
    assert report.messages == [
        "stt error: connection error",
        "stt stall: no transcript 0.3 s after the caller stopped speaking",
    ]


async def test_an_stt_error_in_silence_is_only_recorded_when_the_stt_recovers():
    dog, report = watchdog(budget=0.3)
    frames = [
        error(FakeSTT(), "connection error"),
        SleepFrame(sleep=0.6),
        VADUserStartedSpeakingFrame(),
        UserStartedSpeakingFrame(),
        TranscriptionFrame("hello", "caller", "t"),
        VADUserStoppedSpeakingFrame(),
        SleepFrame(sleep=0.5),
    ]
    down, _ = await run(dog, frames)
    assert not apologies(down)
    assert report.messages == ["stt error: connection error"]


async def test_other_errors_are_not_engine_failures():
    dog, report = watchdog()
    frames = [
        error(FrameProcessor(), "transport hiccup"),
        error(FakeLLM(), "tool handler raised", category=ErrorCategory.APPLICATION),
    ]
    down, _ = await run(dog, frames)
    assert not apologies(down)
    assert not report.errors


async def test_input_audio_passes_straight_through():
    dog, _ = watchdog()
    frames = [InputAudioRawFrame(bytes([i]) * 640, 16000, 1) for i in range(5)]
    down, _ = await run(dog, frames)
    assert [f for f in down if isinstance(f, InputAudioRawFrame)] == frames


async def test_without_a_spoken_clip_the_chime_plays_and_nothing_is_said():
    dog, report = watchdog(cached=False)
    down, _ = await run(dog, [error(FakeTTS(), "Error getting audio: HTTP 503: {}")])
    (started,) = apologies(down)
    assert started.append_to_context is False
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    assert audio == chime(RATE)
    assert not any(isinstance(f, (TTSTextFrame, LLMAssistantPushAggregationFrame)) for f in down)
    assert report.messages == ["tts error: HTTP 503"]


async def test_the_spoken_clip_is_prepared_when_the_caller_first_speaks():
    clips = ApologyClips()
    asked: list[str] = []

    async def synthesise(text: str) -> bytes:
        asked.append(text)
        return CLIP

    def new_watchdog() -> EngineWatchdog:
        apology = Apology(TEXT, RATE, key=KEY, synthesise=synthesise, clips=clips)
        return EngineWatchdog(apology, report=Recorded())

    await run(new_watchdog(), [BotStartedSpeakingFrame(), BotStoppedSpeakingFrame()])
    assert asked == []  # not while the greeting plays
    dog = new_watchdog()
    await run(dog, [VADUserStartedSpeakingFrame(), VADUserStoppedSpeakingFrame()])
    assert asked == [TEXT]
    assert clips.get(KEY) == CLIP
    assert dog.apology.audio() == (CLIP, "spoken clip")
    await run(new_watchdog(), [VADUserStartedSpeakingFrame(), VADUserStoppedSpeakingFrame()])
    assert asked == [TEXT]  # cached for the process


async def test_a_failed_synthesis_leaves_the_chime():
    clips = ApologyClips()

    async def broken(text: str) -> bytes:
        raise OSError("HTTP 500")

    apology = Apology(TEXT, RATE, key=KEY, synthesise=broken, clips=clips)
    assert await apology.prepare() is False
    assert apology.audio() == (chime(RATE), "chime")

    async def too_short(text: str) -> bytes:
        return b"\x00\x00" * 100

    apology.synthesise = too_short
    assert await apology.prepare() is False
    assert len(clips) == 0


def test_the_chime_is_soft_and_click_free():
    pcm = chime(RATE)
    samples = [int.from_bytes(pcm[i : i + 2], "little", signed=True) for i in range(0, len(pcm), 2)]
    assert len(samples) == 0.75 * RATE
    assert max(abs(s) for s in samples) < 0.2 * 32768
    assert samples[0] == 0 and abs(samples[-1]) < 50


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (ErrorFrame("x", exception=GroqToolUseFailed("y")), "tool_use_failed (HTTP 400)"),
        (ErrorFrame("Error getting audio: HTTP 500: {'err': 1}"), "HTTP 500"),
        (
            ErrorFrame("LLM completion timeout", exception=TimeoutError()),
            "TimeoutError: LLM completion timeout",
        ),
        (
            ErrorFrame("sent 1011 (internal error)\n keepalive ping timeout"),
            "sent 1011 (internal error) keepalive ping timeout",
        ),
    ],
)
def test_describe_names_the_failure_without_bodies(frame: ErrorFrame, reason: str):
    assert describe(frame) == reason
