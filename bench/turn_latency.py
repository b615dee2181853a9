"""Turn latency of whole phone calls: the caller's last voiced frame to the bot's first audio.

Usage: ``python -m bench.turn_latency [--calls 3] [--warmup-calls 1] [--out PATH.json]``.

Each call is the one the end-to-end tests make: the real server (webhooks, the Plivo stream,
the pipecat pipeline with Silero VAD and smart-turn), the production engines' fakes answering
at once (Deepgram listen and speak, Groq), and the simulated Plivo caller streaming recorded
speech as 20 ms μ-law frames at real-time pace. The caller says five things, each after the
bot's previous answer has played: a question, a booking request (the LLM checks availability
first), a name, a yes (the LLM books) and a goodbye (the LLM ends the call).

For every turn the caller measures the time from sending its last voiced frame to receiving
the first ``playAudio``; the figure that matters is that time less the VAD's ``stop_secs``
(the silence the VAD must hear before it may say the caller stopped). An observer on the call's
pipeline splits it up:

* ``vad``: last voiced frame to the VAD's stop, less ``stop_secs`` (how late the VAD noticed;
  negative when the caller's last loud frame was one the VAD did not take for speech);
* ``stt``: VAD stop to the final transcript (in parallel with the turn decision);
* ``decide``: VAD stop to the end of the user turn (smart-turn's verdict and the transcript);
* ``reply``: end of the user turn to the first TTS audio (LLM, tool calls, TTS);
* ``out``: first TTS audio to the caller's first ``playAudio``;

with smart-turn's verdict and inference time, and the LLM and TTS time to first byte that
the services report.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData, TurnMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed

from api.app import create_app
from api.keys import CALL_RESOURCES
from bench.loadgen import percentile
from bot.config import BusinessRegistry, Settings
from bot.logs import configure_logging
from bot.serve import settle_heap
from bot.services import load_call_models
from bot.simulated_caller import Turn
from tests.fakes.deepgram_stt import FakeDeepgramListen
from tests.fakes.deepgram_tts import FakeDeepgramSpeak
from tests.fakes.groq_llm import FakeGroq
from tests.fakes.groq_script import Reply, ToolCall
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes.plivo_rest import FakePlivoApi

ROOT = Path(__file__).resolve().parents[1]
AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "fake-plivo-auth-token-0123456789"
BUSINESS_NUMBER = "911140847730"  # Himalayan Kitchen in bots.yaml
CALLER_NUMBER = "919812345678"

CONVERSATION: tuple[tuple[str, str], ...] = (
    ("hello", "Hello, is this the restaurant?"),
    ("book_table", "I would like to book a table for four tomorrow at eight pm"),
    ("name_ravi", "My name is Ravi"),
    ("yes_right", "Yes, that's right"),
    ("thank_you_bye", "Thank you, bye"),
)
"""What the caller says, in order: the fixture spoken and the transcript the fake STT gives."""

STAGES = ("vad", "stt", "decide", "reply", "out", "llm_ttfb", "tts_ttfb", "smart_turn")
"""The breakdown's columns, in milliseconds (see the module's docstring)."""


def booking_day() -> dt.date:
    """Tomorrow in Delhi, or the day after when tomorrow is a Monday (the restaurant's closed)."""
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Kolkata")).date() + dt.timedelta(days=1)
    return tomorrow + dt.timedelta(days=1) if tomorrow.isoweekday() == 1 else tomorrow


def llm_script(body: dict[str, Any]) -> Reply:
    """The fake LLM's side of the conversation, chosen from the last messages."""
    messages = body["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        result = json.loads(last["content"])
        if "available" in result:
            return Reply("A table for four tomorrow at eight is free. May I have a name?")
        return Reply(f"Done! Your booking code is {' '.join(result['code'])}. Anything else?")
    said = str(last.get("content", "")).lower()
    day = booking_day().isoformat()
    if "book a table" in said:
        return Reply.call("check_availability", date=day, time="20:00", party_size=4)
    if "ravi" in said:
        return Reply("Thank you Ravi. Shall I book the table for four tomorrow at eight?")
    if "right" in said:
        details = {"date": day, "time": "20:00", "party_size": 4, "name": "Ravi"}
        return Reply(
            tool_calls=(ToolCall("book_reservation", details | {"confirmed_by_caller": True}),)
        )
    if "bye" in said:
        return Reply.call("end_call", farewell="Thank you for calling. Goodbye!")
    return Reply("Yes, this is Himalayan Kitchen. How can I help you?")


@dataclass
class _Event:
    at: float
    kind: str
    value: Any = None


class TurnTimeline(BaseObserver):
    """Notes when the frames that mark a turn's stages first appear in one call's pipeline."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[_Event] = []
        self._seen_tts_audio = False

    async def on_push_frame(self, data: FramePushed) -> None:
        """Record the stage frames (each once) and the metrics that go with them."""
        if not data.first_push:
            return
        frame, now = data.frame, time.monotonic()
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self.events.append(_Event(now, "vad_stop", frame.stop_secs))
        elif isinstance(frame, TranscriptionFrame):
            self.events.append(_Event(now, "transcript", frame.text))
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.events.append(_Event(now, "turn_stop"))
            self._seen_tts_audio = False
        elif isinstance(frame, TTSAudioRawFrame) and not self._seen_tts_audio:
            self._seen_tts_audio = True
            self.events.append(_Event(now, "tts_audio"))
        elif isinstance(frame, BotStartedSpeakingFrame):
            self.events.append(_Event(now, "bot_started"))
        elif isinstance(frame, MetricsFrame):
            for item in frame.data:
                if isinstance(item, TurnMetricsData):
                    verdict = (item.is_complete, item.probability, item.e2e_processing_time_ms)
                    self.events.append(_Event(now, "smart_turn", verdict))
                elif isinstance(item, TTFBMetricsData) and item.value > 0:
                    name = item.processor
                    kind = "stt" if "STT" in name else "llm" if "LLM" in name else "tts"
                    self.events.append(_Event(now, f"{kind}_ttfb", item.value))

    def between(self, kind: str, start: float, end: float) -> list[_Event]:
        """The events of ``kind`` noted in ``[start, end]``."""
        return [e for e in self.events if e.kind == kind and start <= e.at <= end]


@dataclass
class TurnFigures:
    """One caller turn: the headline latency, the VAD's stop time and the breakdown (ms).

    ``early`` marks a turn whose first ``playAudio`` after the last voiced frame came before
    the pipeline decided the turn had ended: the VAD heard a pause inside the line, the bot
    answered the first part and was still talking when the caller finished. Such a turn says
    nothing about latency (its figure is the bot talking over the caller), so the percentiles
    leave it out and the report counts it.
    """

    call: int
    turn: int
    utterance: str
    latency_ms: float
    stop_secs: float
    complete: bool | None = None
    probability: float | None = None
    early: bool = False
    stages: dict[str, float | None] = field(default_factory=dict)

    @property
    def beyond_stop_ms(self) -> float:
        """The latency less the VAD's ``stop_secs``: the figure the target is set on."""
        return self.latency_ms - self.stop_secs * 1000


def turn_figures(call: int, index: int, turn: Turn, timeline: TurnTimeline) -> TurnFigures:
    """Match one caller turn with what the pipeline saw between its speech and the answer."""
    assert turn.speech_started_at is not None and turn.last_speech_frame_at is not None
    assert turn.first_bot_audio_at is not None
    spoke, last, heard = turn.speech_started_at, turn.last_speech_frame_at, turn.first_bot_audio_at
    stop = next(iter(timeline.between("vad_stop", last, heard)), None)
    stop_secs = float(stop.value) if stop else 0.2
    turn_stop = next(iter(timeline.between("turn_stop", last, heard)), None)
    tts_audio = next(iter(timeline.between("tts_audio", last, heard)), None)
    transcripts = timeline.between("transcript", spoke, heard)
    verdicts = [e for e in timeline.between("smart_turn", last, heard) if e.value[2] > 0]

    def ms(start: _Event | float | None, end: _Event | float | None) -> float | None:
        if start is None or end is None:
            return None
        begin = start.at if isinstance(start, _Event) else start
        finish = end.at if isinstance(end, _Event) else end
        return round((finish - begin) * 1000, 1)

    def first_value(kind: str) -> float | None:
        found = timeline.between(kind, turn_stop.at if turn_stop else last, heard)
        return round(found[0].value * 1000, 1) if found else None

    vad = ms(last, stop)
    stages: dict[str, float | None] = {
        "vad": round(vad - stop_secs * 1000, 1) if vad is not None else None,
        "stt": ms(stop, transcripts[-1]) if transcripts else None,
        "decide": ms(stop, turn_stop),
        "reply": ms(turn_stop, tts_audio),
        "out": ms(tts_audio, heard),
        "llm_ttfb": first_value("llm_ttfb"),
        "tts_ttfb": first_value("tts_ttfb"),
        "smart_turn": round(verdicts[0].value[2], 1) if verdicts else None,
    }
    return TurnFigures(
        call=call,
        turn=index,
        utterance=CONVERSATION[index][0],
        latency_ms=round((heard - last) * 1000, 1),
        stop_secs=stop_secs,
        complete=verdicts[0].value[0] if verdicts else None,
        probability=round(verdicts[0].value[1], 3) if verdicts else None,
        early=turn_stop is None,
        stages=stages,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_call(
    number: int, folder: Path, stt_endpointing_ms: int | None = None
) -> tuple[list[TurnFigures], float | None]:
    """Make one call through the real server and fakes; its turns' figures and greeting's.

    The greeting's figure is its latency: stream start to the first ``playAudio``, in ms.

    ``stt_endpointing_ms`` is the fake STT's endpointing when the bot asks for none (Deepgram's
    own default is 10 ms); None leaves the e2e fake's 300 ms.
    """
    listen = FakeDeepgramListen([text for _, text in CONVERSATION])
    if stt_endpointing_ms is not None:
        listen.endpointing_ms = stt_endpointing_ms
    speak, groq = FakeDeepgramSpeak(), FakeGroq(llm_script)
    plivo = FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN)
    fakes = (listen, speak, groq, plivo)
    for fake in fakes:
        await fake.start()
    port = _free_port()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{folder / f'call-{number}.db'}",
        bots_path=ROOT / "bots.yaml",
        config_watch_secs=0,
        deepgram_api_key="bench-deepgram-key",
        groq_api_key="bench-groq-key",
        plivo_auth_id=AUTH_ID,
        plivo_auth_token=AUTH_TOKEN,
        deepgram_url=listen.base_url,
        deepgram_tts_url=speak.base_url,
        groq_url=groq.openai_base_url,
        plivo_api_url=plivo.base_url,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, BusinessRegistry(settings.bots_path))
    timeline = TurnTimeline()
    app[CALL_RESOURCES].observers.append(lambda _call_uuid: timeline)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        caller = FakePlivoCaller(
            str(server.make_url("/")),
            auth_id=AUTH_ID,
            auth_token=AUTH_TOKEN,
            from_number=CALLER_NUMBER,
            to_number=BUSINESS_NUMBER,
            on_line=listen.hear_line,  # a line the VAD splits is transcribed in parts
        )
        hung_up = asyncio.Event()  # Plivo hung up (after the goodbye) and said so by webhook

        async def hang_up(call_uuid: str) -> None:
            try:
                await caller.remote_hang_up(call_uuid)
            finally:
                hung_up.set()

        plivo.add_call(caller.call_uuid, on_hangup=hang_up)
        async with caller:
            await caller.start()
            async with asyncio.timeout(15):
                await caller.wait_for_bot_audio()  # the greeting
            for name, _text in CONVERSATION:
                async with asyncio.timeout(30):
                    await caller.wait_until_bot_quiet()
                turn = await caller.say_utterance(name)
                async with asyncio.timeout(15):
                    await caller.wait_for_reply(turn)
            async with asyncio.timeout(20):
                await hung_up.wait()
        figures = [turn_figures(number, i, t, timeline) for i, t in enumerate(caller.turns)]
        greeting = caller.greeting_latency
        return figures, round(greeting * 1000, 1) if greeting is not None else None
    finally:
        await server.close()
        for fake in reversed(fakes):
            await fake.stop()


def summarise(
    turns: Sequence[TurnFigures], greetings: Sequence[float | None] = ()
) -> dict[str, Any]:
    """p50, p95 and max of the latency, of the latency less stop_secs and of each stage.

    And of the greetings' latency, when given.
    """

    def spread(values: Sequence[float | None]) -> dict[str, float]:
        ordered = sorted(v for v in values if v is not None)
        return {
            "n": len(ordered),
            "p50": percentile(ordered, 50),
            "p95": percentile(ordered, 95),
            "max": ordered[-1] if ordered else float("nan"),
        }

    timed = [t for t in turns if not t.early]
    by_verdict = {
        label: spread([t.beyond_stop_ms for t in timed if t.complete is verdict])
        for label, verdict in (("complete", True), ("incomplete", False))
    }
    return {
        "turns": len(turns),
        "answered_early": len(turns) - len(timed),
        "stop_secs": sorted({t.stop_secs for t in timed}),
        "latency_ms": spread([t.latency_ms for t in timed]),
        "beyond_stop_ms": spread([t.beyond_stop_ms for t in timed]),
        "by_smart_turn_verdict": by_verdict,
        "stages_ms": {stage: spread([t.stages.get(stage) for t in timed]) for stage in STAGES},
        "greeting_ms": spread(greetings),
    }


def _cell(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.0f}"


def print_report(turns: Sequence[TurnFigures], summary: dict[str, Any]) -> None:
    """The per-turn table, then the percentiles."""
    print(
        f"{'call':>4} {'turn':>4} {'utterance':<14} {'smart-turn':>11} {'total':>7} "
        f"{'-stop':>7} " + " ".join(f"{stage:>{max(7, len(stage))}}" for stage in STAGES)
    )
    for t in turns:
        verdict = "-" if t.complete is None else ("done" if t.complete else "more")
        if t.probability is not None:
            verdict += f" {t.probability:.2f}"
        if t.early:
            verdict = "early"
        print(
            f"{t.call:>4} {t.turn + 1:>4} {t.utterance:<14} {verdict:>11} {_cell(t.latency_ms)} "
            f"{_cell(t.beyond_stop_ms)} "
            + " ".join(_cell(t.stages.get(stage), max(7, len(stage))) for stage in STAGES)
        )
    stop = ", ".join(f"{s:g}" for s in summary["stop_secs"])
    print()
    early, warmup = summary["answered_early"], summary.get("warmup_calls", 0)
    print(f"turns: {summary['turns']}, VAD stop_secs: {stop} s", end="")
    print(f", after {warmup} warm-up call(s) not counted" if warmup else "", end="")
    print(f", answered early (left out): {early}" if early else "")
    for label, key in (
        ("last voiced frame -> first playAudio", "latency_ms"),
        ("less VAD stop_secs", "beyond_stop_ms"),
    ):
        s = summary[key]
        print(f"{label:<38} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  max {s['max']:7.1f} ms")
    for label, s in summary["by_smart_turn_verdict"].items():
        if s["n"]:
            print(
                f"{'  smart-turn ' + label + ' (' + str(s['n']) + ' turns)':<38} "
                f"p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  max {s['max']:7.1f} ms"
            )
    if (greeting := summary.get("greeting_ms")) and greeting["n"]:
        print(
            f"{'stream start -> greeting playAudio':<38} p50 {greeting['p50']:7.1f}  "
            f"p95 {greeting['p95']:7.1f}  max {greeting['max']:7.1f} ms"
        )
    print("breakdown (ms):")
    for stage, s in summary["stages_ms"].items():
        if s["n"]:
            print(f"  {stage:<36} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  max {s['max']:7.1f}")


async def measure(
    calls: int, warmup_calls: int = 0, stt_endpointing_ms: int | None = None
) -> tuple[list[TurnFigures], list[float | None]]:
    """Make ``warmup_calls`` and then ``calls`` calls; the turns and greetings of the latter.

    The first call in a process pays for what a server does once (the first request through
    each HTTP client, lazily built parsers): a warm-up call keeps that out of the figures.
    """
    turns: list[TurnFigures] = []
    greetings: list[float | None] = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1 - warmup_calls, calls + 1):
            made, greeting = await run_call(number, Path(folder), stt_endpointing_ms)
            if number > 0:
                turns += made
                greetings.append(greeting)
    return turns, greetings


def main() -> None:
    """Run the calls, print the table and the percentiles, and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument(
        "--warmup-calls", type=int, default=1, help="calls made first and not counted"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/turn_latency.json"))
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--stt-endpointing-ms",
        type=int,
        help="the fake STT's endpointing when the bot sends none (Deepgram's default: 10)",
    )
    args = parser.parse_args()

    configure_logging(args.log_level)
    load_call_models()
    settle_heap()  # as python -m bot serve does once it has loaded everything
    turns, greetings = asyncio.run(measure(args.calls, args.warmup_calls, args.stt_endpointing_ms))
    summary = summarise(turns, greetings) | {"warmup_calls": args.warmup_calls}
    print_report(turns, summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": dt.datetime.now(dt.UTC).isoformat(),
                "summary": summary,
                "turns": [asdict(t) | {"beyond_stop_ms": t.beyond_stop_ms} for t in turns],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
