"""The simulated Plivo caller of :mod:`bot.simulated_caller`, able to speak the test fixtures."""

from __future__ import annotations

from bot.simulated_caller import SimulatedCaller, Turn
from tests.fakes.audio import load_utterance


class FakePlivoCaller(SimulatedCaller):
    """A :class:`~bot.simulated_caller.SimulatedCaller` that also says recorded fixtures."""

    async def say_utterance(self, name: str, *, wait: bool = True) -> Turn:
        """Speak one of the recorded fixtures in ``tests/fakes/audio``."""
        return await self.say(load_utterance(name), wait=wait)
