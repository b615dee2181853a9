"""Scenarios' audio mode: the caller's lines spoken over the simulated phone line.

Each line is synthesised in the simulated caller's voice (:mod:`bot.simulated_caller.voice`:
Flite's recorded voice where installed, else espeak-ng) and said by a simulated Plivo caller
through the real server (:class:`bot.local_phone.LocalPhone`: signed webhook, stream token,
websocket, 8 kHz μ-law), where the embedded pocketsphinx recogniser hears it and the local
dialogue engine answers. The run records what the recogniser heard of each line, the bot's
words, its tool calls and the caller-measured latency, and the word error rate of the recogniser
over the scenario. The clock is the scenario's, and so is the language the call starts in, as in
text mode. English only: pocketsphinx ships no Hindi model.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from bot.scenario_checks import ScenarioRun, ToolCall, TurnRun
    from bot.scenario_spec import Scenario, Turn
    from bot.simulated_caller import SimulatedCaller

SPEECH_PACE = 4.0
"""The caller speaks this many times faster than real time (the bot still speaks in time)."""
WITHHELD = "anonymous"
"""What Plivo sends as ``From`` for a withheld number."""
GREETING_TIMEOUT_SECS = 20.0
REPLY_TIMEOUT_SECS = 20.0
SPEAKING_TIMEOUT_SECS = 90.0
QUIET_SECS = 0.6
"""The bot has finished a reply once its audio has played and none came for this long."""
HANG_UP_GRACE_SECS = 5.0
"""How long a caller the script expects to be hung up on waits for it after the goodbye."""
ENGINE = "the local dialogue engine, over the simulated phone line"


@dataclass
class _Conversation:
    """What the observer and the tool listener saw, by script turn (-1: before the first)."""

    turn: int = -1
    heard: dict[int, list[str]] = field(default_factory=dict)
    said: dict[int, list[str]] = field(default_factory=dict)
    tools: list[ToolCall] = field(default_factory=list)

    def hear(self, text: str) -> None:
        self.heard.setdefault(self.turn, []).append(text)

    def say(self, text: str) -> None:
        self.said.setdefault(self.turn, []).append(text)

    def heard_in(self, turn: int) -> str:
        return " ".join(self.heard.get(turn, []))

    def said_in(self, turn: int) -> str:
        return " ".join(" ".join(self.said.get(turn, [])).split())


async def run_audio(
    scenario: Scenario, settings: Settings, database_url: str, caller_voice: str = "auto"
) -> ScenarioRun:
    """Audio mode: play the scenario as a phone call on this machine (see the module).

    ``caller_voice`` is the engine the caller's lines are spoken with
    (:data:`bot.simulated_caller.voice.ENGINES`).
    """
    from bot.config import BusinessDirectory
    from bot.local_phone import LocalPhone, conversation_observer
    from bot.scenario_checks import ScenarioRun, ToolCall
    from bot.simulated_caller.voice import caller_speech
    from processors.language_model import word_errors, words_of

    spec, business = scenario.spec, scenario.business
    conversation = _Conversation()

    def on_tool(_call_uuid: str, name: str, data: dict[str, Any]) -> None:
        conversation.tools.append(ToolCall.from_event(name, data, conversation.turn))

    speech = {
        index: await caller_speech(turn.say, "en", 8000, engine=caller_voice)
        for index, turn in enumerate(spec.turns)
        if turn.say is not None
    }
    if spec.language is not None and spec.language != business.default_language:
        # As text mode's call starts in the scenario's language, so does this one: the business
        # is served with that language first (a number answered in it).
        others = tuple(lang for lang in business.languages if lang != spec.language)
        business = business.model_copy(update={"languages": (spec.language, *others)})
    phone = LocalPhone(
        settings.model_copy(update={"database_url": database_url}),
        directory=BusinessDirectory([business], source=settings.bots_path),
        observers=[
            lambda _call_uuid: conversation_observer(heard=conversation.hear, said=conversation.say)
        ],
        tool_listeners=[on_tool],
        clock=scenario.clock,
    )
    async with phone:
        caller = phone.dial(business, spec.caller or WITHHELD, speech_pace=SPEECH_PACE)
        async with caller:
            await caller.start()
            async with asyncio.timeout(GREETING_TIMEOUT_SECS):
                await caller.wait_for_bot_audio()
            await _bot_finished(caller)
            turns = [
                await _play(caller, turn, index, speech.get(index), conversation)
                for index, turn in enumerate(spec.turns)
            ]
            hung_up = any(t.kind == "hang_up" and t.played for t in turns)
            ended_by_bot = not caller.connected and not hung_up
            if caller.connected:
                await caller.hang_up()
        log = await phone.finished_call(caller.call_uuid)
    said = [t.caller or "" for t in turns if t.kind == "say" and t.played]
    heard = [t.heard or "" for t in turns if t.kind == "say" and t.played]
    words = sum(len(words_of(line)) for line in said)
    errors = sum(word_errors(line, text) for line, text in zip(said, heard, strict=True))
    return ScenarioRun(
        mode="audio",
        engine=ENGINE,
        greeting=conversation.said_in(-1),
        turns=turns,
        tool_calls=conversation.tools,
        outcome=str(log.outcome) if log is not None else "failed",
        ended_by_bot=ended_by_bot,
        errors=[str(error.get("error", error)) for error in (log.errors if log else [])],
        wer=errors / words if words else None,
    )


async def _play(
    caller: SimulatedCaller,
    turn: Turn,
    index: int,
    speech: bytes | None,
    conversation: _Conversation,
) -> TurnRun:
    """Play one turn and wait for the bot to finish answering it."""
    from bot.scenario_checks import TurnRun

    played = TurnRun(index, turn.kind, caller=turn.say)
    if not caller.connected:
        played.played, played.ended = False, True
        return played
    conversation.turn = index
    if speech is not None:
        said = await caller.say(speech)
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_SECS):
                latency = await caller.wait_for_reply(said)
            played.latency_ms = round(latency * 1000, 1)
        except (TimeoutError, ConnectionError):
            pass  # no answer: the checks say so
        await _bot_finished(caller)
        if turn.expect is not None and turn.expect.ends_call:
            await _hang_up_heard(caller)
    elif turn.silence is not None:
        try:
            async with asyncio.timeout(turn.silence):
                await caller.wait_closed()
        except TimeoutError:
            pass
        await _bot_finished(caller)
    else:
        await caller.hang_up()
    played.heard = conversation.heard_in(index) if speech is not None else None
    played.reply = conversation.said_in(index)
    played.ended = not caller.connected
    return played


async def _hang_up_heard(caller: SimulatedCaller) -> None:
    """After a goodbye, wait as a caller does for the line to go dead, up to a few seconds.

    The bot hangs up once its goodbye has played, and the hang-up reaches the caller a moment
    after the audio stops; with several calls on the two cores that moment can pass
    :data:`QUIET_SECS`. A bot that does not hang up still fails the check, only later.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HANG_UP_GRACE_SECS):
            await caller.wait_closed()


async def _bot_finished(caller: SimulatedCaller) -> None:
    """Wait until the bot's audio has played out and stopped coming."""
    async with asyncio.timeout(SPEAKING_TIMEOUT_SECS):
        await caller.wait_until_bot_quiet(quiet_for=QUIET_SECS)
