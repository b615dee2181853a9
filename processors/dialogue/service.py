"""A pipecat LLM service that runs the deterministic dialogue engine instead of a model.

It sits where the LLM sits and behaves like one: on each ``LLMContextFrame`` it reads what is
new in the context (the caller's words, and results of the tools it called), asks the
:class:`~processors.dialogue.manager.DialogueManager` what to do, and answers with
``LLMFullResponseStartFrame``, ``LLMTextFrame``, ``LLMFullResponseEndFrame`` and tool calls
made through ``LLMService.run_function_calls``, the path every pipecat LLM uses: the handlers
the context advertises run, and ``FunctionCallInProgressFrame``/``FunctionCallResultFrame``
reach the context aggregator (which re-runs this service with the result) and any observer.
After each reply it tells the speech recogniser upstream what it asked for
(:class:`~frames.listening.ListeningForFrame`).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallFromLLM, LLMService
from pipecat.services.settings import LLMSettings

from frames.listening import ListeningForFrame
from processors.dialogue.facts import DialogueFacts
from processors.dialogue.manager import Action, CallTool, Clock, DialogueManager, Say

MODEL = "vartalaap-dialogue"
"""The model name the service reports (in metrics and the service metadata)."""
IN_PROGRESS = "IN_PROGRESS"
"""What pipecat's context holds for a tool call until its result arrives."""


@dataclass
class _Conversation:
    """The engine and how much of the context it has read; copied for speculative turns."""

    manager: DialogueManager
    read_upto: int = 0
    calls: dict[str, CallTool] = field(default_factory=dict)  # tool_call_id -> awaiting result
    heard: list[str] = field(default_factory=list)  # user texts read by the last step

    def step(self, messages: Sequence[Any]) -> list[tuple[Action, str | None]]:
        """Feed what is new in ``messages`` to the manager; its actions with tool call ids."""
        self.heard = []
        if self.read_upto > len(messages):
            self.read_upto = len(messages)  # the context was replaced: read only what comes
        actions: list[Action] = []
        users: list[str] = []
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            if role == "tool" and message.get("tool_call_id") in self.calls:
                content = message.get("content")
                if content == IN_PROGRESS:
                    continue
                actions += self._hear_users(users)
                call = self.calls.pop(str(message["tool_call_id"]))
                actions += self.manager.tool_result(call.name, call.arguments, content)
            elif role == "user" and index >= self.read_upto:
                text = _text(message).strip()
                if text:
                    users.append(text)
        actions += self._hear_users(users)
        self.read_upto = len(messages)
        with_ids: list[tuple[Action, str | None]] = []
        for action in actions:
            call_id = None
            if isinstance(action, CallTool):
                call_id = f"dialogue-{uuid.uuid4().hex[:16]}"
                self.calls[call_id] = action
            with_ids.append((action, call_id))
        return with_ids

    def _hear_users(self, users: list[str]) -> list[Action]:
        if not users:
            return []
        text = ". ".join(users)  # turns said back to back are read as one utterance
        self.heard.append(text)
        users.clear()
        return self.manager.hear(text)


class DialogueLLMService(LLMService):
    """An ``LLMService`` whose replies come from the rule-based dialogue engine.

    One instance serves one call: the conversation's state lives in it. It never raises into
    the pipeline; if the engine fails, the caller hears an apology and the last question.

    Args:
        facts: The business's facts and what is known of the caller.
        clock: The current instant (aware); defaults to the system clock.
        language: The language to start in (``"en"`` or ``"hi"``).
        **kwargs: Passed on to ``LLMService`` (e.g. ``name``).
    """

    def __init__(
        self,
        facts: DialogueFacts,
        *,
        clock: Clock | None = None,
        language: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("settings", _settings())
        super().__init__(**kwargs)
        manager = DialogueManager(facts, clock or (lambda: dt.datetime.now(dt.UTC)), language)
        self._conversation = _Conversation(manager)
        self._speculative: tuple[_Conversation, int] | None = None

    @property
    def manager(self) -> DialogueManager:
        """The engine of this call (its state, for tests and the call record)."""
        return self._conversation.manager

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer an ``LLMContextFrame``; pass every other frame on."""
        await super().process_frame(frame, direction)

        if isinstance(frame, LLMContextFrame):
            await self._respond(frame.context, speculative=frame.speculation)
        else:
            await self.push_frame(frame, direction)

    async def _respond(self, context: LLMContext, *, speculative: bool) -> None:
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        try:
            actions = self._step(context.get_messages(), speculative=speculative)
            text = " ".join(action.text for action, _ in actions if isinstance(action, Say))
            if text:
                await self.push_frame(LLMTextFrame(text))
            calls = [
                FunctionCallFromLLM(
                    function_name=action.name,
                    tool_call_id=call_id,
                    arguments=dict(action.arguments),
                    context=context,
                )
                for action, call_id in actions
                if isinstance(action, CallTool) and call_id is not None
            ]
            if calls:
                await self.run_function_calls(calls)
        except Exception as exc:  # the caller must hear something, never a dead line
            logger.exception(f"{self}: the dialogue engine failed")
            await self.push_error(f"dialogue engine failed: {exc}", exception=exc)
        finally:
            await self.stop_processing_metrics()
            await self.push_frame(LLMFullResponseEndFrame())
        conversation = self._speculative[0] if speculative and self._speculative else None
        if conversation is not None or not speculative:
            topic = (conversation or self._conversation).manager.listening_for
            await self.push_frame(ListeningForFrame(topic), FrameDirection.UPSTREAM)

    def _step(
        self, messages: Sequence[Any], *, speculative: bool
    ) -> list[tuple[Action, str | None]]:
        """Run the engine on the context, on a copy when the turn is only speculated.

        A speculative inference answers a turn the caller may not have finished; its answer is
        held back and dropped if the turn goes on. So it runs on a copy of the conversation,
        which is adopted later only if the context shows the speculated words were kept.
        """
        if speculative:
            shadow = copy.deepcopy(self._conversation)
            actions = self._safely(shadow, messages)
            if any(isinstance(action, CallTool) for action, _ in actions):
                self._speculative = None  # pipecat withdraws a speculation that calls tools
            else:
                self._speculative = (shadow, len(messages))
            return actions
        self._adopt_speculation(messages)
        return self._safely(self._conversation, messages)

    def _adopt_speculation(self, messages: Sequence[Any]) -> None:
        if self._speculative is None:
            return
        shadow, length = self._speculative
        self._speculative = None
        confirmed = [
            _text(message).strip()
            for message in messages[self._conversation.read_upto : length]
            if isinstance(message, dict) and message.get("role") == "user"
        ]
        if confirmed and ". ".join(confirmed) == ". ".join(shadow.heard):
            self._conversation = shadow

    @staticmethod
    def _safely(
        conversation: _Conversation, messages: Sequence[Any]
    ) -> list[tuple[Action, str | None]]:
        try:
            return conversation.step(messages)
        except Exception:
            logger.exception("dialogue engine failed on its input; apologising")
            conversation.read_upto = len(messages)
            return [(action, None) for action in conversation.manager.recover()]


def _text(message: dict[str, Any]) -> str:
    """The text of a context message, whether its content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _settings() -> LLMSettings:
    """Settings with every field given: none of a model's knobs apply to the engine."""
    return LLMSettings(
        model=MODEL,
        system_instruction=None,
        temperature=None,
        max_tokens=None,
        top_p=None,
        top_k=None,
        frequency_penalty=None,
        presence_penalty=None,
        seed=None,
        filter_incomplete_user_turns=False,
        user_turn_completion_config=None,
    )
