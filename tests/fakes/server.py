"""Base class of the fakes: :class:`bot.simulated_caller.loopback.LoopbackServer`."""

from bot.simulated_caller.loopback import LoopbackServer as FakeServer
from bot.simulated_caller.loopback import drop_connection

__all__ = ["FakeServer", "drop_connection"]
