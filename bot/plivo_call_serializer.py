"""Plivo's audio-stream protocol for one call: checkpoints, and a hang-up that spares the goodbye.

pipecat's :class:`~pipecat.serializers.plivo.PlivoFrameSerializer` already turns audio into
``playAudio`` (μ-law, 8 kHz) and back, and interruptions into ``clearAudio``. This subclass adds:

* checkpoints: a :class:`~frames.playout.PlayoutCheckpointFrame` becomes Plivo's ``checkpoint``
  and Plivo's ``playedStream`` (or the older ``played``) comes back as a
  :class:`~frames.playout.PlayoutCompleteFrame`;
* the hang-up through a configurable REST base URL on the app's shared ``aiohttp`` session;
* a hang-up that waits for the goodbye: Plivo buffers what we send and plays it at real time, so
  on ``EndFrame`` the hang-up waits until the last checkpoint after the final audio is confirmed,
  or, without one, until the audio sent has had time to play (by the wall clock), capped;
* tolerance of junk: invalid JSON, binary noise or malformed events are dropped, counted and
  logged at DEBUG, with one ``json.loads`` per message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import aiohttp
from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.audio.utils import pcm_to_ulaw, ulaw_to_pcm
from pipecat.frames.frames import (
    AudioRawFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
)
from pipecat.serializers.plivo import PlivoFrameSerializer

from frames.playout import PlayoutCheckpointFrame, PlayoutCompleteFrame

DEFAULT_API_URL = "https://api.plivo.com"
"""Plivo's REST API; settings point it at a fake in tests and benchmarks."""

_PLAYED_EVENTS = frozenset({"playedStream", "played"})
"""Plivo's answer to a ``checkpoint`` (``played`` is the older name)."""

_QUIET_EVENTS = frozenset({"start", "stop", "clearedAudio"})
"""Events with nothing for the pipeline: ``start`` was read by the server, ``clearedAudio``
confirms a ``clearAudio``, and ``stop`` is only sent by older stream versions."""

_PCM_SAMPLE_WIDTH = 2


class PlivoCallSerializer(PlivoFrameSerializer):
    """Serializer for one Plivo call's bidirectional audio stream.

    Hang-up (``auto_hang_up``, the default) needs ``call_id``, ``auth_id``, ``auth_token`` and
    the shared ``session``; the request is ``DELETE {api_url}/v1/Account/{auth_id}/Call/{call_id}/``
    with HTTP Basic auth, where 204 and 404 (already over) both mean done. It runs on the first
    ``EndFrame`` or ``CancelFrame``; for an ``EndFrame`` it first waits for the goodbye to play.
    After :meth:`keep_call_up` (the call was transferred) neither hangs up.
    """

    class InputParams(PlivoFrameSerializer.InputParams):
        """Configuration of :class:`PlivoCallSerializer`.

        Parameters:
            playout_margin_secs: Extra wait, past the wall-clock estimate of when the audio sent
                has finished playing, before hanging up without a confirmed checkpoint.
            max_playout_wait_secs: The longest a hang-up waits for the goodbye to play.
            hang_up_timeout_secs: Time limit for the hang-up request.
        """

        playout_margin_secs: float = 0.25
        max_playout_wait_secs: float = 10.0
        hang_up_timeout_secs: float = 5.0

    def __init__(
        self,
        stream_id: str,
        call_id: str | None = None,
        auth_id: str | None = None,
        auth_token: str | None = None,
        params: PlivoCallSerializer.InputParams | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        api_url: str = DEFAULT_API_URL,
    ) -> None:
        """Create the serializer for one stream.

        Args:
            stream_id: The ``streamId`` from Plivo's ``start`` event.
            call_id: The ``callId`` (CallUUID) from the ``start`` event.
            auth_id: The Plivo account's auth id.
            auth_token: The Plivo account's auth token.
            params: Configuration; defaults to ``PlivoCallSerializer.InputParams()``.
            session: The app's shared HTTP session, used for the hang-up request.
            api_url: Base URL of Plivo's REST API, without a trailing path.

        Raises:
            ValueError: ``auto_hang_up`` is on and a credential, the call id or the session is
                missing.
        """
        params = params or PlivoCallSerializer.InputParams()
        super().__init__(stream_id, call_id, auth_id, auth_token, params)
        if params.auto_hang_up and session is None:
            raise ValueError("auto_hang_up is enabled but no aiohttp session was given")
        self._call_params = params
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._log = logger.bind(call=call_id or stream_id)

        # When the audio sent so far will have finished playing (monotonic clock), whether any
        # audio went out since the last checkpoint, and whether that checkpoint was played.
        self._play_end = 0.0
        self._audio_since_checkpoint = False
        self._checkpoint: str | None = None
        self._checkpoint_played = asyncio.Event()
        self._checkpoint_played.set()

        self._invalid_messages = 0
        self._ignored_messages = 0
        self._keep_call_up = False

    def keep_call_up(self, keep: bool = True) -> None:
        """Leave the call up when the pipeline ends (``keep=False`` undoes it).

        For a call handed elsewhere (Plivo's transfer): the stream ends, the call goes on, so
        neither ``EndFrame`` nor ``CancelFrame`` may hang it up.
        """
        self._keep_call_up = keep

    @property
    def hangs_up(self) -> bool:
        """Whether the end of the pipeline hangs the call up."""
        return self._call_params.auto_hang_up and not self._keep_call_up

    @property
    def unplayed_secs(self) -> float:
        """Seconds of audio sent that Plivo has not played yet, by the wall clock."""
        return max(0.0, self._play_end - time.monotonic())

    @property
    def playout_confirmed(self) -> bool:
        """Whether Plivo confirmed playing all audio sent (true before any audio is sent)."""
        return not self._audio_since_checkpoint and self._checkpoint_played.is_set()

    @property
    def invalid_messages(self) -> int:
        """Messages dropped as unreadable: not JSON, not an object, or a malformed event."""
        return self._invalid_messages

    @property
    def ignored_messages(self) -> int:
        """Well-formed messages with an event this serializer does not know."""
        return self._ignored_messages

    async def serialize(self, frame: Frame) -> str | bytes | None:
        """Turn a frame into a Plivo message, hanging up on ``EndFrame``/``CancelFrame``.

        Args:
            frame: The frame to send.

        Returns:
            The JSON text to send, or None when there is nothing to send.
        """
        if isinstance(frame, AudioRawFrame):
            payload = await super().serialize(frame)
            if payload:
                self._audio_sent(len(frame.audio), frame.sample_rate, frame.num_channels)
            return payload
        if isinstance(frame, PlayoutCheckpointFrame):
            self._checkpoint = frame.checkpoint
            self._checkpoint_played.clear()
            self._audio_since_checkpoint = False
            message = {"event": "checkpoint", "streamId": self._stream_id, "name": frame.checkpoint}
            return json.dumps(message)
        if isinstance(frame, InterruptionFrame):
            await self._playout_cleared()
        elif isinstance(frame, EndFrame) and self.hangs_up and not self._hangup_attempted:
            await self._wait_for_playout()
        return await super().serialize(frame)

    async def flush_audio(self) -> str | None:
        """Return the audio the output resampler still holds, as a ``playAudio``, if any.

        A stream resampler releases its output in blocks and keeps the last tens of
        milliseconds of its input (about 50 ms from 16 kHz to 8 kHz, 125 ms from 24 kHz) until
        flushed. The output transport calls this at the end of each utterance, before the
        checkpoint, so that the end of every utterance, the goodbye included, is played.

        Returns:
            The JSON text to send, or None when nothing is held.
        """
        tail = await self._output_resampler.flush()
        if not tail:
            return None
        # Counted in unplayed_secs already: it is the end of audio serialized before.
        rate = self._plivo_sample_rate
        ulaw = await pcm_to_ulaw(tail, rate, rate, self._output_resampler)
        return json.dumps(
            {
                "event": "playAudio",
                "media": {
                    "contentType": "audio/x-mulaw",
                    "sampleRate": self._plivo_sample_rate,
                    "payload": base64.b64encode(ulaw).decode("ascii"),
                },
                "streamId": self._stream_id,
            }
        )

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Turn a Plivo message into a frame.

        ``media`` gives an ``InputAudioRawFrame`` at the pipeline's input rate, ``dtmf`` an
        ``InputDTMFFrame`` and ``playedStream``/``played`` a ``PlayoutCompleteFrame``. Other
        events give None; unreadable messages are counted and give None.

        Args:
            data: One websocket message.

        Returns:
            The frame, or None.
        """
        try:
            message = json.loads(data)
            event = message.get("event")
        except (ValueError, AttributeError, RecursionError):
            self._drop_invalid(data, "not a JSON object")
            return None
        if not isinstance(event, str):
            self._drop_invalid(data, "no event name")
            return None

        if event == "media":
            return await self._audio_frame(message, data)
        if event in _PLAYED_EVENTS:
            return self._played_frame(message, data)
        if event == "dtmf":
            return self._dtmf_frame(message, data)
        if event in _QUIET_EVENTS:
            return None
        self._ignored_messages += 1
        self._log.debug(f"Ignored a Plivo event {event[:32]!r}")
        return None

    async def _audio_frame(self, message: dict[str, Any], data: str | bytes) -> Frame | None:
        try:
            payload = base64.b64decode(message["media"]["payload"])
        except (KeyError, TypeError, ValueError):
            self._drop_invalid(data, "media without a base64 payload")
            return None
        if not payload:
            return None
        pcm = await ulaw_to_pcm(
            payload, self._plivo_sample_rate, self._sample_rate, self._input_resampler
        )
        if not pcm:
            return None
        return InputAudioRawFrame(audio=pcm, sample_rate=self._sample_rate, num_channels=1)

    def _played_frame(self, message: dict[str, Any], data: str | bytes) -> Frame | None:
        name = message.get("name")
        if not isinstance(name, str):
            self._drop_invalid(data, "playedStream without a name")
            return None
        if name == self._checkpoint:
            self._checkpoint_played.set()
        return PlayoutCompleteFrame(name)

    def _dtmf_frame(self, message: dict[str, Any], data: str | bytes) -> Frame | None:
        dtmf = message.get("dtmf")
        digit = str(dtmf.get("digit")) if isinstance(dtmf, dict) else ""
        try:
            return InputDTMFFrame(KeypadEntry(digit))
        except ValueError:
            # The digit itself is not logged: keypresses can spell numbers and PINs.
            self._drop_invalid(data, "dtmf without a valid digit")
            return None

    def _drop_invalid(self, data: str | bytes, why: str) -> None:
        self._invalid_messages += 1
        kind = "bytes" if isinstance(data, bytes) else "chars"
        self._log.debug(
            f"Dropped a Plivo message ({why}, {len(data)} {kind}); "
            f"{self._invalid_messages} dropped so far"
        )

    def _audio_sent(self, num_bytes: int, sample_rate: int, num_channels: int) -> None:
        now = time.monotonic()
        if self._play_end < now:
            self._play_end = now
        self._play_end += num_bytes / (_PCM_SAMPLE_WIDTH * sample_rate * num_channels)
        self._audio_since_checkpoint = True

    async def _playout_cleared(self) -> None:
        """``clearAudio`` empties Plivo's buffer: nothing is left to play or to confirm.

        The resampler's held-back audio belongs to the interrupted utterance: dropped too, so
        that it does not open the next one.
        """
        await self._output_resampler.reset()
        self._play_end = 0.0
        self._audio_since_checkpoint = False
        self._checkpoint_played.set()

    async def _wait_for_playout(self) -> None:
        """Wait until the audio sent has played: confirmed by a checkpoint, or by the clock."""
        if self.playout_confirmed:
            return
        remaining = self._play_end + self._call_params.playout_margin_secs - time.monotonic()
        wait = min(self._call_params.max_playout_wait_secs, remaining)
        if wait <= 0:
            return
        self._log.debug(f"Hang-up waits up to {wait:.2f}s for the goodbye to play")
        try:
            if self._audio_since_checkpoint:
                await asyncio.sleep(wait)
            else:
                async with asyncio.timeout(wait):
                    await self._checkpoint_played.wait()
        except TimeoutError:
            pass

    async def _hang_up_call(self) -> None:
        """Hang the call up through Plivo's REST API; failures are logged, never raised."""
        if self._keep_call_up:
            self._log.info("Call left up: it was handed over")
            return
        auth_id, auth_token, call_id = self._auth_id, self._auth_token, self._call_id
        if self._session is None or not (auth_id and auth_token and call_id):
            return
        url = f"{self._api_url}/v1/Account/{auth_id}/Call/{call_id}/"
        timeout = aiohttp.ClientTimeout(total=self._call_params.hang_up_timeout_secs)
        try:
            headers = {"Authorization": aiohttp.encode_basic_auth(auth_id, auth_token)}
            async with self._session.delete(url, headers=headers, timeout=timeout) as response:
                if response.status == 204:
                    self._log.info("Hung up the call")
                elif response.status == 404:
                    self._log.info("Hang-up: the call had already ended")
                else:
                    body = (await response.text())[:200].replace(auth_id, "***")
                    self._log.error(f"Plivo refused the hang-up: HTTP {response.status} {body!r}")
        except Exception as exc:
            self._log.error(f"Plivo hang-up request failed: {type(exc).__name__}")
