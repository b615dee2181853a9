"""Fake Deepgram text-to-speech: ``POST /v1/speak`` (HTTP) and the ``/v1/speak`` websocket.

Pipecat: ``DeepgramHttpTTSService(api_key=..., aiohttp_session=s, base_url=fake.base_url)`` or
``DeepgramTTSService(api_key=..., base_url=fake.ws_url)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from loguru import logger

from tests.fakes.pcm import ulaw_encode
from tests.fakes.server import FakeServer
from tests.fakes.voice import Voice

ENCODING_RATES = {"linear16": (8000, 16000, 24000, 32000, 48000), "mulaw": (8000, 16000)}
DEFAULT_RATE = {"linear16": 24000, "mulaw": 8000}
MODEL_UUID = "b7ad1d54-5ba2-4a3e-a3e2-0a5b3c2e7f11"


@dataclass
class SpeakRequest:
    """One synthesis the fake performed (an HTTP request or one websocket ``Speak``)."""

    index: int
    text: str
    transport: str  # "http" or "ws"
    model: str
    encoding: str
    sample_rate: int
    received_at: float = field(default_factory=time.monotonic)
    first_byte_at: float | None = None
    finished_at: float | None = None
    audio_bytes: int = 0
    cleared: bool = False


@dataclass
class _Format:
    model: str
    encoding: str
    sample_rate: int
    container: str

    @property
    def bytes_per_sec(self) -> int:
        return self.sample_rate * (2 if self.encoding == "linear16" else 1)


class FakeDeepgramSpeak(FakeServer):
    """Deepgram Aura look-alike serving speech-like audio whose length grows with the text.

    HTTP: ``POST /v1/speak?model=&encoding=&sample_rate=&container=`` with ``{"text": ...}``
    streams raw audio (a WAV header first if ``container=wav``, Deepgram's default for
    linear16). Websocket: ``Speak`` is synthesised at once (or only at ``Flush`` with
    ``wait_for_flush``), ``Flush`` answers ``Flushed`` after the audio before it, ``Clear`` drops
    queued/in-flight audio and answers ``Cleared``, ``Close`` closes. The voice serves the WAV in
    ``tests/fakes/audio`` for a fixture's exact text, else synthetic speech (~60 ms a character).

    ``first_byte_latency`` delays each synthesis' first audio; audio goes out in ``chunk_ms``
    chunks, ``realtime_factor`` times faster than real time (unpaced when None).
    ``fail_with_status`` answers HTTP requests (and websocket handshakes) with that status, for
    the first ``faulty_requests`` of them (all when None).
    """

    def __init__(
        self,
        *,
        first_byte_latency: float = 0.0,
        chunk_ms: int = 100,
        realtime_factor: float | None = None,
        wait_for_flush: bool = False,
        voice: Voice | None = None,
        api_key: str | None = None,
        fail_with_status: int | None = None,
        faulty_requests: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.first_byte_latency = first_byte_latency
        self.chunk_ms = chunk_ms
        self.realtime_factor = realtime_factor
        self.wait_for_flush = wait_for_flush
        self.voice = voice or Voice()
        self.api_key = api_key
        self.fail_with_status = fail_with_status
        self.faulty_requests = faulty_requests
        self.requests: list[SpeakRequest] = []
        self.ws_messages: list[tuple[float, dict[str, Any]]] = []
        self.authorizations: list[str | None] = []
        self._attempts = 0

    @property
    def texts(self) -> list[str]:
        """Texts synthesised so far, in order."""
        return [r.text for r in self.requests]

    def add_routes(self, app: web.Application) -> None:
        """Serve ``POST /v1/speak`` and the ``GET /v1/speak`` websocket."""
        app.router.add_post("/v1/speak", self._http)
        app.router.add_get("/v1/speak", self._websocket)

    def _refusal(self, request: web.Request) -> web.Response | None:
        attempt = self._attempts
        self._attempts += 1
        auth = request.headers.get("Authorization")
        self.authorizations.append(auth)
        request_id = str(uuid.uuid4())
        faulty = self.faulty_requests is None or attempt < self.faulty_requests
        if self.fail_with_status is not None and faulty:
            return _error(self.fail_with_status, "REQUEST_FAILED", "Fake failure.", request_id)
        if self.api_key is not None and auth != f"Token {self.api_key}":
            return _error(401, "INVALID_AUTH", "Invalid credentials.", request_id)
        return None

    def _format(self, request: web.Request) -> _Format | web.Response:
        query = request.query
        encoding = query.get("encoding", "linear16")
        if encoding not in ENCODING_RATES:
            return _error(400, "UNSUPPORTED_AUDIO_FORMAT", f"{encoding} unsupported by fake", "")
        rate = int(query.get("sample_rate", DEFAULT_RATE[encoding]))
        if rate not in ENCODING_RATES[encoding]:
            return _error(400, "UNSUPPORTED_AUDIO_FORMAT", f"sample_rate {rate} unsupported", "")
        container = query.get("container", "wav" if encoding == "linear16" else "none")
        model = query.get("model", "aura-2-thalia-en")
        return _Format(model=model, encoding=encoding, sample_rate=rate, container=container)

    def _new_request(self, text: str, fmt: _Format, transport: str) -> SpeakRequest:
        record = SpeakRequest(
            index=len(self.requests),
            text=text,
            transport=transport,
            model=fmt.model,
            encoding=fmt.encoding,
            sample_rate=fmt.sample_rate,
        )
        self.requests.append(record)
        return record

    def _audio(self, text: str, fmt: _Format) -> bytes:
        pcm = self.voice.render(text, fmt.sample_rate)
        return ulaw_encode(pcm) if fmt.encoding == "mulaw" else pcm

    def _chunks(self, audio: bytes, fmt: _Format) -> list[bytes]:
        size = max(1, fmt.bytes_per_sec * self.chunk_ms // 1000)
        size -= size % 2 if fmt.encoding == "linear16" else 0
        return [audio[i : i + size] for i in range(0, len(audio), size)]

    async def _pace(self, chunk: bytes, fmt: _Format) -> None:
        if self.realtime_factor:
            await asyncio.sleep(len(chunk) / fmt.bytes_per_sec / self.realtime_factor)

    async def _http(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        fmt = self._format(request)
        if isinstance(fmt, web.Response):
            return fmt
        body = await request.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _error(400, "INVALID_INPUT", "Text is required.", "")
        record = self._new_request(text, fmt, "http")
        audio = self._audio(text, fmt)
        if fmt.container == "wav":
            audio = _wav_header(len(audio), fmt.sample_rate) + audio
        response = web.StreamResponse(
            headers={
                "Content-Type": "audio/wav"
                if fmt.container == "wav"
                else "application/octet-stream",
                "dg-request-id": str(uuid.uuid4()),
                "dg-model-name": fmt.model,
                "dg-char-count": str(len(text)),
            }
        )
        await response.prepare(request)
        await asyncio.sleep(self.first_byte_latency)
        for i, chunk in enumerate(self._chunks(audio, fmt)):
            if i:
                await self._pace(chunk, fmt)
            await response.write(chunk)
            if record.first_byte_at is None:
                record.first_byte_at = time.monotonic()
            record.audio_bytes += len(chunk)
        await response.write_eof()
        record.finished_at = time.monotonic()
        return response

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        fmt = self._format(request)
        if isinstance(fmt, web.Response):
            return fmt
        ws = web.WebSocketResponse()
        ws.headers["dg-request-id"] = str(uuid.uuid4())
        await ws.prepare(request)
        self.track_websocket(ws)
        try:
            await _SpeakSession(self, ws, fmt).run()
        finally:
            self.untrack_websocket(ws)
        return ws


class _SpeakSession:
    """One websocket: a queue of ``Speak`` texts and ``Flush`` markers worked off in order."""

    def __init__(self, server: FakeDeepgramSpeak, ws: web.WebSocketResponse, fmt: _Format) -> None:
        self.server = server
        self.ws = ws
        self.fmt = fmt
        self.jobs: asyncio.Queue[str | None] = asyncio.Queue()  # text, or None for a Flush
        self.pending: list[str] = []  # Speak texts held back until Flush (wait_for_flush)
        self.sequence_id = 0
        self.current: SpeakRequest | None = None
        self.worker: asyncio.Task[None] | None = None

    async def run(self) -> None:
        await self._send_json(
            {
                "type": "Metadata",
                "request_id": self.ws.headers["dg-request-id"],
                "model_name": self.fmt.model,
                "model_version": "2025-04-07.0",
                "model_uuid": MODEL_UUID,
            }
        )
        self.worker = asyncio.create_task(self._work())
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if not await self._on_message(msg.data):
                    break
        finally:
            await self._stop_worker()
            if not self.ws.closed:
                await self.ws.close()

    async def _on_message(self, data: str) -> bool:
        try:
            message = json.loads(data)
        except ValueError:
            message = {"type": "<invalid>"}
        self.server.ws_messages.append((time.monotonic(), message))
        kind = message.get("type")
        if kind == "Speak":
            text = str(message.get("text", ""))
            if self.server.wait_for_flush:
                self.pending.append(text)
            else:
                self.jobs.put_nowait(text)
        elif kind == "Flush":
            if self.pending:
                self.jobs.put_nowait("".join(self.pending))
                self.pending.clear()
            self.jobs.put_nowait(None)
        elif kind == "Clear":
            await self._clear()
        elif kind == "Close":
            return False
        else:
            await self._send_json(
                {
                    "type": "Warning",
                    "description": f"Unknown message type: {kind}",
                    "code": "UNKNOWN_MESSAGE_TYPE",
                }
            )
        return True

    async def _clear(self) -> None:
        await self._stop_worker()
        if self.current is not None:
            self.current.cleared = True
        self.pending.clear()
        self.jobs = asyncio.Queue()
        self.sequence_id += 1
        await self._send_json({"type": "Cleared", "sequence_id": self.sequence_id})
        self.worker = asyncio.create_task(self._work())

    async def _stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
            self.worker = None

    async def _work(self) -> None:
        while True:
            job = await self.jobs.get()
            if job is None:
                self.sequence_id += 1
                await self._send_json({"type": "Flushed", "sequence_id": self.sequence_id})
                continue
            if job.strip():
                await self._speak(job)

    async def _speak(self, text: str) -> None:
        server = self.server
        record = server._new_request(text, self.fmt, "ws")
        self.current = record
        audio = server._audio(text, self.fmt)
        await asyncio.sleep(server.first_byte_latency)
        for i, chunk in enumerate(server._chunks(audio, self.fmt)):
            if i:
                await server._pace(chunk, self.fmt)
            if self.ws.closed:
                return
            await self.ws.send_bytes(chunk)
            if record.first_byte_at is None:
                record.first_byte_at = time.monotonic()
            record.audio_bytes += len(chunk)
        record.finished_at = time.monotonic()
        self.current = None

    async def _send_json(self, payload: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(payload))


def _error(status: int, code: str, message: str, request_id: str) -> web.Response:
    logger.debug(f"FakeDeepgramSpeak: answering {status} {code}")
    body = {"err_code": code, "err_msg": message, "request_id": request_id or str(uuid.uuid4())}
    return web.json_response(body, status=status)


def _wav_header(data_len: int, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(b"")
    header = bytearray(buffer.getvalue())
    header[4:8] = (36 + data_len).to_bytes(4, "little")
    header[40:44] = data_len.to_bytes(4, "little")
    return bytes(header)
