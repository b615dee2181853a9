"""Fake Deepgram live transcription: the ``/v1/listen`` websocket that ``DeepgramSTTService`` uses.

Point pipecat at it with ``DeepgramSTTService(api_key=..., base_url=fake.ws_url)`` (an
``http://`` base works too: pipecat derives the ``ws://`` URL from it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from loguru import logger

from tests.fakes import deepgram_messages as dg
from tests.fakes.pcm import ulaw_decode
from tests.fakes.server import FakeServer, drop_connection
from tests.fakes.speech_detector import SpeechDetector, SpeechEventKind, Utterance, voiced_secs

TranscriptFn = Callable[[int, bytes], str]
"""``(utterance_index, pcm16_audio) -> transcript``; the audio is at the stream's sample rate."""

SUPPORTED_ENCODINGS = ("linear16", "mulaw")


@dataclass
class ListenConnection:
    """What the fake saw on one ``/v1/listen`` websocket."""

    index: int
    query: dict[str, str]
    query_lists: dict[str, list[str]]
    authorization: str | None
    request_id: str
    opened_at: float = field(default_factory=time.monotonic)
    accepted: bool = False
    closed_at: float | None = None
    audio_bytes: int = 0
    received: int = 0
    controls: list[tuple[float, str]] = field(default_factory=list)
    sent: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    dropped: bool = False

    @property
    def control_types(self) -> list[str]:
        """Types of the JSON control messages received, in order (e.g. ``["Finalize"]``)."""
        return [kind for _, kind in self.controls]


@dataclass
class RecordedUtterance:
    """One detected utterance and the final transcript sent for it."""

    index: int
    connection: int
    transcript: str
    audio: bytes
    sample_rate: int
    start: float
    end: float
    finalized_by: str  # "endpointing", "finalize" or "close_stream"
    final_sent_at: float | None = None


@dataclass
class _Line:
    """A line the caller is saying, announced by ``hear_line``, and how much of it was heard."""

    voiced_secs: float
    index: int = -1
    text: str | None = None  # the script's transcript of the line, once taken
    heard_secs: float = 0.0


@dataclass
class _Outgoing:
    send_at: float
    payload: dict[str, Any] | None  # None = close the socket after the queue drains
    utterance: RecordedUtterance | None = None


class FakeDeepgramListen(FakeServer):
    """Deepgram ``/v1/listen`` look-alike that "transcribes" speech with a script.

    It detects utterances in the received audio (μ-law or linear16 per the query) with an energy
    threshold, sends interim ``Results`` while speech goes on (``interim_results=true`` only), and
    one final ``Results`` per utterance: after ``endpointing`` ms of silence (the query's value,
    else ``endpointing_ms``; ``endpointing=false`` disables it) with ``speech_final=true``, or when
    a ``Finalize`` arrives, with ``from_finalize=true``. A ``Finalize`` with nothing pending gets
    an empty final ``from_finalize`` result, as Deepgram does. ``CloseStream`` flushes, sends
    ``Metadata`` and closes. Transcripts come from ``script``: a list consumed one entry per
    utterance (empty once exhausted) or a function of ``(utterance_index, pcm16_audio)``.
    A test that announces each line the caller says (``hear_line``) gets one entry per line
    instead, shared among the utterances the line is finalized in (see ``hear_line``).

    Failure modes apply to the first ``faulty_connections`` connections (all when None):
    ``reject_with_status`` refuses the handshake; ``drop_after_messages`` aborts the TCP
    connection after that many client messages; ``drop_after_sent`` after that many server
    messages. ``idle_timeout`` closes (1011, NET-0001) after that long without any message.
    """

    def __init__(
        self,
        script: Sequence[str] | TranscriptFn = (),
        *,
        final_latency: float = 0.0,
        endpointing_ms: int | None = 300,
        interim_every_ms: int | None = 500,
        energy_threshold: float = 300.0,
        min_speech_ms: int = 60,
        api_key: str | None = None,
        reject_with_status: int | None = None,
        drop_after_messages: int | None = None,
        drop_after_sent: int | None = None,
        faulty_connections: int | None = None,
        idle_timeout: float | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.script = script
        self.final_latency = final_latency
        self.endpointing_ms = endpointing_ms
        self.interim_every_ms = interim_every_ms
        self.energy_threshold = energy_threshold
        self.min_speech_ms = min_speech_ms
        self.api_key = api_key
        self.reject_with_status = reject_with_status
        self.drop_after_messages = drop_after_messages
        self.drop_after_sent = drop_after_sent
        self.faulty_connections = faulty_connections
        self.idle_timeout = idle_timeout
        self.connections: list[ListenConnection] = []
        self.utterances: list[RecordedUtterance] = []
        self._next_utterance = 0
        self._line: _Line | None = None
        self._connected = asyncio.Condition()

    def add_routes(self, app: web.Application) -> None:
        """Serve ``GET /v1/listen`` (websocket upgrade)."""
        app.router.add_get("/v1/listen", self._handle)

    @property
    def transcripts(self) -> list[str]:
        """Final transcripts sent so far, in order."""
        return [u.transcript for u in self.utterances]

    async def wait_for_connections(self, count: int = 1) -> None:
        """Wait until ``count`` websockets have been accepted (wrap in ``asyncio.timeout``)."""
        async with self._connected:
            await self._connected.wait_for(
                lambda: sum(c.accepted for c in self.connections) >= count
            )

    def next_transcript(self, audio: bytes) -> tuple[int, str]:
        """Consume the script for the next utterance: ``(index, transcript)``."""
        index = self._next_utterance
        self._next_utterance += 1
        if callable(self.script):
            return index, self.script(index, audio)
        if index < len(self.script):
            return index, self.script[index]
        logger.warning(f"FakeDeepgramListen: script exhausted at utterance {index}")
        return index, ""

    def peek_transcript(self) -> str:
        """The transcript the next utterance will get, when the script is a list."""
        if self._line is not None and self._line.text is not None:
            return self._line.text
        if callable(self.script) or self._next_utterance >= len(self.script):
            return ""
        return self.script[self._next_utterance]

    def hear_line(self, pcm: bytes, sample_rate: int = 8000) -> None:
        """The caller is about to say a line, ``pcm`` (PCM16 at ``sample_rate``).

        A VAD may hear a pause inside a line and have its first part finalized, and the rest
        later. Unannounced, each part would consume a script entry: the first part would get
        the whole line's transcript and the rest the next entry's, or none. Announced, the
        line takes one entry, given whole to the part that completes the line (90 % of its
        voiced audio heard; a whole line measures 95 % or more); the parts before it get an
        empty final, as from a recogniser not yet sure of their words. A test's conversation
        then stays one line, one user turn, however the VAD cuts it. (With a real recogniser
        the first part would have its words, and the bot would answer it if smart-turn judged
        it finished; these fakes never show that.) A new line replaces one whose last part was
        never finalized.
        """
        self._line = _Line(voiced_secs(pcm, sample_rate, self.energy_threshold))

    def transcribe(self, audio: bytes, sample_rate: int, channels: int = 1) -> tuple[int, str]:
        """The transcript of one finalized utterance: ``(index, text)`` (see ``hear_line``)."""
        line = self._line
        if line is None:
            return self.next_transcript(audio)
        if line.text is None:
            line.index, line.text = self.next_transcript(audio)
        line.heard_secs += voiced_secs(audio, sample_rate, self.energy_threshold, channels)
        if line.heard_secs < 0.9 * line.voiced_secs:
            return line.index, ""
        self._line = None
        return line.index, line.text

    def _is_faulty(self, index: int) -> bool:
        return self.faulty_connections is None or index < self.faulty_connections

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        conn = ListenConnection(
            index=len(self.connections),
            query=dict(request.query),
            query_lists={k: request.query.getall(k) for k in request.query},
            authorization=request.headers.get("Authorization"),
            request_id=str(uuid.uuid4()),
        )
        self.connections.append(conn)
        refusal = self._refusal(conn)
        if refusal is not None:
            return web.json_response(
                dg.error_body(refusal, conn.request_id),
                status=refusal,
                headers={"dg-request-id": conn.request_id, "dg-error": "refused by fake"},
            )
        ws = web.WebSocketResponse(autoping=True, max_msg_size=16 * 1024 * 1024)
        ws.headers["dg-request-id"] = conn.request_id
        await ws.prepare(request)
        conn.accepted = True
        async with self._connected:
            self._connected.notify_all()
        self.track_websocket(ws)
        try:
            await _ListenSession(self, conn, ws, request).run()
        finally:
            conn.closed_at = time.monotonic()
            self.untrack_websocket(ws)
        return ws

    def _refusal(self, conn: ListenConnection) -> int | None:
        if self.reject_with_status is not None and self._is_faulty(conn.index):
            return self.reject_with_status
        if self.api_key is not None and conn.authorization != f"Token {self.api_key}":
            return 401
        encoding = conn.query.get("encoding", "linear16")
        if encoding not in SUPPORTED_ENCODINGS or not conn.query.get("sample_rate", "").isdigit():
            return 400
        return None


class _ListenSession:
    """One accepted websocket: feeds audio to a detector and sends results in order."""

    def __init__(
        self,
        server: FakeDeepgramListen,
        conn: ListenConnection,
        ws: web.WebSocketResponse,
        request: web.Request,
    ) -> None:
        self.server = server
        self.conn = conn
        self.ws = ws
        self.request = request
        query = conn.query
        self.encoding = query.get("encoding", "linear16")
        self.sample_rate = int(query["sample_rate"])
        self.channels = int(query.get("channels", "1") or 1)
        self.model = query.get("model", "nova-3-general")
        self.interim = query.get("interim_results", "false") == "true"
        self.vad_events = query.get("vad_events", "false") == "true"
        utterance_end_ms = query.get("utterance_end_ms")
        self.utterance_end_secs = int(utterance_end_ms) / 1000 if utterance_end_ms else None
        self.detector = SpeechDetector(
            sample_rate=self.sample_rate,
            channels=self.channels,
            threshold=server.energy_threshold,
            min_speech_secs=server.min_speech_ms / 1000,
            endpointing_secs=self._endpointing_secs(query.get("endpointing")),
            interim_every_secs=(
                server.interim_every_ms / 1000 if self.interim and server.interim_every_ms else None
            ),
        )
        self.faulty = server._is_faulty(conn.index)
        self.segment_start = 0.0  # audio time where the next result's segment begins
        self.utterance_end_due: tuple[float, float] | None = None  # (due cursor, last word end)
        self.sha = hashlib.sha256()
        self.outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self.closing = False

    def _endpointing_secs(self, value: str | None) -> float | None:
        if value is None:
            ms = self.server.endpointing_ms
            return ms / 1000 if ms is not None else None
        if value.lower() == "false":
            return None
        return int(value) / 1000

    async def run(self) -> None:
        sender = asyncio.create_task(self._sender())
        try:
            await self._receive_loop()
        finally:
            if not self.closing:
                sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    async def _receive_loop(self) -> None:
        while not self.ws.closed:
            try:
                msg = await self.ws.receive(timeout=self.server.idle_timeout)
            except TimeoutError:
                logger.debug("FakeDeepgramListen: idle timeout, closing with NET-0001")
                await self.ws.close(code=1011, message=b"NET-0001")
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            self.conn.received += 1
            if msg.type == WSMsgType.BINARY:
                self._on_audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                self._on_control(msg.data)
            limit = self.server.drop_after_messages
            if self.faulty and limit is not None and self.conn.received >= limit:
                self._drop()
                return
            if self.closing:
                await self._wait_closed()
                return

    async def _wait_closed(self) -> None:
        # Keep reading (and discarding) until the sender closes the socket after Metadata.
        while not self.ws.closed:
            msg = await self.ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    def _drop(self) -> None:
        logger.debug(f"FakeDeepgramListen: dropping connection {self.conn.index}")
        self.conn.dropped = True
        drop_connection(self.request)

    def _on_audio(self, data: bytes) -> None:
        self.conn.audio_bytes += len(data)
        self.sha.update(data)
        pcm = ulaw_decode(data) if self.encoding == "mulaw" else data
        for event in self.detector.feed(pcm):
            if event.kind == SpeechEventKind.STARTED:
                self.utterance_end_due = None
                if self.vad_events:
                    self._send_now(dg.speech_started(event.at))
            elif event.kind == SpeechEventKind.PROGRESS:
                self._send_interim()
            elif event.kind == SpeechEventKind.ENDPOINT:
                self._finalize_utterance("endpointing")
        self._maybe_utterance_end()

    def _on_control(self, text: str) -> None:
        try:
            kind = str(json.loads(text).get("type"))
        except (ValueError, AttributeError):
            kind = "<invalid>"
        self.conn.controls.append((time.monotonic(), kind))
        if kind == "Finalize":
            if self.detector.utterance is not None:
                self._finalize_utterance("finalize")
            else:
                self._send_empty_finalize()
        elif kind == "CloseStream":
            if self.detector.utterance is not None:
                self._finalize_utterance("close_stream")
            duration = self.detector.cursor
            self._enqueue(
                _Outgoing(
                    time.monotonic() + self.server.final_latency,
                    dg.metadata(
                        request_id=self.conn.request_id,
                        sha256=self.sha.hexdigest(),
                        duration=duration,
                        channels=self.channels,
                    ),
                )
            )
            self._enqueue(_Outgoing(0.0, None))
            self.closing = True
        elif kind != "KeepAlive":
            logger.warning(f"FakeDeepgramListen: unknown control message {text[:80]!r}")

    def _send_interim(self) -> None:
        utterance = self.detector.utterance
        if utterance is None:
            return
        words = self.server.peek_transcript().split()
        expected = max(len(words) * 0.3, 0.3)  # ~0.3 s of speech per word
        spoken = self.detector.cursor - utterance.start
        shown = " ".join(words[: math.ceil(len(words) * min(1.0, spoken / expected))])
        self._send_now(self._results(shown, utterance, is_final=False, speech_final=False))

    def _finalize_utterance(self, reason: str) -> None:
        utterance = self.detector.close_utterance()
        if utterance is None:
            return
        index, transcript = self.server.transcribe(
            bytes(utterance.audio), self.sample_rate, self.channels
        )
        record = RecordedUtterance(
            index=index,
            connection=self.conn.index,
            transcript=transcript,
            audio=bytes(utterance.audio),
            sample_rate=self.sample_rate,
            start=utterance.start,
            end=utterance.last_voiced_end,
            finalized_by=reason,
        )
        self.server.utterances.append(record)
        message = self._results(
            transcript,
            utterance,
            is_final=True,
            speech_final=reason == "endpointing",
            from_finalize=reason == "finalize",
        )
        self.segment_start = self.detector.cursor
        if self.utterance_end_secs is not None:
            due = utterance.last_voiced_end + self.utterance_end_secs
            self.utterance_end_due = (due, utterance.last_voiced_end)
        send_at = time.monotonic() + self.server.final_latency
        self._enqueue(_Outgoing(send_at, message, record))

    def _send_empty_finalize(self) -> None:
        start = self.segment_start
        message = dg.results(
            transcript="",
            start=start,
            duration=self.detector.cursor - start,
            is_final=True,
            speech_final=False,
            from_finalize=True,
            request_id=self.conn.request_id,
            model=self.model,
        )
        self.segment_start = self.detector.cursor
        self._enqueue(_Outgoing(time.monotonic() + self.server.final_latency, message))

    def _maybe_utterance_end(self) -> None:
        if self.utterance_end_due is None or self.detector.utterance is not None:
            return
        due, last_word_end = self.utterance_end_due
        if self.detector.cursor >= due:
            self.utterance_end_due = None
            self._send_now(dg.utterance_end(last_word_end))

    def _results(
        self,
        transcript: str,
        utterance: Utterance,
        *,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool = False,
    ) -> dict[str, Any]:
        start = self.segment_start
        return dg.results(
            transcript=transcript,
            start=start,
            duration=self.detector.cursor - start,
            is_final=is_final,
            speech_final=speech_final,
            from_finalize=from_finalize,
            request_id=self.conn.request_id,
            model=self.model,
            speech_span=(utterance.start, utterance.last_voiced_end),
        )

    def _send_now(self, payload: dict[str, Any]) -> None:
        self._enqueue(_Outgoing(time.monotonic(), payload))

    def _enqueue(self, item: _Outgoing) -> None:
        self.outbox.put_nowait(item)

    async def _sender(self) -> None:
        while True:
            item = await self.outbox.get()
            delay = item.send_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if item.payload is None:
                await self.ws.close(code=1000)
                return
            if self.ws.closed:
                return
            await self.ws.send_str(json.dumps(item.payload))
            now = time.monotonic()
            self.conn.sent.append((now, item.payload))
            if item.utterance is not None:
                item.utterance.final_sent_at = now
            limit = self.server.drop_after_sent
            if self.faulty and limit is not None and len(self.conn.sent) >= limit:
                self._drop()
                return
