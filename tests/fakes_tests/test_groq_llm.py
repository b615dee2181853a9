import asyncio
import json
import time
from typing import Any

import aiohttp
import openai
import pytest
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import ErrorFrame, LLMContextFrame, LLMTextFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMAssistantAggregator
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.llm_service import FunctionCallParams
from pipecat.tests.utils import run_test

from tests.fakes.groq_llm import FakeGroq
from tests.fakes.groq_script import Failure, Reply, ToolCall
from tests.fakes_tests.harness import run_until

BOOK_TABLE: dict[str, Any] = {
    "name": "book_table",
    "description": "Book a table",
    "properties": {
        "party_size": {"type": "integer"},
        "time": {"type": "string"},
    },
    "required": ["party_size", "time"],
}


def llm_for(fake: FakeGroq, **kwargs: Any) -> GroqLLMService:
    return GroqLLMService(
        api_key="test",
        base_url=fake.openai_base_url,
        settings=GroqLLMService.Settings(model="llama-3.3-70b-versatile"),
        **kwargs,
    )


def text_of(frames) -> str:
    return "".join(f.text for f in frames if isinstance(f, LLMTextFrame))


async def test_tool_call_then_text_reply_with_pipecat() -> None:
    def script(body: dict[str, Any]) -> Reply:
        tool_results = [m for m in body["messages"] if m["role"] == "tool"]
        if tool_results:
            result = json.loads(tool_results[-1]["content"])
            return Reply(f"Booked, your reference is {result['ref']}.")
        return Reply(tool_calls=[ToolCall("book_table", {"party_size": 4, "time": "20:00"})])

    received: list[dict[str, Any]] = []

    async def book_table(params: FunctionCallParams) -> None:
        received.append(dict(params.arguments))
        await params.result_callback({"ref": "BK0001"})

    async with FakeGroq(script) as fake:
        llm = llm_for(fake)
        llm.register_function("book_table", book_table)
        context = LLMContext(
            messages=[{"role": "user", "content": "Table for four at eight"}],
            tools=[FunctionSchema(**BOOK_TABLE)],
        )
        pipeline = Pipeline([llm, LLMAssistantAggregator(context)])
        await run_until(
            pipeline, [LLMContextFrame(context)], lambda down, up: len(context.messages) >= 4
        )

    assert received == [{"party_size": 4, "time": "20:00"}]
    # The assistant aggregator keeps the LLM text; it ends up in the context.
    assert context.messages[-1] == {
        "role": "assistant",
        "content": "Booked, your reference is BK0001.",
    }
    first, second = fake.requests
    assert first.model == "llama-3.3-70b-versatile"
    assert first.tool_names == ["book_table"]
    assert first.body["stream"] is True
    assert first.body["stream_options"] == {"include_usage": True}
    assert first.authorization == "Bearer test"
    assert second.roles == ["user", "assistant", "tool"]
    assert json.loads(second.tool_messages[0]["content"]) == {"ref": "BK0001"}
    assert second.messages[1]["tool_calls"][0]["function"]["name"] == "book_table"


async def test_stream_shape_on_the_wire() -> None:
    reply = Reply(
        "Hi there.",
        tool_calls=[ToolCall("lookup", {"q": "x"}, id="call_1"), ToolCall("other", "{}")],
    )
    async with FakeGroq([reply]) as fake, aiohttp.ClientSession() as session:
        body = {
            "model": "m",
            "messages": [],
            "stream": True,
            "stream_options": {"include_usage": 1},
        }
        async with session.post(f"{fake.openai_base_url}/chat/completions", json=body) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/event-stream"
            raw = (await resp.read()).decode()

    events = [e.removeprefix("data: ") for e in raw.split("\n\n") if e]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == "Hi there."
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": ""},
    }
    args = "".join(c["function"]["arguments"] for c in calls if c["index"] == 0)
    assert json.loads(args) == {"q": "x"}
    assert sum(1 for c in calls if c["index"] == 0) > 2  # arguments split across chunks
    assert calls[-1]["index"] == 1
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_latency_and_pacing() -> None:
    text = "one two three four five six seven eight"
    async with (
        FakeGroq([Reply(text)], first_token_latency=0.2, tokens_per_second=40) as fake,
        aiohttp.ClientSession() as session,
    ):
        started = time.monotonic()
        body = {"model": "m", "messages": [], "stream": True}
        async with session.post(f"{fake.openai_base_url}/chat/completions", json=body) as resp:
            await resp.read()
        elapsed = time.monotonic() - started
    record = fake.requests[0]
    assert record.first_chunk_at is not None and record.finished_at is not None
    assert 0.19 <= record.first_chunk_at - record.received_at < 0.35
    # 8 words + finish chunk paced at 40/s after the role chunk
    assert 9 / 40 - 0.01 <= record.finished_at - record.first_chunk_at < 0.5
    assert elapsed < 1.0


async def test_http_500_is_retried_by_the_sdk() -> None:
    async with FakeGroq([Reply.fail(Failure.HTTP_500), Reply("Recovered.")]) as fake:
        llm = llm_for(fake)
        context = LLMContext(messages=[{"role": "user", "content": "hi"}])
        down, up = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    assert text_of(down) == "Recovered."
    assert [r.status for r in fake.requests] == [500, 200]
    assert not any(isinstance(f, ErrorFrame) for f in up)


async def test_rate_limit_honours_retry_after() -> None:
    script = [Reply.fail(Failure.RATE_LIMIT, retry_after=0.3), Reply("Ok.")]
    async with FakeGroq(script) as fake:
        llm = llm_for(fake)
        context = LLMContext(messages=[{"role": "user", "content": "hi"}])
        down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    assert text_of(down) == "Ok."
    first, second = fake.requests
    assert first.status == 429
    assert second.received_at - first.received_at >= 0.29


async def test_tool_use_failed_surfaces_as_error_frame() -> None:
    async with FakeGroq([Reply.fail(Failure.TOOL_USE_FAILED)]) as fake:
        llm = llm_for(fake)
        context = LLMContext(messages=[{"role": "user", "content": "hi"}])
        _, up = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "Failed to call a function" in errors[0].error
    # The code and failed_generation are only on the exception, not in the error text.
    assert isinstance(errors[0].exception, openai.BadRequestError)
    assert errors[0].exception.code == "tool_use_failed"
    assert isinstance(errors[0].exception.body, dict)
    assert "book_table" in errors[0].exception.body["failed_generation"]
    assert len(fake.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize("failure", [Failure.DROP_MID_STREAM, Failure.MALFORMED_CHUNK])
async def test_mid_stream_failures_give_partial_text_and_an_error(failure: Failure) -> None:
    reply = Reply.fail(failure, text="This answer will break somewhere in the middle of it.")
    async with FakeGroq([reply]) as fake:
        llm = llm_for(fake)
        context = LLMContext(messages=[{"role": "user", "content": "hi"}])
        down, up = await run_test(llm, frames_to_send=[LLMContextFrame(context)])
    partial = text_of(down)
    assert partial and reply.text.startswith(partial) and partial != reply.text
    assert any(isinstance(f, ErrorFrame) for f in up)
    assert len(fake.requests) == 1


async def test_stall_never_answers_until_stopped() -> None:
    fake = FakeGroq([Reply.fail(Failure.STALL)])
    await fake.start()
    async with aiohttp.ClientSession() as session:
        body = {"model": "m", "messages": [], "stream": True}
        post = asyncio.create_task(
            session.post(f"{fake.openai_base_url}/chat/completions", json=body)
        )
        await asyncio.sleep(0.3)
        assert not post.done()
        await fake.stop()
        with pytest.raises(aiohttp.ClientError):
            await post


async def test_script_exhausted_and_api_key_check() -> None:
    async with FakeGroq([], api_key="secret") as fake, aiohttp.ClientSession() as session:
        url = f"{fake.openai_base_url}/chat/completions"
        body = {"model": "m", "messages": [], "stream": True}
        async with session.post(url, json=body) as resp:
            assert resp.status == 401
        async with session.post(url, json=body, headers={"Authorization": "Bearer secret"}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "fake_script_exhausted"
