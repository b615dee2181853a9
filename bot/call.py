"""One phone call, assembled from the business's configuration and run to its end.

``transport in → STT → user context (Silero VAD, smart-turn) → LLM with tools → TTS →
transport out → assistant context``, with the call recorder watching every frame. However the
call ends (goodbye, caller hang-up, dropped socket, error), its record is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from loguru import logger
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndFrame, TTSSpeakFrame, UserIdleTimeoutUpdateFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.workers.runner import WorkerRunner

from bot.aiohttp_websocket_transport import AiohttpWebsocketParams, AiohttpWebsocketTransport
from bot.call_runner import CallSetup
from bot.config import Settings
from bot.conversation import call_language, conversation_llm, greeting, known_caller
from bot.phone import mask_phone, phone_hash
from bot.plivo_api import PlivoApi
from bot.plivo_call_serializer import PlivoCallSerializer
from bot.prompt import Caller
from bot.services import (
    CALL_IN_RATE,
    PIPELINE_OUT_RATE,
    engine_watchdog,
    stt_service,
    tts_service,
    user_turn_strategies,
)
from bot.tools import CallTools, ToolEvent
from processors.call_recorder import CallRecorderObserver
from processors.phone_vad import PhoneVADAnalyzer
from store.booking import Bookings
from store.calls import CallSummary, finish_call, remember_caller
from store.db import Database
from store.models import CallOutcome, utcnow

REPROMPTS = {
    "en": "Are you still there? How can I help you?",
    "hi": "Kya aap line par hain? Main aapki kya madad kar sakti hoon?",
}
GOODBYES = {
    "en": "I'll let you go now. Please call again any time. Goodbye!",
    "hi": "Koi baat nahi, aap kabhi bhi dobara call kijiye. Dhanyavaad!",
}
TIME_UP = {
    "en": "I'm sorry, I have to end this call now. Please call again. Goodbye!",
    "hi": "Maaf kijiye, ab mujhe yeh call khatam karni hogi. Kripya dobara call kijiye.",
}


@dataclass
class CallResources:
    """What every call of a process shares, filled in when the server starts.

    Attributes:
        settings: Process settings (keys, engine URLs, Plivo credentials).
        database: The database.
        bookings: The booking store.
        http: One HTTP client session for TTS and Plivo's REST API.
        observers: Factories of extra pipeline observers, each given the call's UUID (the
            demo watches its call through one).
        tool_listeners: Told of every call's tool calls as they happen: the call's UUID, the
            tool's name and its :data:`~bot.tools.ToolEvent` data (audio scenarios use it).
    """

    settings: Settings
    database: Database | None = None
    bookings: Bookings | None = None
    http: aiohttp.ClientSession | None = None
    observers: list[Callable[[str], BaseObserver]] = field(default_factory=list)
    tool_listeners: list[Callable[[str, str, dict[str, Any]], None]] = field(default_factory=list)


class PipelineCallRunner:
    """Runs calls through a pipecat pipeline; a :class:`~bot.call_runner.CallRunner`.

    Args:
        resources: The process's shared resources.
        clock: The current instant (aware).
    """

    def __init__(self, resources: CallResources, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.resources = resources
        self.clock = clock

    async def __call__(self, ws: web.WebSocketResponse, call: CallSetup) -> None:
        """Run the call until it ends, then write its record."""
        recorder = CallRecorderObserver()
        caller = await self._caller(call)
        try:
            with logger.contextualize(call=call.call_uuid):
                logger.info(
                    "call to {} from {} started", call.business.slug, mask_phone(call.caller_number)
                )
                await self._run(ws, call, caller, recorder)
        except Exception as exc:
            logger.bind(call=call.call_uuid).exception("call failed")
            recorder.error(f"{type(exc).__name__}: {exc}", fatal=True, source="call")
        finally:
            record = recorder.finish()
            summary = CallSummary(
                outcome=CallOutcome(record.outcome.value),
                transcript=record.transcript,
                tool_calls=record.tool_calls,
                turn_latencies=record.turn_latencies,
                errors=record.errors,
            )
            await asyncio.shield(self._write_record(call, caller, summary))
            logger.bind(call=call.call_uuid).info("call ended: {}", summary.outcome.value)

    async def _run(
        self,
        ws: web.WebSocketResponse,
        call: CallSetup,
        caller: Caller,
        recorder: CallRecorderObserver,
    ) -> None:
        settings, business = self.resources.settings, call.business
        language = call_language(business, caller)
        serializer = self._serializer(call)
        tools = CallTools(
            business=business,
            bookings=self._bookings(),
            call_uuid=call.call_uuid,
            caller_number=call.caller_number,
            on_event=self._tool_listener(call.call_uuid, recorder),
            transfer=self._transfer(call, serializer),
            clock=self.clock,
        )
        transport_params = AiohttpWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True, serializer=serializer
        )
        transport = AiohttpWebsocketTransport(
            ws, transport_params, initial_messages=call.first_messages, call_id=call.call_uuid
        )
        # pipecat's idle timer starts when the bot's last audio is sent, which is the transport's
        # head start before the caller has heard it: that much is added, lest it count as silence.
        unheard = transport_params.audio_out_head_start_secs
        silence = business.silence
        # Silero and smart-turn run on models shared by all calls, loaded by the first to ask
        # (40-55 ms each) unless the server preloaded them: in a worker thread, not on the event
        # loop, where loading would hold up every other call's audio and turns.
        vad, turns = await asyncio.to_thread(lambda: (PhoneVADAnalyzer(), user_turn_strategies()))
        context = LLMContext(tools=ToolsSchema(standard_tools=tools.schemas()))
        user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
            context,
            user_params=LLMUserAggregatorParams(
                vad_analyzer=vad,
                user_turn_strategies=turns,
                user_idle_timeout=silence.reprompt_secs + unheard,
            ),
        )
        watchdog = engine_watchdog(
            business, settings, self._http(), language, recorder.error, call.call_uuid
        )
        pipeline = Pipeline(
            [
                transport.input(),
                stt_service(business, settings, caller),
                user_aggregator,
                conversation_llm(
                    business,
                    settings,
                    caller,
                    can_transfer=tools.transfer is not None,
                    language=language,
                    clock=self.clock,
                ),
                tts_service(business, settings, self._http(), language),
                watchdog,
                transport.output(),
                assistant_aggregator,
            ]
        )
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=CALL_IN_RATE,
                audio_out_sample_rate=PIPELINE_OUT_RATE,
                enable_metrics=True,
            ),
            enable_rtvi=False,
            idle_timeout_secs=None,
            observers=[
                recorder,
                watchdog.observer,
                *(make(call.call_uuid) for make in self.resources.observers),
            ],
        )
        reprompted = False  # asked "are you still there?" since the caller last spoke
        ending = False  # a last line is queued: nothing more is said

        async def say_and_end(lines: dict[str, str]) -> None:
            nonlocal ending
            if not ending:
                ending = True
                await _say_and_end(worker, lines.get(language, lines["en"]))

        @transport.event_handler("on_client_connected")
        async def on_connected(_transport: Any, _ws: Any) -> None:
            await worker.queue_frame(TTSSpeakFrame(greeting(business, caller, language)))

        @transport.event_handler("on_client_disconnected")
        async def on_disconnected(_transport: Any, _ws: Any) -> None:
            await worker.cancel()

        # The idle timer runs while nobody speaks, from the end of the bot's turn: one re-prompt
        # after reprompt_secs, the goodbye once the silence adds up to hangup_secs.
        @user_aggregator.event_handler("on_user_turn_idle")
        async def on_idle(_aggregator: Any) -> None:
            nonlocal reprompted
            if ending:
                return
            if reprompted:
                await say_and_end(GOODBYES)
                return
            reprompted = True
            rest = silence.hangup_secs - silence.reprompt_secs + unheard
            await worker.queue_frames(
                [
                    UserIdleTimeoutUpdateFrame(rest),
                    TTSSpeakFrame(REPROMPTS.get(language, REPROMPTS["en"])),
                ]
            )

        @user_aggregator.event_handler("on_user_turn_started")
        async def on_speech(_aggregator: Any, _strategy: Any) -> None:
            nonlocal reprompted
            if reprompted:
                reprompted = False
                await worker.queue_frame(
                    UserIdleTimeoutUpdateFrame(silence.reprompt_secs + unheard)
                )

        async def time_limit() -> None:
            await asyncio.sleep(silence.max_call_secs)
            logger.info("call reached its time limit of {:g}s", silence.max_call_secs)
            await say_and_end(TIME_UP)

        limit = asyncio.create_task(time_limit(), name=f"time-limit-{call.call_uuid}")
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        try:
            await runner.run()
        finally:
            limit.cancel()
            await asyncio.gather(limit, return_exceptions=True)
            await tools.drain()

    def _serializer(self, call: CallSetup) -> PlivoCallSerializer:
        settings = self.resources.settings
        auth_id = settings.plivo_auth_id.get_secret_value() if settings.plivo_auth_id else None
        token = settings.plivo_auth_token.get_secret_value() if settings.plivo_auth_token else None
        hang_up = bool(auth_id and token)
        return PlivoCallSerializer(
            call.stream_id,
            call.call_uuid,
            auth_id,
            token,
            params=PlivoCallSerializer.InputParams(auto_hang_up=hang_up),
            session=self._http() if hang_up else None,
            api_url=settings.plivo_api_url,
        )

    def _transfer(
        self, call: CallSetup, serializer: PlivoCallSerializer
    ) -> Callable[[], Awaitable[bool]] | None:
        """The ``transfer_to_staff`` action, when the business has staff and Plivo is set up.

        From the moment the transfer is asked for, the serializer leaves the call up: Plivo
        runs the Dial XML of ``/plivo/transfer/{call_uuid}`` and closes our stream, maybe before
        its answer reaches us. Only a refusal (or a failed request) lets it hang up again; a
        request cut short leaves the call up, to Plivo (the stream's XML ends the call anyway).
        """
        settings = self.resources.settings
        plivo = PlivoApi.from_settings(settings, self._http())
        if call.business.staff_number is None or plivo is None:
            return None
        url = f"{settings.public_base_url}/plivo/transfer/{call.call_uuid}"

        async def transfer() -> bool:
            serializer.keep_call_up()
            accepted = await plivo.transfer(call.call_uuid, url)
            serializer.keep_call_up(accepted)
            return accepted

        return transfer

    def _tool_listener(self, call_uuid: str, recorder: CallRecorderObserver) -> ToolEvent:
        """The call record's tool hook, also telling the resources' listeners."""
        listeners = self.resources.tool_listeners

        def on_event(name: str, data: dict[str, Any]) -> None:
            recorder.tool_event(name, data)
            for listen in listeners:
                listen(call_uuid, name, data)

        return on_event

    async def _caller(self, call: CallSetup) -> Caller:
        return await known_caller(
            self._database(), call.business, call.caller_number, call.call_uuid
        )

    async def _write_record(self, call: CallSetup, caller: Caller, summary: CallSummary) -> None:
        database = self._database()
        try:
            await finish_call(database, call.call_uuid, summary, ended_at=self.clock())
            if call.caller_number is not None:
                booked = _booked(summary)
                await remember_caller(
                    database,
                    business_id=call.business.slug,
                    caller_hash=phone_hash(call.caller_number),
                    caller_masked=mask_phone(call.caller_number),
                    at=self.clock(),
                    name=booked.get("name"),
                    language=_language(summary) or caller.language,
                    party_size=booked.get("party_size"),
                )
        except Exception:
            logger.bind(call=call.call_uuid).exception("could not write the call record")

    def _database(self) -> Database:
        assert self.resources.database is not None, "the server has not started"
        return self.resources.database

    def _bookings(self) -> Bookings:
        assert self.resources.bookings is not None, "the server has not started"
        return self.resources.bookings

    def _http(self) -> aiohttp.ClientSession:
        assert self.resources.http is not None, "the server has not started"
        return self.resources.http


async def _say_and_end(worker: PipelineWorker, text: str) -> None:
    """Speak a last line, then end the call once it has played."""
    await worker.queue_frames([TTSSpeakFrame(text), EndFrame()])


def _booked(summary: CallSummary) -> dict[str, Any]:
    for call in reversed(summary.tool_calls):
        result = call.get("result")
        if call.get("name") == "book_reservation" and isinstance(result, dict):
            if result.get("status") == "booked":
                return result
    return {}


def _language(summary: CallSummary) -> str | None:
    for turn in reversed(summary.transcript):
        language = str(turn.get("language") or "")
        if turn.get("role") == "user" and language:
            return "hi" if language.startswith("hi") else "en"
    return None
