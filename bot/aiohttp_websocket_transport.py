"""A pipecat transport over an aiohttp websocket that the server has already accepted.

It follows pipecat's FastAPI websocket transport (a serializer turns messages into frames and
back; ``on_client_connected`` / ``on_client_disconnected`` / ``on_session_timeout`` events) with
what a phone line needs on top:

* Audio pacing with a head start. At the start of each bot utterance (whenever the caller's
  playout buffer has run dry) the first ``audio_out_head_start_secs`` of audio go out at once;
  after that audio is sent at real time, keeping that much ahead of playout, so that a short
  event-loop stall does not starve the far end's buffer. ``unplayed_secs`` tells how much sent
  audio has not been played yet, by the wall clock.
* Playout checkpoints. After each utterance (``TTSStoppedFrame``), for each
  :class:`~frames.playout.PlayoutCheckpointFrame`, and before ending the call, the output sends
  a checkpoint through the serializer. If the serializer has an ``async flush_audio()`` method
  (``PlivoCallSerializer`` does) it is called first, and what it returns is sent before the
  checkpoint: a resampler holds back the last tens of milliseconds of an utterance, which would
  otherwise never be played. The input side turns the checkpoint's answer into a
  :class:`~frames.playout.PlayoutCompleteFrame`. On ``EndFrame`` the output waits for the last
  checkpoint to be confirmed (at most the unplayed time plus ``playout_wait_margin_secs``,
  capped by ``max_playout_wait_secs``) before the serializer's end-of-call output (for Plivo:
  the hang-up) and the close, so the goodbye is not cut off. The input keeps reading after
  ``EndFrame`` for that reason; it stops pushing frames into the pipeline.
* Robustness: messages the serializer cannot read are dropped and counted, a peer that vanishes
  mid-send ends the call through ``on_client_disconnected`` without errors, and the close is
  bounded by ``ws_close_timeout``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web
from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    ClientConnectedFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputTransportMessageFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from frames.playout import PlayoutCheckpointFrame, PlayoutCompleteFrame

if TYPE_CHECKING:
    from loguru import Logger

_PCM_SAMPLE_WIDTH = 2


class AiohttpWebsocketParams(TransportParams):
    """Configuration of :class:`AiohttpWebsocketTransport`.

    Parameters:
        serializer: Turns websocket messages into frames and frames into messages.
        session_timeout: Seconds after which ``on_session_timeout`` fires; None for never.
        audio_out_end_silence_secs: Silence sent after the last audio on ``EndFrame``. pipecat's
            default is 2 s so that a hang-up does not clip the last words; this transport waits
            for the audio to play instead, so the default here is 0.
        audio_out_head_start_secs: Audio sent at once when an utterance starts, and kept ahead
            of real-time playout after that.
        playout_wait_margin_secs: On ``EndFrame``, how long past the estimated end of playout
            to wait for the last checkpoint to be confirmed (or, if the serializer has no
            checkpoints, to wait at all).
        max_playout_wait_secs: The longest the end of a call waits for its audio to play.
        ws_close_timeout: The longest to wait for the peer to answer our close.
    """

    serializer: FrameSerializer | None = None
    session_timeout: int | None = None
    audio_out_end_silence_secs: int = 0
    audio_out_head_start_secs: float = 0.25
    playout_wait_margin_secs: float = 1.0
    max_playout_wait_secs: float = 10.0
    ws_close_timeout: float = 0.5


class _WebsocketClient:
    """The websocket both halves share: sending, closing, and checkpoint confirmations."""

    def __init__(self, ws: web.WebSocketResponse, close_timeout: float, log: Logger):
        self.ws = ws
        self.log = log
        self.closing = False
        self.hanging_up = False  # the end of the call went out: the peer may close now
        self.send_failed = False
        self.dropped_messages = 0
        self.checkpoint: str | None = None
        self.checkpoint_played = asyncio.Event()
        self.checkpoint_played.set()
        self._close_timeout = close_timeout
        self._checkpoint_numbers = itertools.count(1)

    @property
    def can_send(self) -> bool:
        """Whether the socket is open, not closed by us, and has not failed a send."""
        return not (self.closing or self.send_failed or self.ws.closed)

    async def send(self, data: str | bytes) -> bool:
        """Send one message; a peer gone mid-send is noted (once) rather than raised."""
        try:
            if isinstance(data, str):
                await self.ws.send_str(data)
            else:
                await self.ws.send_bytes(data)
            return True
        except Exception as exc:
            if not self.send_failed:
                self.log.debug(f"Websocket send failed, the peer is gone: {type(exc).__name__}")
            self.send_failed = True
            return False

    def next_checkpoint_name(self) -> str:
        """A fresh checkpoint name for this call."""
        return f"cp-{next(self._checkpoint_numbers)}"

    def checkpoint_sent(self, name: str) -> None:
        """``name`` is now the checkpoint whose confirmation ends a wait for playout."""
        self.checkpoint = name
        self.checkpoint_played.clear()

    def playout_complete(self, name: str) -> None:
        """The far end played everything up to checkpoint ``name``."""
        if name == self.checkpoint:
            self.checkpoint_played.set()

    def playout_cleared(self) -> None:
        """The far end's buffer was cleared, or the peer is gone: nothing left to confirm."""
        self.checkpoint_played.set()

    async def close(self) -> None:
        """Close the socket once; a peer that does not answer is dropped after the timeout."""
        if self.closing:
            return
        self.closing = True
        self.checkpoint_played.set()
        if self.ws.closed:
            return
        try:
            async with asyncio.timeout(self._close_timeout):
                await self.ws.close()
        except TimeoutError:
            self.log.debug(f"Peer did not answer the close within {self._close_timeout}s")
        except Exception as exc:
            self.log.debug(f"Websocket close failed: {type(exc).__name__}")


class AiohttpWebsocketInputTransport(BaseInputTransport):
    """Reads the websocket: deserializes each message and pushes the frame it gives."""

    def __init__(
        self,
        transport: AiohttpWebsocketTransport,
        client: _WebsocketClient,
        params: AiohttpWebsocketParams,
        initial_messages: Iterable[str | bytes] = (),
        *,
        name: str | None = None,
    ) -> None:
        """Create the input half (the transport does this).

        Args:
            transport: The transport both halves belong to.
            client: The shared websocket.
            params: Transport configuration.
            initial_messages: Messages the server read after ``start``, handled first.
            name: The processor's name.
        """
        super().__init__(params, name=name)
        self._transport = transport
        self._client = client
        self._params: AiohttpWebsocketParams = params
        self._initial_messages = list(initial_messages)
        self._receive_task: asyncio.Task[None] | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._stopped = False

    # pipecat's FrameProcessor.setup(setup) overrides BaseObject.setup(task_manager).
    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        """Set up the processor and the serializer.

        Args:
            setup: The pipeline's set-up values (sample rates, task manager).
        """
        await super().setup(setup)
        if self._params.serializer:
            await self._params.serializer.setup(setup)

    async def start(self, frame: StartFrame) -> None:
        """Announce the client and start reading.

        Args:
            frame: The pipeline's StartFrame.
        """
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self._params.session_timeout and not self._monitor_task:
            self._monitor_task = self.create_task(self._monitor(self._params.session_timeout))
        await self._transport.client_connected()
        await self.push_frame(ClientConnectedFrame())
        if not self._receive_task:
            self._receive_task = self.create_task(self._receive_messages())

    async def stop(self, frame: EndFrame) -> None:
        """Stop pushing frames, but keep reading: the output may await a checkpoint's answer.

        Args:
            frame: The EndFrame.
        """
        self._stopped = True
        await super().stop(frame)
        await self._cancel_monitor()

    async def cancel(self, frame: CancelFrame) -> None:
        """Stop reading at once.

        Args:
            frame: The CancelFrame.
        """
        self._stopped = True
        await super().cancel(frame)
        await self._stop_tasks()

    async def cleanup(self) -> None:
        """Stop reading, close the socket and wait for running event handlers."""
        await super().cleanup()
        await self._stop_tasks()
        await self._client.close()
        await self._transport.cleanup()

    async def _cancel_monitor(self) -> None:
        if self._monitor_task:
            await self.cancel_task(self._monitor_task)
            self._monitor_task = None

    async def _stop_tasks(self) -> None:
        await self._cancel_monitor()
        if self._receive_task:
            await self.cancel_task(self._receive_task)
            self._receive_task = None

    async def _receive_messages(self) -> None:
        client = self._client
        try:
            for data in self._initial_messages:
                await self._on_message(data)
            self._initial_messages.clear()
            async for message in client.ws:
                if message.type is WSMsgType.TEXT or message.type is WSMsgType.BINARY:
                    await self._on_message(message.data)
                elif message.type is WSMsgType.ERROR:
                    client.log.warning(f"Websocket closed on a protocol error: {message.data}")
                    break
        except Exception as exc:
            client.log.warning(f"Websocket reading failed: {type(exc).__name__} ({exc})")
        client.playout_cleared()
        # The peer went away while the call was on (not because we closed, or hung up): tell
        # the app, which normally ends the call.
        if not (client.closing or client.hanging_up):
            await self._transport.client_disconnected()

    async def _on_message(self, data: str | bytes) -> None:
        serializer = self._params.serializer
        if serializer is None:
            return
        try:
            frame = await serializer.deserialize(data)
        except Exception as exc:
            self._client.dropped_messages += 1
            self._client.log.debug(
                f"Dropped a message the serializer could not read ({type(exc).__name__}); "
                f"{self._client.dropped_messages} dropped so far"
            )
            return
        if frame is None:
            return
        if isinstance(frame, InputAudioRawFrame):
            if not self._stopped:
                await self.push_audio_frame(frame)
            return
        if isinstance(frame, PlayoutCompleteFrame):
            self._client.playout_complete(frame.checkpoint)
        if self._stopped:
            return
        if isinstance(frame, InputTransportMessageFrame):
            await self.broadcast_frame(InputTransportMessageFrame, message=frame.message)
        else:
            await self.push_frame(frame)

    async def _monitor(self, after_secs: int) -> None:
        await asyncio.sleep(after_secs)
        await self._transport.session_timeout()


class AiohttpWebsocketOutputTransport(BaseOutputTransport):
    """Writes the websocket: paced audio, checkpoints, clears, and the end of the call."""

    def __init__(
        self,
        transport: AiohttpWebsocketTransport,
        client: _WebsocketClient,
        params: AiohttpWebsocketParams,
        *,
        name: str | None = None,
    ) -> None:
        """Create the output half (the transport does this).

        Args:
            transport: The transport both halves belong to.
            client: The shared websocket.
            params: Transport configuration.
            name: The processor's name.
        """
        super().__init__(params, name=name)
        self._transport = transport
        self._client = client
        self._params: AiohttpWebsocketParams = params
        self._bytes_per_sec = 0
        # When the audio sent so far will have finished playing at the far end (monotonic).
        self._play_end = 0.0
        self._audio_since_checkpoint = False
        self._interruptions = 0

    @property
    def unplayed_secs(self) -> float:
        """Seconds of audio sent that the far end has not played yet, by the wall clock."""
        return max(0.0, self._play_end - time.monotonic())

    # pipecat's FrameProcessor.setup(setup) overrides BaseObject.setup(task_manager).
    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        """Set up the processor and the serializer.

        Args:
            setup: The pipeline's set-up values (sample rates, task manager).
        """
        await super().setup(setup)
        channels = self._params.audio_out_channels
        self._bytes_per_sec = self.sample_rate * channels * _PCM_SAMPLE_WIDTH
        if self._params.serializer:
            await self._params.serializer.setup(setup)

    async def start(self, frame: StartFrame) -> None:
        """Start the media sender.

        Args:
            frame: The pipeline's StartFrame.
        """
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame) -> None:
        """Send the queued audio, wait for it to play, send the end of the call, close.

        Args:
            frame: The EndFrame.
        """
        await super().stop(frame)
        await self._wait_for_playout()
        self._client.hanging_up = True
        await self._write_frame(frame)
        await self._client.close()

    async def cancel(self, frame: CancelFrame) -> None:
        """Send the end of the call at once and close.

        Args:
            frame: The CancelFrame.
        """
        await super().cancel(frame)
        self._client.hanging_up = True
        await self._write_frame(frame)
        await self._client.close()

    async def cleanup(self) -> None:
        """Close the socket and wait for running event handlers."""
        await super().cleanup()
        await self._client.close()
        await self._transport.cleanup()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Handle frames as the base output does; on an interruption, clear the far end.

        Args:
            frame: The frame.
            direction: Its direction.
        """
        await super().process_frame(frame, direction)

        if isinstance(frame, InterruptionFrame):
            await self._clear_audio(frame)

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Push a frame on; a ``TTSStoppedFrame`` leaving after its audio gets a checkpoint.

        Args:
            frame: The frame.
            direction: Its direction.
        """
        await super().push_frame(frame, direction)
        if (
            isinstance(frame, TTSStoppedFrame)
            and direction is FrameDirection.DOWNSTREAM
            and self._audio_since_checkpoint
        ):
            await self._send_checkpoint(PlayoutCheckpointFrame(self._client.next_checkpoint_name()))

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        """Send a transport message through the serializer.

        Args:
            frame: The message frame.
        """
        await self._write_frame(frame)

    async def write_transport_frame(self, frame: Frame) -> None:
        """Send a ``PlayoutCheckpointFrame`` once the audio before it has been sent.

        Args:
            frame: A frame that reached the end of the audio queue.
        """
        if isinstance(frame, PlayoutCheckpointFrame):
            await self._send_checkpoint(frame)
        else:
            await super().write_transport_frame(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Send one chunk of audio and pace: a head start, then real time.

        Args:
            frame: A chunk of audio at the output sample rate.

        Returns:
            Whether the chunk was sent.
        """
        if not await self._send_audio(frame):
            return False
        ahead = self._play_end - time.monotonic() - self._params.audio_out_head_start_secs
        if ahead > 0:
            await asyncio.sleep(ahead)
        return True

    async def _send_audio(self, frame: OutputAudioRawFrame) -> bool:
        """Serialize and send audio, and move the estimated end of playout on."""
        client = self._client
        serializer = self._params.serializer
        if serializer is None or not client.can_send:
            return False
        interruptions = self._interruptions
        payload = await serializer.serialize(frame)
        if interruptions != self._interruptions and frame.interruptible:
            return False  # cleared while it was being encoded
        if payload and not await client.send(payload):
            return False
        now = time.monotonic()
        if self._play_end < now:
            self._play_end = now  # the far end ran dry: a new utterance, a new head start
        self._play_end += len(frame.audio) / self._bytes_per_sec
        self._audio_since_checkpoint = True
        return True

    async def _write_frame(self, frame: Frame) -> bool:
        """Serialize and send a non-audio frame; End/Cancel reach the serializer even if closed."""
        serializer = self._params.serializer
        if serializer is None:
            return False
        try:
            payload = await serializer.serialize(frame)
        except Exception as exc:
            self._client.log.error(f"Serializing {frame} failed: {type(exc).__name__} ({exc})")
            return False
        if not payload or not self._client.can_send:
            return False
        return await self._client.send(payload)

    async def _send_checkpoint(self, frame: PlayoutCheckpointFrame) -> None:
        """Send a checkpoint behind all the audio sent so far."""
        serializer = self._params.serializer
        if serializer is None or not self._client.can_send:
            return
        flush_audio = getattr(serializer, "flush_audio", None)
        if self._audio_since_checkpoint and flush_audio is not None:
            tail = await flush_audio()
            if tail:
                await self._client.send(tail)
        payload = await serializer.serialize(frame)
        if not payload:
            return  # this serializer has no checkpoints; playout goes by the clock
        self._client.checkpoint_sent(frame.checkpoint)
        self._audio_since_checkpoint = False
        await self._client.send(payload)

    async def _clear_audio(self, frame: InterruptionFrame) -> None:
        self._interruptions += 1
        self._play_end = 0.0
        self._audio_since_checkpoint = False
        self._client.playout_cleared()
        await self._write_frame(frame)

    async def _wait_for_playout(self) -> None:
        """Wait until the far end has played what was sent: by checkpoint, else by clock."""
        client = self._client
        if not client.can_send:
            return
        if self._audio_since_checkpoint:
            await self._send_checkpoint(PlayoutCheckpointFrame(client.next_checkpoint_name()))
        if not self._audio_since_checkpoint and client.checkpoint_played.is_set():
            return
        unplayed = self.unplayed_secs
        margin = self._params.playout_wait_margin_secs
        wait = min(self._params.max_playout_wait_secs, unplayed + margin)
        started = time.monotonic()
        try:
            async with asyncio.timeout(wait):
                if self._audio_since_checkpoint:
                    await asyncio.sleep(unplayed)
                else:
                    await client.checkpoint_played.wait()
        except TimeoutError:
            client.log.debug(f"Checkpoint {client.checkpoint} not confirmed within {wait:.2f}s")
        client.log.debug(
            f"Waited {time.monotonic() - started:.2f}s for {unplayed:.2f}s of audio to play"
        )


class AiohttpWebsocketTransport(BaseTransport):
    """Pipecat transport over an accepted ``aiohttp.web.WebSocketResponse``.

    The server's handler prepares the response, reads the provider's opening messages itself
    (for Plivo: ``start``, which names the stream and call), builds the transport, runs the
    pipeline and returns the response only when the pipeline has finished.

    Events (handlers get the transport, then the websocket):

    - ``on_client_connected``: the pipeline started and the input began reading.
    - ``on_client_disconnected``: the peer closed or dropped the socket (not fired when the
      transport closed it). The app normally cancels the pipeline worker here.
    - ``on_session_timeout``: ``session_timeout`` seconds have passed.
    """

    def __init__(
        self,
        websocket: web.WebSocketResponse,
        params: AiohttpWebsocketParams,
        *,
        initial_messages: Iterable[str | bytes] = (),
        call_id: str | None = None,
        input_name: str | None = None,
        output_name: str | None = None,
    ) -> None:
        """Wrap a prepared websocket.

        Args:
            websocket: The prepared (accepted) server-side websocket.
            params: Transport configuration, with the serializer.
            initial_messages: Messages already read after the opening ones, deserialized first.
            call_id: The call's id, bound to this transport's log lines.
            input_name: Name of the input processor.
            output_name: Name of the output processor.
        """
        super().__init__(input_name=input_name, output_name=output_name)
        self._websocket = websocket
        log = logger.bind(call=call_id) if call_id else logger
        self._client = _WebsocketClient(websocket, params.ws_close_timeout, log)
        self._input = AiohttpWebsocketInputTransport(
            self, self._client, params, initial_messages, name=self._input_name
        )
        self._output = AiohttpWebsocketOutputTransport(
            self, self._client, params, name=self._output_name
        )
        self._register_event_handler("on_client_connected")
        self._register_event_handler("on_client_disconnected")
        self._register_event_handler("on_session_timeout")

    @property
    def websocket(self) -> web.WebSocketResponse:
        """The websocket this transport reads and writes."""
        return self._websocket

    @property
    def unplayed_secs(self) -> float:
        """Seconds of bot audio sent but not yet played at the far end, by the wall clock."""
        return self._output.unplayed_secs

    @property
    def dropped_messages(self) -> int:
        """Messages dropped because the serializer failed to read them."""
        return self._client.dropped_messages

    def input(self) -> AiohttpWebsocketInputTransport:
        """The input processor (put it first in the pipeline)."""
        return self._input

    def output(self) -> AiohttpWebsocketOutputTransport:
        """The output processor (put it after the TTS)."""
        return self._output

    async def client_connected(self) -> None:
        """Fire ``on_client_connected`` (called by the input half)."""
        await self._call_event_handler("on_client_connected", self._websocket)

    async def client_disconnected(self) -> None:
        """Fire ``on_client_disconnected`` (called by the input half)."""
        await self._call_event_handler("on_client_disconnected", self._websocket)

    async def session_timeout(self) -> None:
        """Fire ``on_session_timeout`` (called by the input half)."""
        await self._call_event_handler("on_session_timeout", self._websocket)
