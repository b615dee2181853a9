"""Fake Groq chat completions (OpenAI-compatible), streamed as server-sent events.

Point pipecat at it with ``GroqLLMService(api_key=..., base_url=fake.openai_base_url)``, which
is ``f"{base_url}/openai/v1"``; requests then go to ``POST /openai/v1/chat/completions``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from loguru import logger

from tests.fakes.groq_script import ChunkFactory, Failure, Reply, error_body, estimate_tokens
from tests.fakes.server import FakeServer, drop_connection

ReplyFn = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]
"""Chooses the reply from the request body (e.g. speak the result after a ``tool`` message)."""

_MID_STREAM = (Failure.STALL_MID_STREAM, Failure.DROP_MID_STREAM, Failure.MALFORMED_CHUNK)
_HTTP_ERRORS = (Failure.HTTP_500, Failure.RATE_LIMIT, Failure.TOOL_USE_FAILED)


@dataclass
class ChatRequest:
    """One request the fake received, with what it answered and when."""

    index: int
    body: dict[str, Any]
    authorization: str | None
    path: str
    received_at: float = field(default_factory=time.monotonic)
    reply: Reply | None = None
    status: int = 200
    first_chunk_at: float | None = None
    finished_at: float | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's ``messages``."""
        return list(self.body.get("messages") or [])

    @property
    def roles(self) -> list[str]:
        """Roles of the messages, in order."""
        return [str(m.get("role")) for m in self.messages]

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The request's ``tools`` (empty when none were sent)."""
        return list(self.body.get("tools") or [])

    @property
    def tool_names(self) -> list[str]:
        """Names of the functions offered as tools."""
        return [str(t.get("function", {}).get("name")) for t in self.tools]

    @property
    def model(self) -> str:
        """The requested model."""
        return str(self.body.get("model", ""))

    @property
    def tool_messages(self) -> list[dict[str, Any]]:
        """The ``tool`` role messages (function results) in the request."""
        return [m for m in self.messages if m.get("role") == "tool"]


class FakeGroq(FakeServer):
    """Groq's ``/openai/v1/chat/completions`` look-alike, answering from a script of ``Reply``s.

    ``script`` is a list consumed one reply per request (a 400 ``fake_script_exhausted`` error
    after the last) or a function of the request JSON returning a ``Reply`` (maybe awaitable).
    Streams like Groq/OpenAI: a role chunk, content chunks, tool-call chunks with the arguments
    split, a finish chunk (``stop``/``tool_calls``), a usage chunk when
    ``stream_options.include_usage`` is set, then ``data: [DONE]``. ``first_token_latency`` delays
    the first chunk; ``tokens_per_second`` paces the following ones (unlimited when None).
    A reply's ``failure`` makes that request fail instead (see ``Failure``). Note that the
    OpenAI SDK retries 5xx and 429 answers itself, each retry consuming the next reply.
    """

    def __init__(
        self,
        script: Sequence[Reply] | ReplyFn = (),
        *,
        first_token_latency: float = 0.0,
        tokens_per_second: float | None = None,
        api_key: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.script = script
        self.first_token_latency = first_token_latency
        self.tokens_per_second = tokens_per_second
        self.api_key = api_key
        self.requests: list[ChatRequest] = []
        self._next_reply = 0

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` to give ``GroqLLMService`` (``.../openai/v1``)."""
        return f"{self.base_url}/openai/v1"

    def add_routes(self, app: web.Application) -> None:
        """Serve the Groq path and the plain OpenAI one."""
        app.router.add_post("/openai/v1/chat/completions", self._handle)
        app.router.add_post("/v1/chat/completions", self._handle)

    async def _choose(self, body: dict[str, Any]) -> Reply | None:
        if callable(self.script):
            chosen = self.script(body)
            return await chosen if inspect.isawaitable(chosen) else chosen
        index = self._next_reply
        if index >= len(self.script):
            return None
        self._next_reply += 1
        return self.script[index]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        record = ChatRequest(
            index=len(self.requests),
            body=body,
            authorization=request.headers.get("Authorization"),
            path=request.path,
        )
        self.requests.append(record)
        if self.api_key is not None and record.authorization != f"Bearer {self.api_key}":
            return self._error(record, 401, "Invalid API Key", "invalid_api_key")
        reply = await self._choose(body)
        if reply is None:
            logger.error("FakeGroq: script exhausted")
            return self._error(record, 400, "FakeGroq script exhausted", "fake_script_exhausted")
        record.reply = reply
        model = str(body.get("model", ""))
        if reply.failure in _HTTP_ERRORS:
            assert reply.failure is not None
            status, error = error_body(reply.failure, reply, model)
            record.status = status
            record.finished_at = time.monotonic()
            headers = {}
            if reply.failure is Failure.RATE_LIMIT:
                headers["retry-after"] = f"{reply.retry_after:g}"
            return web.json_response(error, status=status, headers=headers)
        if reply.failure is Failure.STALL:
            await self.wait_stopping()
            drop_connection(request)
            return web.Response(status=504)
        factory = ChunkFactory(model=model, created=int(time.time()))
        usage = self._usage(body, reply)
        if not body.get("stream"):
            await asyncio.sleep(self._first_latency(reply))
            record.finished_at = time.monotonic()
            return web.json_response(factory.completion(reply, usage))
        return await self._stream(request, record, reply, factory, usage)

    def _error(self, record: ChatRequest, status: int, message: str, code: str) -> web.Response:
        record.status = status
        error = {"message": message, "type": "invalid_request_error", "code": code}
        return web.json_response({"error": error}, status=status)

    def _first_latency(self, reply: Reply) -> float:
        if reply.first_token_latency is not None:
            return reply.first_token_latency
        return self.first_token_latency

    def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt = estimate_tokens(json.dumps(body.get("messages", [])))
        completion = estimate_tokens(reply.text) + sum(
            estimate_tokens(c.name + c.arguments_json) for c in reply.tool_calls
        )
        return {
            "queue_time": 0.01,
            "prompt_tokens": prompt,
            "prompt_time": 0.002,
            "completion_tokens": completion,
            "completion_time": 0.05,
            "total_tokens": prompt + completion,
            "total_time": 0.052,
        }

    async def _stream(
        self,
        request: web.Request,
        record: ChatRequest,
        reply: Reply,
        factory: ChunkFactory,
        usage: dict[str, Any],
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "x-request-id": factory.request_id,
            },
        )
        await response.prepare(request)
        chunks = list(factory.reply_chunks(reply))
        if (request_options := record.body.get("stream_options")) and request_options.get(
            "include_usage"
        ):
            chunks.append(factory.usage_chunk(usage))
        fail_at = max(2, len(chunks) // 2) if reply.failure in _MID_STREAM else None
        gap = 1.0 / self.tokens_per_second if self.tokens_per_second else 0.0
        await asyncio.sleep(self._first_latency(reply))
        for i, chunk in enumerate(chunks):
            if i == fail_at:
                return await self._fail_mid_stream(request, response, reply)
            if i > 0 and gap:
                await asyncio.sleep(gap)
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if record.first_chunk_at is None:
                record.first_chunk_at = time.monotonic()
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        record.finished_at = time.monotonic()
        return response

    async def _fail_mid_stream(
        self, request: web.Request, response: web.StreamResponse, reply: Reply
    ) -> web.StreamResponse:
        if reply.failure is Failure.MALFORMED_CHUNK:
            await response.write(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"con\n\n')
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response
        if reply.failure is Failure.STALL_MID_STREAM:
            await self.wait_stopping()
        drop_connection(request)
        return response
