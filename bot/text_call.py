"""A conversation with the bot in text: the call's pipeline with typed lines for speech.

Used by ``python -m bot chat`` and by the scenarios' text mode. The pipeline is a phone call's
without the audio: ``caller lines → user context → LLM with tools → assistant context``, built
from the business's configuration with the same prompt, dialogue facts, tools and store. Each
caller line enters as a final ``TranscriptionFrame``, as the STT would push it, and ends the
caller's turn at once. The bot's reply is everything it says until the pipeline is quiet again
(tool calls and the replies to their results included).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    FunctionCallCancelFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

from bot.call import GOODBYES, REPROMPTS
from bot.config import Business, Settings
from bot.conversation import call_language, conversation_llm, greeting
from bot.prompt import Caller
from bot.tools import CallTools, ToolEvent
from processors.call_recorder import CallRecord, CallRecorderObserver
from processors.dialogue import DialogueLLMService
from processors.typed_turns import typed_turn_strategies
from store.booking import Bookings
from store.models import utcnow

CALLER_ID = "caller"
"""The user id on the caller's transcripts."""
TRANSCRIPT_LANGUAGES = {"en": Language.EN_IN, "hi": Language.HI_IN}
"""The language a line is tagged with, as Deepgram would tag it."""
SETTLE_SECS = 0.05
"""How long the pipeline must stay quiet for the bot's reply to count as finished."""
REPLY_TIMEOUT_SECS = 30.0
"""The longest a reply may take (a slow Groq with retries stays well inside)."""


@dataclass
class BotReply:
    """What the bot did in answer to one caller line (or silence).

    Attributes:
        text: Everything it said, in order.
        tool_calls: The tools it called, each ``{"name": ..., "arguments": ..., "result": ...}``
            (``end_call`` has ``farewell`` instead of arguments and result).
        latency_ms: From the line entering the pipeline to the bot's first words; ``None``
            when it said nothing.
        ended: Whether the call is over (the bot said goodbye, or handed it to staff).
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float | None = None
    ended: bool = False


class _Activity(BaseObserver):
    """Watches the pipeline: what the bot says, and whether anything is still in flight."""

    def __init__(self, llm: FrameProcessor) -> None:
        super().__init__()
        self._llm = llm
        self.lines: list[str] = []
        self.first_words_at: float | None = None
        self.inferences = 0  # contexts sent to the LLM, not yet answered
        self.contexts_sent = 0  # contexts sent to the LLM, ever
        self.function_calls = 0  # started, not yet finished
        self.changed = asyncio.Event()

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, TTSSpeakFrame):  # a goodbye or a re-prompt, spoken verbatim
            if not data.first_push or not frame.text.strip():
                return
            self._said(frame.text)
        elif isinstance(frame, LLMContextFrame):
            if data.destination is not self._llm:
                return
            self.inferences += 1
            self.contexts_sent += 1
        elif data.source is not self._llm or data.direction != FrameDirection.DOWNSTREAM:
            return
        elif isinstance(frame, LLMFullResponseEndFrame):
            self.inferences = max(0, self.inferences - 1)
        elif isinstance(frame, FunctionCallsStartedFrame):
            self.function_calls += len(frame.function_calls)
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            self.function_calls = max(0, self.function_calls - 1)
        elif isinstance(frame, LLMTextFrame) and frame.text.strip():
            self._said(frame.text)
        else:
            return
        self.changed.set()

    @property
    def busy(self) -> bool:
        return self.inferences > 0 or self.function_calls > 0

    def take_lines(self) -> str:
        text = " ".join(" ".join(self.lines).split())
        self.lines = []
        self.first_words_at = None
        return text

    def _said(self, text: str) -> None:
        if self.first_words_at is None:
            self.first_words_at = time.monotonic()
        self.lines.append(text)


class TextCall:
    """One typed conversation with the bot of ``business``.

    Use as an async context manager: entering starts the pipeline, leaving ends the call (if
    the bot has not) and waits for bookings still committing.

    Args:
        business: The business the caller reached.
        settings: Process settings; the Groq key (and the business's choice) picks the engine.
        bookings: The booking store the tools use.
        caller_number: The caller's E.164 number, or ``None`` when withheld.
        caller: What is known about the caller (name, language from earlier calls).
        language: The language to start in; by default the caller's or the business's.
        clock: The current instant (aware); scenarios fix it.
        call_id: The conversation's id in logs and bookings.
        on_tool: Told of each tool call and its result as it happens.
    """

    def __init__(
        self,
        business: Business,
        settings: Settings,
        bookings: Bookings,
        *,
        caller_number: str | None = None,
        caller: Caller | None = None,
        language: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        call_id: str | None = None,
        on_tool: ToolEvent | None = None,
    ) -> None:
        self.business = business
        self.caller = caller or Caller(number_known=caller_number is not None)
        self.language = language or call_language(business, self.caller)
        self.call_id = call_id or self.new_id()
        self.greeting = greeting(business, self.caller, self.language)
        self.recorder = CallRecorderObserver()
        self._on_tool = on_tool
        self._turn_tools: list[dict[str, Any]] = []
        self._silent_secs = 0.0
        self._reprompted = False
        self.tools = CallTools(
            business=business,
            bookings=bookings,
            call_uuid=self.call_id,
            caller_number=caller_number,
            on_event=self._tool_event,
            clock=clock,
        )
        context = LLMContext(
            messages=[{"role": "assistant", "content": self.greeting}],
            tools=ToolsSchema(standard_tools=self.tools.schemas()),
        )
        user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
            context,
            user_params=LLMUserAggregatorParams(user_turn_strategies=typed_turn_strategies()),
        )
        llm = conversation_llm(
            business,
            settings,
            self.caller,
            can_transfer=False,
            language=self.language,
            clock=clock,
        )
        self.engine = (
            "the local dialogue engine"
            if isinstance(llm, DialogueLLMService)
            else f"Groq {business.engines.llm.model}"
        )
        """The engine answering: the local dialogue engine, or Groq and its model."""
        self._activity = _Activity(llm)
        self._worker = PipelineWorker(
            Pipeline([user_aggregator, llm, assistant_aggregator]),
            params=PipelineParams(enable_metrics=True),
            enable_rtvi=False,
            idle_timeout_secs=None,
            observers=[self.recorder, self._activity],
        )
        self._runner_task: asyncio.Task[None] | None = None

    @staticmethod
    def new_id() -> str:
        """A fresh conversation id."""
        return f"text-{uuid.uuid4().hex[:12]}"

    async def __aenter__(self) -> TextCall:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self._worker)
        self._runner_task = asyncio.create_task(runner.run(), name=f"text-call-{self.call_id}")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        if kind is not None and issubclass(kind, asyncio.CancelledError | KeyboardInterrupt):
            await self.hang_up()
        await self.close()

    @property
    def ended(self) -> bool:
        """Whether the call is over."""
        return self._runner_task is not None and self._runner_task.done()

    async def say(self, text: str, language: str | None = None) -> BotReply:
        """The caller says ``text`` (in ``language``); the bot's whole answer.

        Raises:
            RuntimeError: The call has ended.
        """
        if self.ended:
            raise RuntimeError("the call has ended")
        self._silent_secs, self._reprompted = 0.0, False
        tag = TRANSCRIPT_LANGUAGES.get(language or "", None)
        sent, contexts = time.monotonic(), self._activity.contexts_sent
        await self._worker.queue_frame(
            TranscriptionFrame(text, CALLER_ID, time_now_iso8601(), language=tag, finalized=True)
        )
        return await self._reply(sent, after_contexts=contexts)

    async def silence(self, seconds: float) -> BotReply:
        """The caller says nothing for ``seconds``; the bot reacts as on the phone.

        Silence is simulated, not waited out: after the business's ``reprompt_secs`` the bot
        asks once whether the caller is there, and once the silence adds up to
        ``hangup_secs`` it says goodbye and ends the call.
        """
        if self.ended:
            return BotReply(ended=True)
        rules = self.business.silence
        self._silent_secs += seconds
        sent = time.monotonic()
        if self._silent_secs >= rules.hangup_secs:
            goodbye = GOODBYES.get(self.language, GOODBYES["en"])
            await self._worker.queue_frames([TTSSpeakFrame(goodbye), EndFrame()])
        elif self._silent_secs >= rules.reprompt_secs and not self._reprompted:
            self._reprompted = True
            await self._worker.queue_frame(
                TTSSpeakFrame(REPROMPTS.get(self.language, REPROMPTS["en"]))
            )
        return await self._reply(sent)

    async def hang_up(self) -> None:
        """The caller hangs up: the pipeline stops at once, as when the line drops."""
        if not self.ended:
            await self._worker.cancel()
        await self._wait_ended()

    async def close(self) -> CallRecord:
        """End the call if the bot has not, wait for it to stop, and return its record."""
        if self._runner_task is not None and not self.ended:
            await self._worker.queue_frame(EndFrame())
        await self._wait_ended()
        await self.tools.drain()
        return self.recorder.finish()

    async def _wait_ended(self) -> None:
        if self._runner_task is None:
            return
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_SECS):
                await asyncio.shield(self._runner_task)
        except TimeoutError:
            logger.bind(call=self.call_id).warning("the text call did not stop; cancelling it")
            self._runner_task.cancel()
            await asyncio.gather(self._runner_task, return_exceptions=True)

    async def _reply(self, sent: float, after_contexts: int | None = None) -> BotReply:
        """Wait until the pipeline is quiet, then collect what the bot did since ``sent``.

        With ``after_contexts``, the line must first have reached the LLM (more contexts sent
        than that): the pipeline may take longer than :data:`SETTLE_SECS` to end the user's
        turn on a busy machine, and its quiet before then is not the end of the reply.
        """
        activity = self._activity
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_SECS):
                while after_contexts is not None and not self.ended:
                    activity.changed.clear()
                    if activity.contexts_sent > after_contexts:
                        break
                    await self._changed_or_ended()
                while not self.ended:
                    activity.changed.clear()
                    if activity.busy:
                        await self._changed_or_ended()
                        continue
                    try:
                        async with asyncio.timeout(SETTLE_SECS):
                            await self._changed_or_ended()
                    except TimeoutError:
                        break
        except TimeoutError:
            logger.bind(call=self.call_id).warning(
                "no complete reply within {}s", REPLY_TIMEOUT_SECS
            )
        first = activity.first_words_at
        latency = round((first - sent) * 1000, 1) if first is not None else None
        tools, self._turn_tools = self._turn_tools, []
        return BotReply(activity.take_lines(), tools, latency, self.ended)

    async def _changed_or_ended(self) -> None:
        assert self._runner_task is not None
        changed = asyncio.ensure_future(self._activity.changed.wait())
        try:
            await asyncio.wait({changed, self._runner_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()

    def _tool_event(self, name: str, data: dict[str, Any]) -> None:
        self.recorder.tool_event(name, data)
        self._turn_tools.append({"name": name, **data})
        if self._on_tool is not None:
            self._on_tool(name, data)
