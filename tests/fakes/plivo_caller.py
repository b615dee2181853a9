"""The simulated Plivo caller of :mod:`bot.simulated_caller`, able to speak the test fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.simulated_caller import SimulatedCaller, Turn
from tests.fakes.audio import load_utterance


class FakePlivoCaller(SimulatedCaller):
    """A :class:`~bot.simulated_caller.SimulatedCaller` that also says recorded fixtures.

    ``on_line``, if given, is told each fixture's audio (PCM16, 8 kHz) before it is spoken:
    ``FakeDeepgramListen.hear_line`` takes it, to transcribe a line the VAD splits in parts.
    """

    def __init__(self, *args: Any, on_line: Callable[[bytes], None] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.on_line = on_line

    async def say_utterance(self, name: str, *, wait: bool = True) -> Turn:
        """Speak one of the recorded fixtures in ``tests/fakes/audio``."""
        pcm = load_utterance(name)
        if self.on_line is not None:
            self.on_line(pcm)
        return await self.say(pcm, wait=wait)
