"""Engine watchdog: when STT, LLM or TTS fail or stall, the caller hears an apology, not silence.

Design: an observer + processor pair, because no single place in the pipeline can both notice
and speak.

* **Noticing** (:attr:`EngineWatchdog.observer`). A failing service pushes its ``ErrorFrame``
  *upstream*, so a processor placed below it never sees it, while a processor placed above the
  LLM never sees the LLM's output or the TTS's. An observer sees the first push of every frame
  wherever it happens, off the audio path (pipecat runs it in its own task). It dispatches on
  the frame's exact type with one dict look-up, so audio frames cost a single failed look-up.
* **Speaking** (the processor itself). It sits between the TTS and the output transport: the
  one spot whose way to the caller depends on none of the engines and is not queued behind a
  blocked LLM or TTS. Its ``process_frame`` forwards every frame with no type check at all
  (``InputAudioRawFrame``s pass straight through: one look at a set that is almost always
  empty), dropping only what the TTS still pushes of a reply the apology replaced.

What counts as a failure:

* an ``ErrorFrame`` from an STT, LLM or TTS service (not one a tool handler caused: pipecat
  marks those ``ErrorCategory.APPLICATION`` and the LLM carries on);
* a stall: the caller's turn ended (``UserStoppedSpeakingFrame``) and, within ``budget_secs``,
  neither did the bot start speaking nor did the LLM make progress (a request, text, a tool
  call). Each sign of progress restarts the budget and a running tool suspends it, so a reply
  that stops mid-stream, or text the TTS never voices, is caught too. Once the bot speaks, the
  rest of that reply is not watched;
* after an STT error and until the next transcript, speech that goes unheard: speech the error
  overlapped, or later speech with no transcript within ``budget_secs`` of its end (pipecat
  discards audio while it reconnects a dropped socket, for 4 s or more).

What the caller hears: the call's :class:`~processors.apology.Apology` (a spoken clip cached
from the business's own TTS voice, else a built-in chime), once per failure episode. An episode
ends when the caller starts a new turn. For LLM and TTS failures, and stalls, the rest of the
broken reply is interrupted first (which also cancels a stalled LLM request), then the apology
plays; it is added to the conversation so the LLM knows what was offered. An STT error is
recorded at once but apologised for only when it costs the caller (a drop in silence may be
over before anyone speaks): when their unheard speech ends, and after the bot's sentence; it
interrupts nothing. A non-STT failure noticed while the caller is speaking is only recorded:
their new turn decides.

Every failure is reported once per episode through ``report`` (the call recorder's ``error``),
with the service (``stt``, ``llm``, ``tts``) as the source and a reason free of transcripts and
request bodies (e.g. ``llm error: tool_use_failed (HTTP 400)``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    CancelWorkerFrame,
    EndFrame,
    EndWorkerFrame,
    ErrorFrame,
    FatalErrorFrame,
    Frame,
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InterimTranscriptionFrame,
    LLMAssistantPushAggregationFrame,
    LLMContextFrame,
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
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor, FrameProcessorSetup
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.errors import ErrorCategory, extract_http_status_code
from pipecat.utils.text.base_text_aggregator import TextType

from processors.apology import Apology

DEFAULT_BUDGET_SECS = 2.0
"""How long the caller may wait without progress: with turn detection, under 3 s in all."""

CHUNK_SECS = 0.1
"""Length of the audio frames the apology is pushed as."""

LOST_SPEECH_MARGIN_SECS = 0.5
"""An STT error this long before the caller's speech began, or later, lost (part of) it."""


class FailureReport(Protocol):
    """Where failures go: the call recorder's ``error`` fits."""

    def __call__(self, message: str, *, source: str | None = ...) -> None:
        """Record one failure of ``source``."""


@dataclass(frozen=True)
class EngineFailure:
    """One failure of an engine.

    Attributes:
        service: ``stt``, ``llm`` or ``tts``.
        kind: ``error`` (the service reported it) or ``stall`` (nothing happened in time).
        reason: What went wrong, without transcripts or request bodies.
    """

    service: str
    kind: str
    reason: str

    @property
    def message(self) -> str:
        """The failure in one line, as recorded."""
        return f"{self.service} {self.kind}: {self.reason}"


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def engine_of(processor: object) -> str | None:
    """Which engine a processor is (``stt``, ``llm``, ``tts``), or None for anything else."""
    if isinstance(processor, STTService):
        return "stt"
    if isinstance(processor, LLMService):
        return "llm"
    if isinstance(processor, TTSService):
        return "tts"
    return None


def describe(frame: ErrorFrame) -> str:
    """Why an engine failed, short and without request or response bodies.

    The provider's error code comes first (Groq's ``tool_use_failed`` arrives as the
    exception's ``code``), then the HTTP status; failures without either are named by their
    exception type and pipecat's message.
    """
    exception = frame.exception
    code = getattr(exception, "code", None) if exception is not None else None
    status = extract_http_status_code(exception) if exception is not None else None
    if status is None and (match := _HTTP_STATUS.search(frame.error or "")):
        status = int(match[1])
    if isinstance(code, str) and code:
        return f"{code} (HTTP {status})" if status is not None else code
    if status is not None:
        return f"HTTP {status}"
    message = " ".join(str(frame.error or "").split())[:120]
    if exception is not None:
        return f"{type(exception).__name__}: {message}" if message else type(exception).__name__
    return message or "unknown error"


# What the caller is waiting on when the budget runs out: (service, reason).
_STALLS = {
    "stt-unheard": ("stt", "no transcript {budget:g} s after the caller stopped speaking"),
    "stt-turn": ("stt", "no transcript for the caller's turn within {budget:g} s"),
    "llm-wait": ("llm", "no reply {budget:g} s after the request"),
    "llm-stream": ("llm", "reply stopped for {budget:g} s mid-stream"),
    "tts": ("tts", "no audio {budget:g} s after the reply's text"),
}

Handler = Callable[[FramePushed], Awaitable[None]]


class EngineWatchdog(FrameProcessor):
    """Plays an apology when an engine fails or stalls; place it between TTS and output.

    Add :attr:`observer` to the worker's observers: it is what notices.

    Args:
        apology: What to play (words, clip, fallback).
        report: Called once per failure and episode with the failure's message and
            ``source=`` the service.
        budget_secs: How long the caller may wait for progress after their turn.
        call_id: The call's id, bound to the log lines.
        **kwargs: For ``FrameProcessor`` (e.g. ``name``).
    """

    def __init__(
        self,
        apology: Apology,
        *,
        report: FailureReport,
        budget_secs: float = DEFAULT_BUDGET_SECS,
        call_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.apology = apology
        self.budget_secs = budget_secs
        self.apologies = 0
        self._report = report
        self._log = logger.bind(call=call_id) if call_id else logger
        self.observer: BaseObserver = _WatchdogObserver(self._handlers())
        self._user_speaking = False
        self._bot_speaking = False
        self._heard = False  # a transcript arrived since the caller last started speaking
        # The STT's last error while it has not transcribed anything since, and when it came.
        self._stt_failure: EngineFailure | None = None
        self._stt_failed_at = 0.0
        self._speech_started_at = 0.0  # when the caller's current or last speech began
        self._reply_text = False  # the current LLM reply has produced text
        self._tools_running = 0
        self._episode = False  # an apology was played since the caller's last turn began
        self._recorded: set[EngineFailure] = set()
        self._pending: EngineFailure | None = None  # an STT apology waiting for a free line
        self._closing = False
        self._tts_context: str | None = None  # the TTS's latest context (its current reply)
        self._discard: set[str] = set()  # contexts of replies the apology replaced
        # The stall clock: what the caller waits for ("turn" or "unheard"), the stage that is
        # blamed when the deadline passes, and the deadline (None while a tool runs).
        self._wait: str | None = None
        self._stage = ""
        self._deadline: float | None = None
        self._clock_changed = asyncio.Event()
        self._clock_task: asyncio.Task[None] | None = None
        self._prepare_task: asyncio.Task[bool] | None = None

    # -- the processor ---------------------------------------------------------------------------

    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        """Start the stall clock."""
        await super().setup(setup)
        self._clock_task = self.create_task(self._run_clock(), name=f"{self}::stall-clock")

    async def cleanup(self) -> None:
        """Stop the clock and any clip synthesis still running."""
        await super().cleanup()
        for task in (self._clock_task, self._prepare_task):
            if task is not None and not task.done():
                await self.cancel_task(task)
        self._clock_task = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Forward every frame as it is, except leftovers of a reply the apology replaced.

        Noticing is the observer's job. After the interruption the TTS may still push frames
        of the reply it failed, such as the words it never voiced, which the assistant
        aggregator would add to the conversation; they carry that reply's ``context_id``.
        """
        await super().process_frame(frame, direction)
        if self._discard and getattr(frame, "context_id", None) in self._discard:
            return  # the rest of a reply the apology replaced (e.g. its unspoken words)
        await self.push_frame(frame, direction)

    # -- noticing (called from the observer's task) ----------------------------------------------

    def _handlers(self) -> dict[type[Frame], Handler]:
        tool_finished = self._on_tool_finished
        closing = self._on_closing
        return {
            VADUserStartedSpeakingFrame: self._on_vad_started,
            VADUserStoppedSpeakingFrame: self._on_vad_stopped,
            UserStartedSpeakingFrame: self._on_turn_started,
            UserStoppedSpeakingFrame: self._on_turn_stopped,
            TranscriptionFrame: self._on_heard,
            InterimTranscriptionFrame: self._on_heard,
            LLMContextFrame: self._on_llm_request,
            LLMFullResponseStartFrame: self._on_reply_started,
            LLMTextFrame: self._on_llm_text,
            FunctionCallsStartedFrame: self._on_llm_tool_call,
            LLMFullResponseEndFrame: self._on_reply_ended,
            FunctionCallInProgressFrame: self._on_tool_started,
            FunctionCallResultFrame: tool_finished,
            FunctionCallCancelFrame: tool_finished,
            TTSStartedFrame: self._on_tts_started,
            BotStartedSpeakingFrame: self._on_bot_started,
            BotStoppedSpeakingFrame: self._on_bot_stopped,
            ErrorFrame: self._on_error,
            FatalErrorFrame: self._on_error,
            EndFrame: closing,
            CancelFrame: closing,
            EndWorkerFrame: closing,
            CancelWorkerFrame: closing,
        }

    async def _on_vad_started(self, data: FramePushed) -> None:
        start_secs = getattr(data.frame, "start_secs", 0.0)
        self._speech_started_at = time.monotonic() - start_secs
        if self._prepare_task is None:
            # The caller's first words: from here on a failure can leave them waiting, and the
            # TTS is idle while they speak (not busy with the greeting, which it is at setup).
            self._prepare_task = self.create_task(self.apology.prepare(), name=f"{self}::clip")
        self._user_speaking = True
        self._heard = False
        if self._wait == "unheard":
            self._stop_clock()

    async def _on_vad_stopped(self, _: FramePushed) -> None:
        self._user_speaking = False
        if self._pending is not None:
            if not self._bot_speaking:
                await self._apologise(self._pending, interrupt=False)
        elif self._stt_failure is not None and not self._heard and not self._episode:
            if self._stt_failed_at >= self._speech_started_at - LOST_SPEECH_MARGIN_SECS:
                await self._fail(self._stt_failure, record=False)  # this speech was lost
            elif self._wait is None:
                self._start_clock("unheard", "stt-unheard")  # maybe lost: wait for a transcript

    async def _on_turn_started(self, _: FramePushed) -> None:
        self._episode = False
        self._recorded.clear()
        self._tools_running = 0  # a call left running from an earlier turn must not hold the clock
        self._stop_clock()

    async def _on_turn_stopped(self, _: FramePushed) -> None:
        if self._heard:
            self._start_clock("turn", "llm-wait")
        elif self._stt_failure is not None:
            self._start_clock("turn", "stt-turn")
        # else: a turn of noise without words (a cough), ended by pipecat's stop timeout; no
        # reply is due, and the idle re-prompt takes it from there.

    async def _on_heard(self, _: FramePushed) -> None:
        self._heard = True
        self._stt_failure = None
        if self._wait == "unheard":
            self._stop_clock()

    async def _on_llm_request(self, _: FramePushed) -> None:
        self._progress("llm-wait")

    async def _on_reply_started(self, _: FramePushed) -> None:
        self._reply_text = False

    async def _on_llm_text(self, _: FramePushed) -> None:
        self._reply_text = True
        self._progress("llm-stream")

    async def _on_llm_tool_call(self, _: FramePushed) -> None:
        self._progress("llm-stream")

    async def _on_reply_ended(self, _: FramePushed) -> None:
        if self._wait == "turn" and self._reply_text:
            self._stage = "tts"

    async def _on_tool_started(self, _: FramePushed) -> None:
        self._tools_running += 1
        if self._wait == "turn":
            self._deadline = None  # a tool may take its time; the clock resumes after it

    async def _on_tool_finished(self, data: FramePushed) -> None:
        self._tools_running = max(0, self._tools_running - 1)
        if self._wait != "turn" or self._tools_running:
            return
        if getattr(data.frame, "run_llm", None) is False:
            self._stop_clock()  # the tool said all there is to say (a goodbye, a transfer)
        else:
            self._progress("llm-wait", wake=True)

    async def _on_tts_started(self, data: FramePushed) -> None:
        if data.source is self:
            return  # the apology's own
        context = getattr(data.frame, "context_id", None)
        if context not in self._discard:
            self._discard.clear()  # a new reply: nothing of the replaced one is still coming
        self._tts_context = context

    async def _on_bot_started(self, _: FramePushed) -> None:
        self._bot_speaking = True
        self._stop_clock()

    async def _on_bot_stopped(self, _: FramePushed) -> None:
        self._bot_speaking = False
        if self._pending is not None and not self._user_speaking:
            await self._apologise(self._pending, interrupt=False)

    async def _on_error(self, data: FramePushed) -> None:
        frame = data.frame
        assert isinstance(frame, ErrorFrame)
        if frame.category is ErrorCategory.APPLICATION:
            return  # a tool handler failed; the LLM hears of it and carries on
        service = engine_of(frame.processor or data.source)
        if service is None:
            return
        failure = EngineFailure(service, "error", describe(frame))
        if service == "stt":
            # Apologised for once it costs the caller: when speech goes unheard (see
            # _on_vad_stopped). A drop in silence may be over before anyone speaks.
            self._record(failure)
            self._stt_failure, self._stt_failed_at = failure, time.monotonic()
            return
        await self._fail(failure)

    async def _on_closing(self, _: FramePushed) -> None:
        self._closing = True
        self._pending = None
        self._stop_clock()

    # -- the stall clock -------------------------------------------------------------------------

    def _start_clock(self, wait: str, stage: str) -> None:
        if self._closing:
            return
        self._wait, self._stage = wait, stage
        self._deadline = time.monotonic() + self.budget_secs
        self._clock_changed.set()

    def _progress(self, stage: str, *, wake: bool = False) -> None:
        """Something moved: restart the budget (later deadlines need no wake-up)."""
        if self._wait != "turn" or self._tools_running:
            return
        self._stage = stage
        self._deadline = time.monotonic() + self.budget_secs
        if wake:
            self._clock_changed.set()

    def _stop_clock(self) -> None:
        self._wait, self._deadline = None, None

    async def _run_clock(self) -> None:
        while True:
            if self._wait is None or self._deadline is None:
                self._clock_changed.clear()
                await self._clock_changed.wait()
                continue
            remaining = self._deadline - time.monotonic()
            if remaining > 0:
                self._clock_changed.clear()
                try:
                    await asyncio.wait_for(self._clock_changed.wait(), remaining)
                except TimeoutError:
                    pass
                continue
            service, reason = _STALLS[self._stage]
            self._stop_clock()
            reason = reason.format(budget=self.budget_secs)
            await self._fail(EngineFailure(service, "stall", reason))

    # -- acting ----------------------------------------------------------------------------------

    def _record(self, failure: EngineFailure) -> None:
        if failure not in self._recorded:
            self._recorded.add(failure)
            self._log.warning("engine failure: {}", failure.message)
            self._report(failure.message, source=failure.service)

    async def _fail(self, failure: EngineFailure, *, record: bool = True) -> None:
        if record:
            self._record(failure)
        if self._closing or self._episode:
            return
        if failure.service == "stt":
            if self._user_speaking or self._bot_speaking:
                self._pending = failure  # played when the line is free
            else:
                await self._apologise(failure, interrupt=False)
        elif not self._user_speaking:
            await self._apologise(failure, interrupt=True)

    async def _apologise(self, failure: EngineFailure, *, interrupt: bool) -> None:
        """Cut what is left of the broken reply (if asked), then play the apology."""
        self._episode = True
        self._pending = None
        self._stop_clock()
        self.apologies += 1
        audio, what = self.apology.audio()
        spoken = what == "spoken clip"
        self._log.info("apologising for the {} {} with the {}", failure.service, failure.kind, what)
        if interrupt:
            if self._tts_context is not None:
                self._discard.add(self._tts_context)
            await self.broadcast_interruption()
        context_id = f"apology-{self.apologies}"
        rate = self.apology.sample_rate
        step = round(rate * CHUNK_SECS) * 2
        await self.push_frame(TTSStartedFrame(context_id=context_id, append_to_context=spoken))
        for start in range(0, len(audio), step):
            chunk = audio[start : start + step]
            await self.push_frame(TTSAudioRawFrame(chunk, rate, 1, context_id=context_id))
        if spoken:
            text = TTSTextFrame(self.apology.text, TextType.SENTENCE, context_id=context_id)
            await self.push_frame(text)
        await self.push_frame(TTSStoppedFrame(context_id=context_id))
        if spoken:
            await self.push_frame(LLMAssistantPushAggregationFrame())


class _WatchdogObserver(BaseObserver):
    """Hands the frames the watchdog cares about to it; ignores the rest with one look-up."""

    def __init__(self, handlers: dict[type[Frame], Handler]) -> None:
        super().__init__(observe_every_push=False)
        self._handlers = handlers

    async def on_push_frame(self, data: FramePushed) -> None:
        """Dispatch on the frame's exact type."""
        handler = self._handlers.get(type(data.frame))
        if handler is not None:
            await handler(data)
