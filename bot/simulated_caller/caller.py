"""A simulated phone caller that reaches our server the way Plivo does.

It POSTs the signed answer webhook, reads the ``<Stream>`` from the XML, opens that websocket,
sends ``start`` and then a ``media`` frame every 20 ms (silence, or what ``say`` queued), and
plays the bot's ``playAudio`` through a simulated real-time playout buffer, answering
``checkpoint`` with ``playedStream`` and ``clearAudio`` with ``clearedAudio``. It measures
greeting and turn latency and playout underruns. The demo (``python -m bot demo``), the tests
and load runs all call through it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from loguru import logger

from bot.phone import mask_phone
from bot.simulated_caller.audio import ULAW_SILENCE, resample, rms, ulaw_decode, ulaw_encode
from bot.simulated_caller.playout import Playout, Underrun
from bot.simulated_caller.signing import SignatureMode, signed_headers
from bot.simulated_caller.webhooks import (
    CallIdentity,
    StreamInfo,
    answer_params,
    hangup_params,
    now_utc,
    parse_stream,
)

FRAME_SECS = 0.02
CALLER_RATE = 8000  # what say() takes: PCM16 at 8 kHz
VOICED_RMS = 300.0


@dataclass
class WebhookResult:
    """A webhook POST and its answer."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    body: str
    sent_at: float
    elapsed: float


@dataclass
class Turn:
    """One caller utterance and how long the bot took to answer it."""

    index: int
    duration: float
    queued_at: float
    speech_started_at: float | None = None
    last_speech_frame_at: float | None = None
    first_bot_audio_at: float | None = None
    sent: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # or abandoned

    @property
    def latency(self) -> float | None:
        """Seconds from the caller's last voiced frame to the bot's next ``playAudio``."""
        if self.last_speech_frame_at is None or self.first_bot_audio_at is None:
            return None
        return self.first_bot_audio_at - self.last_speech_frame_at


@dataclass
class ReceivedEvent:
    """A message from the server (``playAudio`` payloads are kept as audio, not here)."""

    at: float
    event: str
    message: dict[str, Any]


@dataclass
class _Frame:
    payload: bytes
    turn: Turn | None = None
    first: bool = False
    voiced: bool = False
    last_voiced: bool = False
    last: bool = False


class SimulatedCaller:
    """Simulates Plivo calling ``server_url``: webhooks, the audio stream, and playout.

    Typical use::

        async with SimulatedCaller(url, auth_id=..., auth_token=...) as caller:
            await caller.start()                       # answer webhook + stream + start event
            async with asyncio.timeout(5):
                await caller.wait_for_bot_audio()      # the greeting
            turn = await caller.say(pcm16_8k)          # what the caller says
            async with asyncio.timeout(5):
                await caller.wait_for_reply(turn)
            await caller.hang_up()                     # close the stream, POST the hangup hook

    ``fast=True`` sends ``say`` audio plus ``fast_tail_secs`` of silence without real-time pacing.
    ``speech_pace`` sends ``say`` audio that many times faster than real time but still paced,
    so that a pipeline whose VAD sits after its STT (as pipecat's does) keeps up.
    ``signature`` decides how webhooks are signed (see ``SignatureMode``). ``stream_url``
    replaces the XML's websocket URL (e.g. when the server advertises its public ``wss://`` name).
    """

    def __init__(
        self,
        server_url: str,
        *,
        auth_id: str,
        auth_token: str,
        main_auth_token: str | None = None,
        from_number: str = "919812345678",
        to_number: str = "918071234567",
        call_uuid: str | None = None,
        answer_path: str = "/plivo/answer",
        hangup_path: str = "/plivo/hangup",
        signature: SignatureMode = SignatureMode.VALID,
        fast: bool = False,
        fast_tail_secs: float = 1.0,
        speech_pace: float = 1.0,
        underrun_threshold: float = 0.04,
        underrun_max_gap: float = 0.5,
        stream_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.auth_id = auth_id
        self.auth_token = auth_token
        self.main_auth_token = main_auth_token
        self.call = CallIdentity.new(from_number, to_number, call_uuid)
        self.answer_path = answer_path
        self.hangup_path = hangup_path
        self.signature = signature
        self.fast = fast
        self.fast_tail_frames = round(fast_tail_secs / FRAME_SECS)
        if speech_pace <= 0:
            raise ValueError(f"speech_pace must be positive, not {speech_pace}")
        self.speech_pace = speech_pace
        self.playout = Playout(underrun_threshold=underrun_threshold, max_gap=underrun_max_gap)
        self.stream_url_override = stream_url
        self._session = session
        self._own_session = session is None
        self.stream: StreamInfo | None = None
        self.stream_id = ""
        self.answer_result: WebhookResult | None = None
        self.hangup_result: WebhookResult | None = None
        self.turns: list[Turn] = []
        self.events: list[ReceivedEvent] = []
        self.protocol_errors: list[str] = []
        self.start_sent_at: float | None = None
        self.first_bot_audio_at: float | None = None
        self.server_closed_at: float | None = None
        self.close_code: int | None = None
        self.hung_up_at: float | None = None
        self.truncated_secs: float | None = None
        self.media_frames_sent = 0
        self._started_wall = now_utc()
        self._answered_wall = self._started_wall
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._sequence = 0
        self._queue: deque[_Frame] = deque()
        self._fast_budget = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._checkpoints: dict[asyncio.Task[None], str] = {}
        self._audio_arrived = asyncio.Condition()
        self._closed = asyncio.Event()
        self._content_type: str | None = None
        self._finished = False

    @property
    def call_uuid(self) -> str:
        """The simulated call's ``CallUUID``."""
        return self.call.call_uuid

    @property
    def greeting_latency(self) -> float | None:
        """Seconds from sending ``start`` to the first ``playAudio``."""
        if self.start_sent_at is None or self.first_bot_audio_at is None:
            return None
        return self.first_bot_audio_at - self.start_sent_at

    @property
    def underruns(self) -> list[Underrun]:
        """Gaps in the bot's audio while it was speaking."""
        return self.playout.underruns

    @property
    def bot_audio(self) -> bytes:
        """All bot audio received, as PCM16 at 8 kHz."""
        return b"".join(resample(c.pcm, c.sample_rate, CALLER_RATE) for c in self.playout.chunks)

    @property
    def connected(self) -> bool:
        """Whether the media stream is open."""
        return self._ws is not None and not self._ws.closed

    def summary(self) -> dict[str, Any]:
        """Headline numbers of the call, for logs and the load generator."""
        latencies = [t.latency for t in self.turns if t.latency is not None]
        return {
            "call_uuid": self.call_uuid,
            "greeting_latency": self.greeting_latency,
            "turn_latencies": latencies,
            "underruns": len(self.underruns),
            "bot_audio_secs": sum(c.duration for c in self.playout.chunks),
            "truncated_secs": self.truncated_secs,
            "protocol_errors": list(self.protocol_errors),
        }

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._finished:
            raise RuntimeError("the simulated caller is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # -- webhooks -------------------------------------------------------------------------------

    async def post_webhook(
        self, path: str, params: dict[str, str], signature: SignatureMode | None = None
    ) -> WebhookResult:
        """POST a form to ``server_url + path``, signed per ``signature`` (default: own mode)."""
        url = self.server_url + path
        headers = signed_headers(
            "POST",
            url,
            params,
            auth_token=self.auth_token,
            main_auth_token=self.main_auth_token,
            mode=signature or self.signature,
        )
        return await self._post(url, params, headers)

    async def replay(self, previous: WebhookResult) -> WebhookResult:
        """Send a webhook again with the very same form, nonce and signatures."""
        return await self._post(previous.url, previous.params, previous.headers)

    async def _post(
        self, url: str, params: dict[str, str], headers: dict[str, str]
    ) -> WebhookResult:
        sent_at = time.monotonic()
        async with self._http().post(url, data=params, headers=headers) as response:
            body = await response.text()
            status = response.status
        elapsed = time.monotonic() - sent_at
        return WebhookResult(url, dict(params), dict(headers), status, body, sent_at, elapsed)

    async def answer(self) -> WebhookResult:
        """POST the answer webhook and parse the ``<Stream>`` out of the returned XML."""
        self._started_wall = now_utc()
        logger.debug(
            "simulated caller {}: calling {} from {}",
            self.call_uuid,
            mask_phone(self.call.to_number),
            mask_phone(self.call.from_number),
        )
        result = await self.post_webhook(
            self.answer_path, answer_params(self.call, self._started_wall)
        )
        self.answer_result = result
        self.stream = parse_stream(result.body) if result.status == 200 else None
        self._answered_wall = now_utc()
        return result

    async def send_hangup_webhook(
        self, cause: str = "NORMAL_CLEARING", source: str = "Caller"
    ) -> WebhookResult:
        """POST the hangup webhook (call completed), signed like the answer."""
        params = hangup_params(
            self.call,
            started=self._started_wall,
            answered=self._answered_wall,
            ended=now_utc(),
            cause=cause,
            source=source,
        )
        self.hangup_result = await self.post_webhook(self.hangup_path, params)
        return self.hangup_result

    # -- stream ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Answer the call and open the media stream (raises if the answer had no Stream)."""
        await self.answer()
        await self.connect()

    async def connect(self) -> None:
        """Open the ``<Stream>`` websocket, send ``start`` and begin the 20 ms media clock."""
        if self.stream is None:
            status = self.answer_result.status if self.answer_result else None
            raise RuntimeError(f"answer returned no <Stream> (HTTP {status})")
        if self.stream.encoding == "audio/x-mulaw" and self.stream.sample_rate != 8000:
            self.protocol_errors.append("contentType audio/x-mulaw only supports rate=8000")
        url = self.stream_url_override or self.stream.url
        self._ws = await self._http().ws_connect(url, autoping=True)
        self.stream_id = str(uuid.uuid4())
        await self._send(
            {
                "event": "start",
                "sequenceNumber": self._next_sequence(),
                "start": {
                    "callId": self.call_uuid,
                    "streamId": self.stream_id,
                    "accountId": self.auth_id,
                    "tracks": ["inbound"],
                    "mediaFormat": {
                        "encoding": self.stream.encoding,
                        "sampleRate": self.stream.sample_rate,
                    },
                },
                "extra_headers": self.stream.extra_headers,
            }
        )
        self.start_sent_at = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._pump(), name=f"plivo-pump-{self.call_uuid}"),
            asyncio.create_task(self._receive(), name=f"plivo-recv-{self.call_uuid}"),
        ]

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(json.dumps(message))

    # -- caller audio ---------------------------------------------------------------------------

    def _encode(self, pcm8k: bytes) -> bytes:
        assert self.stream is not None
        if self.stream.encoding == "audio/x-mulaw":
            return ulaw_encode(pcm8k)
        return resample(pcm8k, CALLER_RATE, self.stream.sample_rate)

    def _silence_frame(self) -> bytes:
        assert self.stream is not None
        if self.stream.encoding == "audio/x-mulaw":
            return bytes([ULAW_SILENCE]) * round(8000 * FRAME_SECS)
        return b"\x00\x00" * round(self.stream.sample_rate * FRAME_SECS)

    async def say(self, pcm16_8k: bytes, *, wait: bool = True) -> Turn:
        """Speak PCM16 8 kHz audio into the call; by default returns once it has all been sent.

        Raises:
            RuntimeError: The call was never connected.
            ConnectionError: The stream has closed (nothing would ever send the audio).
        """
        if self.stream is None:
            raise RuntimeError("not connected")
        if self._closed.is_set():
            raise ConnectionError("the stream is closed")
        step = round(CALLER_RATE * FRAME_SECS) * 2
        pieces = [pcm16_8k[i : i + step] for i in range(0, len(pcm16_8k), step)] or [b""]
        pieces[-1] = pieces[-1].ljust(step, b"\x00")
        voiced = [i for i, p in enumerate(pieces) if rms(p) >= VOICED_RMS]
        last_voiced = voiced[-1] if voiced else len(pieces) - 1
        voiced_set = set(voiced)
        turn = Turn(len(self.turns), len(pcm16_8k) / 2 / CALLER_RATE, time.monotonic())
        self.turns.append(turn)
        for i, piece in enumerate(pieces):
            self._queue.append(
                _Frame(
                    self._encode(piece),
                    turn,
                    first=i == 0,
                    voiced=i in voiced_set,
                    last_voiced=i == last_voiced,
                    last=i == len(pieces) - 1,
                )
            )
        if wait:
            await turn.sent.wait()
        return turn

    async def send_dtmf(self, digit: str) -> None:
        """Send a keypress event."""
        await self._send(
            {
                "event": "dtmf",
                "sequenceNumber": self._next_sequence(),
                "streamId": self.stream_id,
                "dtmf": {"track": "inbound", "digit": digit, "timestamp": self._media_ms()},
            }
        )

    def _media_ms(self) -> str:
        """Milliseconds of stream audio before the current chunk (audio time, not wall time)."""
        return str(round(max(0, self.media_frames_sent - 1) * FRAME_SECS * 1000))

    async def _pump(self) -> None:
        next_at = time.monotonic()
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            while self.connected:
                frame = self._queue.popleft() if self._queue else _Frame(self._silence_frame())
                await self._send_media(frame)
                now = time.monotonic()
                if self._unpaced(frame):
                    next_at = now
                    await asyncio.sleep(0)
                    continue
                next_at += FRAME_SECS / (self.speech_pace if frame.turn is not None else 1.0)
                if next_at < now - 0.2:  # fell far behind (e.g. paused): do not burst to catch up
                    next_at = now
                await asyncio.sleep(max(0.0, next_at - now))

    def _unpaced(self, frame: _Frame) -> bool:
        """In fast mode, utterances and the silence just after them go out without pacing."""
        if not self.fast:
            return False
        if frame.turn is not None:
            if frame.last:
                self._fast_budget = self.fast_tail_frames
            return True
        if self._fast_budget > 0:
            self._fast_budget -= 1
            return True
        return False

    async def _send_media(self, frame: _Frame) -> None:
        self.media_frames_sent += 1
        await self._send(
            {
                "event": "media",
                "sequenceNumber": self._next_sequence(),
                "streamId": self.stream_id,
                "media": {
                    "track": "inbound",
                    "timestamp": self._media_ms(),
                    "chunk": self.media_frames_sent,
                    "payload": base64.b64encode(frame.payload).decode("ascii"),
                },
                "extra_headers": self.stream.extra_headers if self.stream else "",
            }
        )
        turn = frame.turn
        if turn is None:
            return
        now = time.monotonic()
        if frame.first:
            turn.speech_started_at = now
        if frame.voiced:
            self.playout.caller_voice(now)
        if frame.last_voiced:
            turn.last_speech_frame_at = now
        if frame.last:
            turn.sent.set()

    # -- bot audio ------------------------------------------------------------------------------

    async def _receive(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._on_message(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    self.protocol_errors.append("binary websocket frame (Plivo expects JSON text)")
        finally:
            if self.server_closed_at is None and self.hung_up_at is None:
                self.server_closed_at = time.monotonic()
            self.close_code = ws.close_code
            self._closed.set()
            self._release_turns()
            async with self._audio_arrived:
                self._audio_arrived.notify_all()

    async def _on_message(self, data: str) -> None:
        now = time.monotonic()
        try:
            message = json.loads(data)
        except ValueError:
            self.protocol_errors.append(f"non-JSON message: {data[:60]!r}")
            return
        event = str(message.get("event"))
        if message.get("streamId") not in (None, self.stream_id):
            self.protocol_errors.append(f"{event} for unknown streamId {message.get('streamId')}")
        if event == "playAudio":
            self._on_play_audio(message, now)
            media = dict(message.get("media") or {})
            media["payload"] = f"<{len(base64.b64decode(media.get('payload', '')))} bytes>"
            self.events.append(ReceivedEvent(now, event, {**message, "media": media}))
            async with self._audio_arrived:
                self._audio_arrived.notify_all()
            return
        self.events.append(ReceivedEvent(now, event, message))
        if event == "clearAudio":
            self.playout.clear(now)
            for task, name in list(self._checkpoints.items()):
                task.cancel()
                await self._played(name)
            self._checkpoints.clear()
            await self._send(
                {
                    "sequenceNumber": self._next_sequence(),
                    "event": "clearedAudio",
                    "streamId": self.stream_id,
                }
            )
        elif event == "checkpoint":
            name = str(message.get("name", ""))
            delay = self.playout.remaining(now)
            task = asyncio.create_task(self._played_after(name, delay))
            self._checkpoints[task] = name
        else:
            self.protocol_errors.append(f"unexpected event {event!r}")

    def _on_play_audio(self, message: dict[str, Any], now: float) -> None:
        media = message.get("media") or {}
        content_type = str(media.get("contentType", ""))
        rate = int(media.get("sampleRate", 8000))
        if self._content_type is not None and content_type != self._content_type:
            self.protocol_errors.append(f"playAudio switched codec to {content_type}")
        self._content_type = content_type
        raw = base64.b64decode(media.get("payload", ""))
        if content_type == "audio/x-mulaw":
            if rate != 8000:
                self.protocol_errors.append(f"audio/x-mulaw at {rate} Hz")
            pcm = ulaw_decode(raw)
        elif content_type == "audio/x-l16":
            pcm = raw
        else:
            self.protocol_errors.append(f"playAudio with contentType {content_type!r}")
            return
        self.playout.add(pcm, rate, now)
        if self.first_bot_audio_at is None:
            self.first_bot_audio_at = now
        for turn in self.turns:
            if turn.last_speech_frame_at is not None and turn.first_bot_audio_at is None:
                turn.first_bot_audio_at = now

    async def _played_after(self, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if (task := asyncio.current_task()) is not None:
            self._checkpoints.pop(task, None)
        await self._played(name)

    async def _played(self, name: str) -> None:
        await self._send(
            {
                "event": "playedStream",
                "sequenceNumber": self._next_sequence(),
                "streamId": self.stream_id,
                "name": name,
            }
        )

    # -- waiting (wrap these in ``asyncio.timeout``: they wait as long as it takes) ---------------

    async def wait_for_bot_audio(self, after: float | None = None) -> float:
        """Wait for a ``playAudio`` received after ``after`` (default: any); returns its time."""
        since = after if after is not None else float("-inf")
        async with self._audio_arrived:
            await self._audio_arrived.wait_for(
                lambda: (
                    self._closed.is_set() or any(c.received_at > since for c in self.playout.chunks)
                )
            )
        for chunk in self.playout.chunks:
            if chunk.received_at > since:
                return chunk.received_at
        raise ConnectionError("stream closed before bot audio arrived")

    async def wait_for_reply(self, turn: Turn) -> float:
        """Wait until the bot's audio after ``turn``; returns the turn's latency."""
        await turn.sent.wait()
        if turn.last_speech_frame_at is None:
            raise ConnectionError("stream closed before the utterance was sent")
        await self.wait_for_bot_audio(after=turn.last_speech_frame_at)
        assert turn.latency is not None
        return turn.latency

    async def wait_until_bot_quiet(self, quiet_for: float = 0.5) -> None:
        """Wait until all bot audio has played and none has arrived for ``quiet_for`` seconds."""
        while not self._closed.is_set():
            now = time.monotonic()
            last = self.playout.chunks[-1].received_at if self.playout.chunks else 0.0
            remaining = max(self.playout.remaining(now), last + quiet_for - now)
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.05) + 0.001)

    async def wait_closed(self) -> None:
        """Wait until the media stream is closed (by the server or by hanging up)."""
        await self._closed.wait()

    # -- ending ---------------------------------------------------------------------------------

    async def hang_up(self, *, send_webhook: bool = True) -> WebhookResult | None:
        """Hang up like a caller: drop the stream mid-whatever, then POST the hangup webhook."""
        now = time.monotonic()
        self.hung_up_at = now
        self.truncated_secs = self.playout.remaining(now)
        await self._close_stream()
        if send_webhook:
            return await self.send_hangup_webhook(source="Caller")
        return None

    async def remote_hang_up(self, call_uuid: str) -> None:
        """What Plivo does when its REST API hangs the call up (a hook for a fake Plivo API)."""
        now = time.monotonic()
        self.hung_up_at = now
        self.truncated_secs = self.playout.remaining(now)
        logger.debug(
            "simulated caller {}: hung up by API, {:.2f}s cut", call_uuid, self.truncated_secs
        )
        await self._close_stream()
        try:
            await self.send_hangup_webhook(source="API Request")
        except (aiohttp.ClientError, RuntimeError) as exc:  # the server or session went first
            logger.debug("simulated caller {}: hangup webhook failed: {}", call_uuid, exc)

    async def _close_stream(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        for task in list(self._checkpoints):
            task.cancel()
        self._checkpoints.clear()
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        for task in self._tasks:
            if task is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._closed.set()
        self._release_turns()

    def _release_turns(self) -> None:
        """Wake ``say`` waiters when the stream ends before their audio was all sent."""
        self._queue.clear()
        for turn in self.turns:
            turn.sent.set()

    async def close(self) -> None:
        """Close the stream (without a webhook) and the HTTP session if the caller made it."""
        await self._close_stream()
        self._finished = True  # a late hang-up by the API must not open a session again
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
