"""A simulated phone caller that calls the server exactly as Plivo does.

Signed answer and hangup webhooks, the one-time stream token, the ``<Stream>`` websocket with
20 ms μ-law frames at real-time pace (or as fast as possible), and a model of Plivo's playout
buffer for the bot's audio. It measures greeting latency, per-turn latency and playout
underruns, and keeps the bot's audio. :class:`SimulatedPlivoApi` stands in for Plivo's REST
API, so that the bot's hang-up reaches the caller. ``python -m bot demo``, the end-to-end
tests and load runs use it.
"""

from bot.simulated_caller.caller import (
    CALLER_RATE,
    FRAME_SECS,
    ReceivedEvent,
    SimulatedCaller,
    Turn,
    WebhookResult,
)
from bot.simulated_caller.loopback import LoopbackServer
from bot.simulated_caller.playout import BotAudio, Playout, Underrun
from bot.simulated_caller.plivo_api import SimulatedPlivoApi
from bot.simulated_caller.signing import SignatureMode

__all__ = [
    "CALLER_RATE",
    "FRAME_SECS",
    "BotAudio",
    "LoopbackServer",
    "Playout",
    "ReceivedEvent",
    "SignatureMode",
    "SimulatedCaller",
    "SimulatedPlivoApi",
    "Turn",
    "Underrun",
    "WebhookResult",
]
