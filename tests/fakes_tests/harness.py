"""Run one pipecat processor until a condition holds, instead of sleeping a fixed time.

Like ``pipecat.tests.utils.run_test``, but it ends the pipeline as soon as ``until`` is true of
the frames seen so far (or after ``give_up_after`` seconds) instead of after fixed sleeps, which
keeps the tests fast and steady on a busy machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from pipecat.frames.frames import EndFrame, Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

Frames = list[Frame]


class _Capture(FrameProcessor):
    def __init__(self, frames: Frames, direction: FrameDirection, seen: asyncio.Event) -> None:
        super().__init__(enable_direct_mode=True)
        self._frames = frames
        self._direction = direction
        self._seen = seen

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == self._direction:
            self._frames.append(frame)
            self._seen.set()
        await self.push_frame(frame, direction)


async def run_until(
    processor: FrameProcessor,
    frames: Sequence[Frame],
    until: Callable[[Frames, Frames], bool],
    *,
    give_up_after: float = 4.0,
    params: PipelineParams | None = None,
) -> tuple[Frames, Frames]:
    """Push ``frames`` through ``processor``; end once ``until(down, up)`` or ``give_up_after``.

    Returns the frames that reached the end of the pipeline (down) and its start (up).
    """
    down: Frames = []
    up: Frames = []
    seen = asyncio.Event()
    pipeline = Pipeline(
        [
            _Capture(up, FrameDirection.UPSTREAM, seen),
            processor,
            _Capture(down, FrameDirection.DOWNSTREAM, seen),
        ]
    )
    worker = PipelineWorker(
        pipeline, params=params or PipelineParams(), enable_rtvi=False, cancel_on_idle_timeout=False
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: PipelineWorker, _frame: Frame) -> None:
        started.set()

    async def drive() -> None:
        await asyncio.wait_for(started.wait(), give_up_after)
        await worker.queue_frames(frames)
        try:
            async with asyncio.timeout(give_up_after):
                while not until(down, up):
                    seen.clear()
                    await seen.wait()
        except TimeoutError:
            pass  # the caller's assertions say what was missing
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), drive())
    return down, up
