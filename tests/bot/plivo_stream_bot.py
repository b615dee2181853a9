"""A tiny Plivo bot for the transport and serializer tests: a real aiohttp server and pipeline.

``BotServer`` answers Plivo's webhook with a ``<Stream>``, accepts the websocket, reads ``start``
and runs ``transport.input() -> ToneBot -> transport.output()`` with the real
``AiohttpWebsocketTransport`` and ``PlivoCallSerializer`` (hanging up through a fake REST API).
``ToneBot`` waits for some caller audio, then speaks tones and ends the call as scripted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from aiohttp import WSMsgType, web
from loguru import logger
from pipecat.frames.frames import (
    EndFrame,
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.workers.runner import WorkerRunner

from bot.aiohttp_websocket_transport import AiohttpWebsocketParams, AiohttpWebsocketTransport
from bot.plivo_call_serializer import PlivoCallSerializer
from frames.playout import PlayoutCompleteFrame
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes.plivo_rest import FakePlivoApi
from tests.fakes.server import FakeServer

AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "fake-auth-token"


def tone(seconds: float, rate: int, freq: float = 440.0) -> bytes:
    """A sine tone as PCM16."""
    t = np.arange(round(seconds * rate)) / rate
    return (8000 * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


@dataclass
class Script:
    """What ``ToneBot`` does once it has heard ``after_frames`` of caller audio.

    It speaks each of ``utterances`` (seconds of tone, as TTS audio in 20 ms frames followed by
    ``TTSStoppedFrame``), waiting for a ``PlayoutCompleteFrame`` between them; with
    ``interrupt_after`` it pushes an ``InterruptionFrame`` that long after the first utterance
    was queued; then, unless ``end`` is false, it asks the worker to end the call right away.
    """

    utterances: list[float] = field(default_factory=lambda: [1.0])
    after_frames: int = 5
    interrupt_after: float | None = None
    end_delay: float = 0.0
    end: bool = True


class ToneBot(FrameProcessor):
    """Speaks tones when the caller has been heard for a while; records what it saw."""

    def __init__(self, script: Script, rate: int) -> None:
        super().__init__()
        self.script = script
        self.rate = rate
        self.audio_frames = 0
        self.dtmf: list[str] = []
        self.played: list[tuple[float, str]] = []
        self.utterance_queued_at: list[float] = []
        self.interrupted_at: float | None = None
        self.end_requested_at: float | None = None
        self._played = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)

        if isinstance(frame, InputAudioRawFrame):
            self.audio_frames += 1
            if self.audio_frames == self.script.after_frames:
                self._task = self.create_task(self._speak())
        elif isinstance(frame, InputDTMFFrame):
            self.dtmf.append(frame.button.value)
        elif isinstance(frame, PlayoutCompleteFrame):
            self.played.append((time.monotonic(), frame.checkpoint))
            self._played.set()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        if self._task:
            await self.cancel_task(self._task)

    async def _speak(self) -> None:
        for index, seconds in enumerate(self.script.utterances):
            if index:
                await self._played.wait()
            self._played.clear()
            self.utterance_queued_at.append(time.monotonic())
            await self.push_frame(TTSStartedFrame())
            audio = tone(seconds, self.rate)
            step = self.rate * 2 // 50  # 20 ms
            for start in range(0, len(audio), step):
                await self.push_frame(TTSAudioRawFrame(audio[start : start + step], self.rate, 1))
            await self.push_frame(TTSStoppedFrame())
            if index == 0 and self.script.interrupt_after is not None:
                await asyncio.sleep(self.script.interrupt_after)
                self.interrupted_at = time.monotonic()
                await self.push_frame(InterruptionFrame())
        if self.script.end:
            await asyncio.sleep(self.script.end_delay)
            self.end_requested_at = time.monotonic()
            await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)


@dataclass
class CallRecord:
    """What the server saw of one call."""

    start: dict[str, Any] | None = None
    bot: ToneBot | None = None
    transport: AiohttpWebsocketTransport | None = None
    serializer: FrameSerializer | None = None
    connected: bool = False
    disconnected_at: float | None = None
    timed_out_at: float | None = None
    finished_at: float | None = None
    handler_error: BaseException | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class BotServer(FakeServer):
    """The bot side: answer webhook, hangup webhook, and the audio websocket."""

    def __init__(
        self,
        api_url: str,
        session: aiohttp.ClientSession,
        *,
        script: Script | None = None,
        out_rate: int = 16000,
        max_msg_size: int = 64 * 1024,
        read_after_start: int = 0,
        serializer_factory: Callable[[dict[str, Any]], FrameSerializer] | None = None,
        transport_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.api_url = api_url
        self.session = session
        self.script = script or Script()
        self.out_rate = out_rate
        self.max_msg_size = max_msg_size
        self.read_after_start = read_after_start
        self.serializer_factory = serializer_factory
        self.transport_params = transport_params or {}
        self.calls: list[CallRecord] = []
        self.call_started = asyncio.Event()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/plivo/answer", self._answer)
        app.router.add_post("/plivo/hangup", self._hangup)
        app.router.add_get("/ws", self._stream)

    async def _answer(self, request: web.Request) -> web.Response:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Stream bidirectional="true" '
            'keepCallAlive="true" contentType="audio/x-mulaw;rate=8000">'
            f"{self.ws_url}/ws</Stream></Response>"
        )
        return web.Response(text=xml, content_type="application/xml")

    async def _hangup(self, request: web.Request) -> web.Response:
        return web.Response(text="")

    def _serializer(self, start: dict[str, Any]) -> FrameSerializer:
        if self.serializer_factory is not None:
            return self.serializer_factory(start)
        return PlivoCallSerializer(
            start["streamId"],
            start["callId"],
            AUTH_ID,
            AUTH_TOKEN,
            session=self.session,
            api_url=self.api_url,
        )

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        record = CallRecord()
        self.calls.append(record)
        self.call_started.set()
        ws = web.WebSocketResponse(max_msg_size=self.max_msg_size)
        await ws.prepare(request)
        self.track_websocket(ws)
        try:
            await self._run_call(ws, record)
        except BaseException as exc:  # recorded for the test to assert on
            record.handler_error = exc
            raise
        finally:
            record.finished_at = time.monotonic()
            record.done.set()
            self.untrack_websocket(ws)
        return ws

    async def _run_call(self, ws: web.WebSocketResponse, record: CallRecord) -> None:
        extra: list[str | bytes] = []
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            if record.start is None:
                data = json.loads(message.data)
                if data.get("event") == "start":
                    record.start = data["start"]
            else:
                extra.append(message.data)
            if record.start is not None and len(extra) >= self.read_after_start:
                break
        if record.start is None:
            return
        start = record.start
        serializer = self._serializer(start)
        transport = AiohttpWebsocketTransport(
            ws,
            AiohttpWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                serializer=serializer,
                **self.transport_params,
            ),
            initial_messages=extra,
            call_id=start["callId"],
        )
        bot = ToneBot(self.script, self.out_rate)
        record.bot, record.transport, record.serializer = bot, transport, serializer
        worker = PipelineWorker(
            Pipeline([transport.input(), bot, transport.output()]),
            params=PipelineParams(audio_in_sample_rate=16000, audio_out_sample_rate=self.out_rate),
            enable_rtvi=False,
            idle_timeout_secs=None,
        )

        @transport.event_handler("on_client_connected")
        async def on_connected(_transport: AiohttpWebsocketTransport, _ws: Any) -> None:
            record.connected = True

        @transport.event_handler("on_client_disconnected")
        async def on_disconnected(_transport: AiohttpWebsocketTransport, _ws: Any) -> None:
            record.disconnected_at = time.monotonic()
            await worker.cancel()

        @transport.event_handler("on_session_timeout")
        async def on_timeout(_transport: AiohttpWebsocketTransport, _ws: Any) -> None:
            record.timed_out_at = time.monotonic()
            await worker.queue_frame(EndFrame())

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        with logger.contextualize(call=start["callId"]):
            await runner.run()


class LogCapture:
    """Loguru records at ``level`` and above, as ``(level, message)``."""

    def __init__(self, level: str = "WARNING") -> None:
        self.records: list[tuple[str, str]] = []
        self._sink = logger.add(self._write, level=level, format="{message}")

    def _write(self, message: Any) -> None:
        self.records.append((message.record["level"].name, message.record["message"]))

    def close(self) -> None:
        logger.remove(self._sink)

    def at(self, *levels: str) -> list[str]:
        return [text for level, text in self.records if level in levels]


async def no_other_tasks(settle_secs: float = 1.0) -> list[asyncio.Task[Any]]:
    """Tasks still pending besides the current one, after letting them settle a moment."""
    deadline = time.monotonic() + settle_secs
    current = asyncio.current_task()
    while True:
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not others or time.monotonic() > deadline:
            return others
        await asyncio.sleep(0.02)


ULAW_SILENCE_20MS = base64.b64encode(b"\xff" * 160).decode()


@dataclass
class Rig:
    server: BotServer
    api: FakePlivoApi
    session: aiohttp.ClientSession
    logs: LogCapture

    @property
    def call(self) -> CallRecord:
        assert self.server.calls, "no call reached the bot"
        return self.server.calls[-1]

    def caller(self) -> FakePlivoCaller:
        return FakePlivoCaller(
            self.server.base_url, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, session=self.session
        )

    async def wait_done(self, within: float = 8.0) -> CallRecord:
        """Wait for the bot's websocket handler to return."""
        async with asyncio.timeout(within):
            await self.server.call_started.wait()
            await self.call.done.wait()
        return self.call


@asynccontextmanager
async def rig(**server_kwargs) -> AsyncIterator[Rig]:
    logs = LogCapture()
    try:
        async with (
            aiohttp.ClientSession() as session,
            FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN, accept_any_call=True) as api,
            BotServer(api.base_url, session, **server_kwargs) as server,
        ):
            yield Rig(server, api, session, logs)
    finally:
        logs.close()


async def raw_stream(r: Rig) -> aiohttp.ClientWebSocketResponse:
    """A bare Plivo-like client socket that has sent ``start``."""
    ws = await r.session.ws_connect(f"{r.server.ws_url}/ws")
    start = {"callId": "call-raw-1", "streamId": "stream-raw-1", "accountId": AUTH_ID}
    await ws.send_str(json.dumps({"event": "start", "sequenceNumber": 1, "start": start}))
    return ws


async def send_media(ws: aiohttp.ClientWebSocketResponse, frames: int | None = None) -> None:
    """Send 20 ms of μ-law silence every 20 ms: ``frames`` times, or until the socket closes."""
    media = {"track": "inbound", "payload": ULAW_SILENCE_20MS}
    message = json.dumps({"event": "media", "streamId": "stream-raw-1", "media": media})
    sent = 0
    while not ws.closed and (frames is None or sent < frames):
        try:
            await ws.send_str(message)
        except ConnectionError:
            return
        sent += 1
        await asyncio.sleep(0.02)


async def drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict]:
    received = []
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT:
            received.append(json.loads(msg.data))
    return received


def played_secs(messages: list[dict[str, Any]]) -> float:
    """Seconds of μ-law 8 kHz audio in the ``playAudio`` messages."""
    return sum(
        len(base64.b64decode(m["media"]["payload"])) / 8000
        for m in messages
        if m.get("event") == "playAudio"
    )
