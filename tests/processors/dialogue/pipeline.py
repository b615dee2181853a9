"""A small pipeline around the dialogue service: the assistant aggregator feeds tool results
back, as in a call, and a capture keeps what the service said."""

import asyncio
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    Frame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    LLMMessagesAppendFrame,
    LLMTextFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMAssistantAggregator
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from frames.listening import ListeningForFrame
from processors.dialogue import DialogueLLMService


class Capture(FrameProcessor):
    """Keeps every frame passing downstream and tells waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self.changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.frames.append(frame)
            self.changed.set()
        await self.push_frame(frame, direction)

    def text(self, since: int = 0) -> str:
        """What the service said, from frame number ``since`` on."""
        return " ".join(f.text for f in self.frames[since:] if isinstance(f, LLMTextFrame))

    async def wait_for(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(5.0):
            while not check():
                self.changed.clear()
                await self.changed.wait()


class FunctionCallFrames(BaseObserver):
    """Sees the function-call frames the service pushes, as the call recorder would, and the
    topics it sends up to the recogniser."""

    def __init__(self, source: FrameProcessor) -> None:
        super().__init__()
        self._source = source
        self.frames: list[FunctionCallInProgressFrame | FunctionCallResultFrame] = []
        self.topics: list[str | None] = []  # what it told the recogniser it asked for

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if data.source is self._source and isinstance(frame, ListeningForFrame):
            assert data.direction == FrameDirection.UPSTREAM
            self.topics.append(frame.topic)
        if data.source is self._source and data.direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, FunctionCallInProgressFrame | FunctionCallResultFrame):
                self.frames.append(frame)


class Conversation:
    """``DialogueLLMService`` → capture → assistant aggregator, run by a real worker."""

    def __init__(self, llm: DialogueLLMService, context: LLMContext) -> None:
        self.llm = llm
        self.context = context
        self.capture = Capture()
        self.observer = FunctionCallFrames(llm)
        self.worker = PipelineWorker(
            Pipeline([llm, self.capture, LLMAssistantAggregator(context)]),
            params=PipelineParams(),
            enable_rtvi=False,
            observers=[self.observer],
            cancel_on_idle_timeout=False,
        )

    async def say(self, text: str, *, until: str) -> None:
        """The caller says ``text``; wait until the bot answers with ``until`` in its words."""
        since = len(self.capture.frames)
        await self.worker.queue_frame(user(text))
        await self.capture.wait_for(lambda: until in self.capture.text(since))

    async def run(self, script: Callable[["Conversation"], Awaitable[None]]) -> None:
        """Run the worker while ``script`` talks; the script must end the call."""
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self.worker)
        await asyncio.wait_for(asyncio.gather(runner.run(), script(self)), timeout=10)


def user(text: str) -> LLMMessagesAppendFrame:
    """A caller turn written into the context, running the LLM as a user turn does."""
    return LLMMessagesAppendFrame([{"role": "user", "content": text}], run_llm=True)
