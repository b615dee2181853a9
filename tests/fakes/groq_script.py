"""Scripted replies for ``FakeGroq`` and the OpenAI-style chunks they stream as."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Failure(StrEnum):
    """Ways a single chat-completion request can fail."""

    HTTP_500 = "http_500"  # 500 JSON error (the OpenAI SDK retries it, twice by default)
    RATE_LIMIT = "rate_limit"  # 429 with retry-after (retried after that delay)
    STALL = "stall"  # never answers, not even headers, until the fake stops
    STALL_MID_STREAM = "stall_mid_stream"  # streams part of the reply, then hangs
    DROP_MID_STREAM = "drop_mid_stream"  # streams part of the reply, then aborts the TCP connection
    MALFORMED_CHUNK = "malformed_chunk"  # streams part, then a ``data:`` line that is not JSON
    TOOL_USE_FAILED = "tool_use_failed"  # Groq's 400 ``tool_use_failed`` with failed_generation


@dataclass(frozen=True)
class ToolCall:
    """A function call the model "decides" to make; ``arguments`` is a dict or raw JSON text."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON string the API carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text and/or tool calls, or a failure.

    ``retry_after`` is the 429 header value in seconds; ``failed_generation`` is the text Groq
    reports for ``tool_use_failed``; ``first_token_latency`` overrides the fake's default for
    this reply.
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    failure: Failure | None = None
    retry_after: float = 1.0
    failed_generation: str = '<function=book_table{"party_size": "four"}</function>'
    first_token_latency: float | None = None

    @classmethod
    def fail(cls, failure: Failure, **kwargs: Any) -> Reply:
        """A reply that fails in the given way (text is streamed first for mid-stream faults)."""
        return cls(failure=failure, **kwargs)

    @classmethod
    def call(cls, name: str, text: str = "", **arguments: Any) -> Reply:
        """A reply with one tool call (keyword arguments become the call's arguments)."""
        return cls(text=text, tool_calls=(ToolCall(name, arguments),))

    @property
    def finish_reason(self) -> str:
        """``tool_calls`` when the reply calls tools, else ``stop``."""
        return "tool_calls" if self.tool_calls else "stop"


def split_text(text: str) -> list[str]:
    """Split text into token-like pieces that keep their leading whitespace."""
    return re.findall(r"\s*[\w']+|\s*[^\w\s]|\s+$", text)


def split_arguments(arguments: str, pieces: int = 3) -> list[str]:
    """Split a JSON string into a few fragments, as OpenAI streams tool-call arguments."""
    if not arguments:
        return [""]
    size = max(1, -(-len(arguments) // pieces))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def new_call_id() -> str:
    """A tool call id in Groq's style."""
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ChunkFactory:
    """Builds ``chat.completion.chunk`` objects sharing one id, model and timestamp."""

    model: str
    created: int
    completion_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4()}")
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex[:26]}")

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """One streamed chunk with a single choice."""
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake0001",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
            "x_groq": {"id": self.request_id},
        }

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        """The trailing chunk with empty ``choices`` sent when ``include_usage`` is set."""
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake0001",
            "choices": [],
            "usage": usage,
            "x_groq": {"id": self.request_id, "usage": usage},
        }

    def reply_chunks(self, reply: Reply) -> Iterator[dict[str, Any]]:
        """The role chunk, content chunks, tool-call chunks and the finishing chunk."""
        yield self.chunk({"role": "assistant", "content": ""})
        for piece in split_text(reply.text):
            yield self.chunk({"content": piece})
        for index, call in enumerate(reply.tool_calls):
            fragments = split_arguments(call.arguments_json)
            yield self.chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id or new_call_id(),
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
            for fragment in fragments:
                yield self.chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                )
        yield self.chunk({}, finish_reason=reply.finish_reason)

    def completion(self, reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
        """A non-streamed ``chat.completion`` object (for ``stream: false`` requests)."""
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or new_call_id(),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for call in reply.tool_calls
            ]
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake0001",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": usage,
            "x_groq": {"id": self.request_id},
        }


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token), for the usage numbers."""
    return max(1, -(-len(text) // 4)) if text else 0


def error_body(failure: Failure, reply: Reply, model: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the HTTP error for a failing reply."""
    if failure is Failure.RATE_LIMIT:
        return 429, {
            "error": {
                "message": (
                    f"Rate limit reached for model `{model}` in organization `org_fake` on "
                    f"tokens per minute (TPM): Limit 6000, Used 5990, Requested 120. "
                    f"Please try again in {reply.retry_after}s."
                ),
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        }
    if failure is Failure.TOOL_USE_FAILED:
        return 400, {
            "error": {
                "message": (
                    "Failed to call a function. Please adjust your prompt. "
                    "See 'failed_generation' for more details."
                ),
                "type": "invalid_request_error",
                "code": "tool_use_failed",
                "failed_generation": reply.failed_generation,
            }
        }
    return 500, {"error": {"message": "Internal Server Error", "type": "internal_server_error"}}
