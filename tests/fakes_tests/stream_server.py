"""A tiny bot-side server speaking Plivo's webhook and stream protocol, to exercise the caller."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web
from plivo.utils import validate_v3_signature

from bot.simulated_caller.signing import NONCE_HEADER, SIGNATURE_HEADER
from tests.fakes.pcm import rms, ulaw_decode, ulaw_encode
from tests.fakes.server import FakeServer

SILENT_FRAMES_TO_REPLY = 5  # 100 ms of silence ends an utterance


def tone(seconds: float, freq: float = 440.0, rate: int = 8000) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return (6000 * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


def play_audio(stream_id: str, pcm: bytes) -> str:
    media = {
        "contentType": "audio/x-mulaw",
        "sampleRate": 8000,
        "payload": base64.b64encode(ulaw_encode(pcm)).decode(),
    }
    return json.dumps({"event": "playAudio", "media": media, "streamId": stream_id})


@dataclass
class StreamServerLog:
    webhooks: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    start: dict[str, Any] | None = None
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    speech_ended_at: float | None = None
    reply_sent_at: float | None = None


class StreamServer(FakeServer):
    """Answers with a <Stream>, greets, answers each utterance after ``reply_delay``."""

    def __init__(
        self,
        auth_token: str,
        *,
        greeting_secs: float = 0.5,
        reply_delay: float = 0.1,
        reply_secs: float = 0.3,
        content_type: str | None = "audio/x-mulaw;rate=8000",
        gap_in_reply: float = 0.0,
    ) -> None:
        super().__init__()
        self.auth_token = auth_token
        self.greeting_secs = greeting_secs
        self.reply_delay = reply_delay
        self.reply_secs = reply_secs
        self.content_type = content_type
        self.gap_in_reply = gap_in_reply
        self.log = StreamServerLog()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/plivo/answer", self._answer)
        app.router.add_post("/plivo/hangup", self._hangup)
        app.router.add_get("/stream", self._stream)

    async def _check(self, request: web.Request) -> tuple[dict[str, str], bool]:
        params = {k: str(v) for k, v in (await request.post()).items()}
        nonce = request.headers.get(NONCE_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        valid = bool(nonce and signature) and validate_v3_signature(
            "POST", str(request.url), nonce, self.auth_token, signature, params
        )
        if valid and nonce in self.log.nonces:
            valid = False  # replayed
        if nonce:
            self.log.nonces.add(nonce)
        self.log.webhooks.append((request.path, params, valid))
        return params, valid

    async def _answer(self, request: web.Request) -> web.Response:
        _, valid = await self._check(request)
        if not valid:
            return web.Response(status=403, text="bad signature")
        attrs = 'bidirectional="true" keepCallAlive="true" extraHeaders="botId=demo"'
        if self.content_type:
            attrs += f' contentType="{self.content_type}"'
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Stream {attrs}>{self.ws_url}/stream</Stream></Response>"
        )
        return web.Response(text=xml, content_type="application/xml")

    async def _hangup(self, request: web.Request) -> web.Response:
        _, valid = await self._check(request)
        return web.Response(status=200 if valid else 403)

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.track_websocket(ws)
        tasks: list[asyncio.Task[None]] = []
        voiced, silent_frames = False, 0
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                self.log.received.append((time.monotonic(), data))
                if data["event"] == "start":
                    self.log.start = data
                    stream_id = data["start"]["streamId"]
                    await ws.send_str(play_audio(stream_id, tone(self.greeting_secs)))
                    await ws.send_str(
                        json.dumps({"event": "checkpoint", "streamId": stream_id, "name": "hi"})
                    )
                elif data["event"] == "media":
                    level = rms(ulaw_decode(base64.b64decode(data["media"]["payload"])))
                    if level > 300:
                        voiced, silent_frames = True, 0
                    elif voiced:
                        silent_frames += 1
                        if silent_frames == SILENT_FRAMES_TO_REPLY:
                            voiced = False
                            self.log.speech_ended_at = time.monotonic()
                            tasks.append(asyncio.create_task(self._reply(ws, data["streamId"])))
        finally:
            for task in tasks:
                task.cancel()
            self.untrack_websocket(ws)
        return ws

    async def _reply(self, ws: web.WebSocketResponse, stream_id: str) -> None:
        await asyncio.sleep(self.reply_delay)
        self.log.reply_sent_at = time.monotonic()
        half = tone(self.reply_secs / 2, 330)
        await ws.send_str(play_audio(stream_id, half))
        if self.gap_in_reply:
            await asyncio.sleep(self.reply_secs / 2 + self.gap_in_reply)
        await ws.send_str(play_audio(stream_id, half))
