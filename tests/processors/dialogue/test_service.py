import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    FunctionCallResultProperties,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMServiceMetadataFrame,
    LLMTextFrame,
    TTSSpeakFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams
from pipecat.tests.utils import run_test

from processors.dialogue import DialogueFacts, DialogueLLMService, Stage
from tests.processors.dialogue.pipeline import Conversation, user

KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))
NOW = dt.datetime(2026, 12, 3, 18, 0, tzinfo=KOLKATA)  # Thursday 3 December 2026
FACTS = DialogueFacts(business_name="Himalayan Kitchen", languages=("en", "hi"))


class FakeTools:
    """Async tool handlers answering with the shapes ``bot.tools.CallTools`` answers with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def schemas(self) -> list[FunctionSchema]:
        return [
            FunctionSchema("check_availability", "Check.", {}, [], handler=self.check),
            FunctionSchema("book_reservation", "Book.", {}, [], handler=self.book),
            FunctionSchema("end_call", "Hang up.", {}, [], handler=self.end_call),
        ]

    async def check(self, params: FunctionCallParams) -> None:
        self.calls.append((params.function_name, dict(params.arguments)))
        await asyncio.sleep(0.01)  # a real store takes a moment
        await params.result_callback(
            {"available": True, "reason": "available", "seats_left": 12, "alternatives": []}
        )

    async def book(self, params: FunctionCallParams) -> None:
        self.calls.append((params.function_name, dict(params.arguments)))
        await params.result_callback(
            {
                "code": "K7QD",
                "code_spelled": "K 7 Q D",
                "name": params.arguments["name"],
                "party_size": params.arguments["party_size"],
                "when": "2026-12-04 20:00 (Friday)",
                "status": "booked",
            }
        )

    async def end_call(self, params: FunctionCallParams) -> None:
        self.calls.append((params.function_name, dict(params.arguments)))
        await params.result_callback(
            {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
        )
        await params.llm.push_frame(TTSSpeakFrame(params.arguments["farewell"]))
        await params.llm.push_frame(EndWorkerFrame(reason="goodbye"), FrameDirection.UPSTREAM)


async def test_service_calls_tools_through_pipecat_and_speaks_their_results() -> None:
    tools = FakeTools()
    context = LLMContext(tools=ToolsSchema(standard_tools=tools.schemas()))
    llm = DialogueLLMService(FACTS, clock=lambda: NOW, language="en")
    call = Conversation(llm, context)
    capture, observer = call.capture, call.observer

    async def script(call: Conversation) -> None:
        await call.say("A table for 4 tomorrow at 8 pm please", until="May I have your name")
        await call.say("my name is Priya", until="Shall I book it?")
        await call.say("yes", until="K, 7, Q, D")
        await call.worker.queue_frame(user("no thanks, bye"))

    # The fake end_call ends the worker as the real one does.
    await call.run(script)

    assert tools.calls == [
        ("check_availability", {"date": "2026-12-04", "time": "20:00", "party_size": 4}),
        (
            "book_reservation",
            {
                "date": "2026-12-04",
                "time": "20:00",
                "party_size": 4,
                "name": "Priya",
                "confirmed_by_caller": True,
            },
        ),
        ("end_call", {"farewell": "Thank you for calling Himalayan Kitchen. Goodbye!"}),
    ]
    assert capture.text() == (
        "Good news, a table for 4 on Friday 4 December at 8 pm is available. May I have your "
        "name for the booking? So that is a table for 4 on Friday 4 December at 8 pm, under "
        "Priya. Shall I book it? Your table is booked. Your booking code is K, 7, Q, D. Is there "
        "anything else I can help with?"
    )
    assert any(isinstance(f, TTSSpeakFrame) and f.text.endswith("Goodbye!") for f in capture.frames)
    # Every reply is a complete LLM response, as the TTS and the context aggregator expect.
    starts = sum(isinstance(f, LLMFullResponseStartFrame) for f in capture.frames)
    ends = sum(isinstance(f, LLMFullResponseEndFrame) for f in capture.frames)
    assert starts == ends >= 5
    # The call recorder sees each call and its result.
    seen = [(type(f).__name__, f.function_name) for f in observer.frames]
    assert seen[:4] == [
        ("FunctionCallInProgressFrame", "check_availability"),
        ("FunctionCallResultFrame", "check_availability"),
        ("FunctionCallInProgressFrame", "book_reservation"),
        ("FunctionCallResultFrame", "book_reservation"),
    ]
    # The context holds the calls and results as for a model, so a later LLM could take over.
    messages: list[Any] = context.get_messages()
    tool_results = [m for m in messages if m.get("role") == "tool"]
    assert json.loads(str(tool_results[0]["content"]))["available"] is True
    assert llm.manager.ended
    # After each reply the recogniser upstream hears what was asked for.
    assert observer.topics == [None, "name", "yes_no", "yes_no", None, None]


async def test_service_apologises_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = DialogueLLMService(FACTS, clock=lambda: NOW)

    def broken(_text: str) -> list[Any]:
        raise RuntimeError("a bug in the engine")

    monkeypatch.setattr(llm.manager, "hear", broken)
    context = LLMContext(messages=[{"role": "user", "content": "table for two"}])
    down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    response = [f for f in down if not isinstance(f, LLMServiceMetadataFrame)]
    assert [type(f) for f in response] == [
        LLMFullResponseStartFrame,
        LLMTextFrame,
        LLMFullResponseEndFrame,
    ]
    assert _texts(response)[0].startswith("Sorry, I didn't quite catch that.")


async def test_service_reads_only_what_is_new_in_the_context() -> None:
    llm = DialogueLLMService(FACTS, clock=lambda: NOW)
    context = LLMContext(messages=[{"role": "user", "content": "I'd like to book a table"}])
    frames: Sequence[Frame] = [LLMContextFrame(context)]
    down, _ = await run_test(llm, frames_to_send=frames)
    assert _texts(down) == ["Sure. For how many people?"]

    context.add_message({"role": "assistant", "content": "Sure. For how many people?"})
    context.add_message({"role": "user", "content": [{"type": "text", "text": "three"}]})
    down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    assert _texts(down) == ["Which day, and at what time?"]
    assert llm.manager.stage is Stage.COLLECT

    down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    assert _texts(down) == []  # nothing new: an empty response, not the question again


async def test_service_keeps_a_speculative_turn_only_once_it_is_confirmed() -> None:
    llm = DialogueLLMService(FACTS, clock=lambda: NOW)
    spoken: Any = {"role": "user", "content": "I'd like to book a table"}
    speculated = LLMContext(messages=[spoken])
    await run_test(llm, frames_to_send=[LLMContextFrame(speculated, speculation=True)])
    assert llm.manager.stage is Stage.IDLE  # the real conversation has not moved yet

    # The turn was confirmed as speculated, and the caller went on with a bare number,
    # which only the adopted state reads as the party size it asked for.
    confirmed = LLMContext(messages=[spoken, {"role": "user", "content": "4"}])
    down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(confirmed)])
    assert _texts(down) == ["Which day, and at what time?"]
    assert llm.manager.draft.party == 4


def _texts(frames: Sequence[Frame]) -> list[str]:
    return [f.text for f in frames if isinstance(f, LLMTextFrame)]


async def test_service_passes_other_frames_through() -> None:
    llm = DialogueLLMService(FACTS, clock=lambda: NOW)
    down, _ = await run_test(llm, frames_to_send=[TTSSpeakFrame("hello")])
    assert [f.text for f in down if isinstance(f, TTSSpeakFrame)] == ["hello"]
    assert not any(isinstance(f, LLMFullResponseStartFrame) for f in down)
