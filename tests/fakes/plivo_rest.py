"""The fake Plivo REST API is the simulated one of :mod:`bot.simulated_caller.plivo_api`."""

from bot.simulated_caller.plivo_api import CALL_PATH, HangupHook, PlivoApiRequest
from bot.simulated_caller.plivo_api import SimulatedPlivoApi as FakePlivoApi

__all__ = ["CALL_PATH", "FakePlivoApi", "HangupHook", "PlivoApiRequest"]
