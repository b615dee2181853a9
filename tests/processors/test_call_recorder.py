import asyncio
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ErrorFrame,
    Frame,
    InterruptionFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSTextFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection

from processors.call_recorder import CallRecorderObserver, Outcome


async def push(recorder: CallRecorderObserver, frame: Frame, first: bool = True) -> None:
    source: Any = None
    await recorder.on_push_frame(
        FramePushed(source, source, frame, FrameDirection.DOWNSTREAM, 0, first_push=first)
    )


async def test_recorder_keeps_turns_latency_and_ttfb():
    recorder = CallRecorderObserver()
    await push(recorder, BotStartedSpeakingFrame())  # the greeting: no latency to measure
    await push(recorder, TTSTextFrame("Namaste,", "word"))
    await push(recorder, TTSTextFrame("welcome!", "word"))
    await push(recorder, BotStoppedSpeakingFrame())
    await push(recorder, TranscriptionFrame("table for four", "caller", "t"))
    await push(recorder, TranscriptionFrame("table for four", "caller", "t"), first=False)
    await push(recorder, VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await push(recorder, MetricsFrame(data=[TTFBMetricsData(processor="groq", value=0.25)]))
    await asyncio.sleep(0.05)
    await push(recorder, BotStartedSpeakingFrame())
    await push(recorder, TTSTextFrame("For which day?", "sentence"))
    await push(recorder, InterruptionFrame())

    record = recorder.finish()
    assert [(t["role"], t["text"]) for t in record.transcript] == [
        ("bot", "Namaste, welcome!"),
        ("user", "table for four"),
        ("bot", "For which day?"),
    ]
    assert record.transcript[2]["interrupted"] is True
    (latency,) = record.turn_latencies
    assert 240 <= latency["ms"] < 600  # 0.2 s of confirming silence + 0.05 s
    assert latency["ttfb_ms"] == {"groq": 250.0}
    assert record.outcome is Outcome.ENQUIRY


async def test_recorder_outcome_from_tools_and_errors():
    recorder = CallRecorderObserver()
    assert recorder.finish().outcome is Outcome.ABANDONED
    recorder.tool_event("check_availability", {"result": {"available": True}})
    recorder.tool_event("book_reservation", {"result": {"status": "booked", "code": "ACE347"}})
    assert recorder.record.outcome is Outcome.BOOKED

    failed = CallRecorderObserver()
    await push(failed, ErrorFrame("deepgram socket dropped"))
    assert failed.record.outcome is Outcome.ABANDONED
    failed.error("pipeline could not recover", fatal=True)
    record = failed.finish()
    assert record.outcome is Outcome.FAILED
    assert [e["error"] for e in record.errors] == [
        "deepgram socket dropped",
        "pipeline could not recover",
    ]
