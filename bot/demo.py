"""``python -m bot demo``: a simulated caller phones the bot and books a table, on this machine.

The real server starts in-process on loopback (:class:`bot.local_phone.LocalPhone`) with a fresh
temporary database and the embedded engines. A simulated caller rings a business through the
real Plivo path (signed answer webhook, one-time token, websocket, 20 ms μ-law frames at
real-time pace unless ``--fast``) and says a scripted conversation in a voice unlike the bot's
(Flite's recorded voice where installed, else espeak-ng: :mod:`bot.simulated_caller.voice`). The
conversation prints as it happens (what the caller said, what the bot heard and said, each tool
call and its result); then the reservation as stored, the latencies, and a stereo WAV of the
call (caller left, bot right). The exit status is 0 only if the script's goal was met.

A script is YAML::

    language: en                      # the caller's voice: en or hi
    caller_phone: "+91 98123 45678"
    lines:                            # said in order, each after the bot has finished speaking;
      - "A table for four {day} evening at eight."      # {day}: the next day the business
      - "My name is Ravi."                              # is open in the evening
    goal:
      outcome: booked                 # booked, cancelled, enquiry, transferred, abandoned
      party_size: 4                   # optional: a reservation of this call has this size
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.config import Business, BusinessDirectory, Settings, load_or_exit
from bot.console import Transcript
from bot.phone import PhoneNumberError, normalise_written_phone
from bot.simulated_caller.voice import ENGINES

if TYPE_CHECKING:
    from bot.simulated_caller import SimulatedCaller
    from store.models import CallLog, Reservation

GOALS = ("booked", "cancelled", "enquiry", "transferred", "abandoned")
"""Call outcomes a script may aim for."""
GREETING_TIMEOUT_SECS = 20.0
REPLY_TIMEOUT_SECS = 20.0
SPEAKING_TIMEOUT_SECS = 60.0
HANG_UP_TIMEOUT_SECS = 20.0
WAV_RATE = 8000
FAST_SPEECH_PACE = 4.0
"""How much faster than real time ``--fast`` sends the caller's speech. Unpaced bursts do not
work: the VAD runs after the STT in the pipeline, so the STT would have passed a burst on
before the VAD said speech had started."""


def _phone(value: str) -> str:
    try:
        return normalise_written_phone(value)
    except PhoneNumberError as exc:
        raise ValueError(str(exc)) from None


class Goal(BaseModel):
    """What the call must achieve for the demo to succeed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Annotated[str, AfterValidator(lambda v: _one_of(v, GOALS))] = "booked"
    party_size: int | None = Field(None, ge=1)


class Script(BaseModel):
    """A scripted caller: their voice, number, lines and goal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Annotated[str, AfterValidator(lambda v: _one_of(v, ("en", "hi")))] = "en"
    caller_phone: Annotated[str, AfterValidator(_phone)] = "+91 98123 45678"
    lines: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    goal: Goal = Goal()


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


DEFAULT_SCRIPT = Script(
    lines=[
        "Hello, I would like to book a table for four people {day} evening at eight.",
        "My name is Ravi.",
        "Yes please.",
        "No, goodbye.",
    ],
    goal=Goal(outcome="booked", party_size=4),
)
"""The English booking the demo makes unless ``--script`` says otherwise."""


class ScriptError(Exception):
    """A script file that cannot be used; the message names the file and what is wrong."""


def load_script(path: Path) -> Script:
    """Read and check a script file.

    Raises:
        ScriptError: The file is missing, is not YAML, or does not describe a script.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path}: not valid YAML ({exc})") from None
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ScriptError(f"{path}: {problems}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``demo`` command's options."""
    parser.add_argument(
        "--business", metavar="SLUG", help="the business to call (default: the first in bots.yaml)"
    )
    parser.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help="a YAML script of the caller's lines and goal (default: book a table for four)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="send the caller's speech four times faster than real time "
        "(the bot still speaks in real time)",
    )
    parser.add_argument(
        "--caller-voice",
        choices=ENGINES,
        default="auto",
        help="the caller's speech engine (default: Flite for English when installed, "
        "else espeak-ng)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy URL of the store to book into (default: a fresh temporary SQLite file)",
    )
    parser.add_argument(
        "--wav",
        type=Path,
        default=Path("vartalaap-demo.wav"),
        metavar="FILE",
        help="where to write the call's audio, caller left and bot right "
        "(default: vartalaap-demo.wav)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the demo call; 0 if the script's goal was met, 1 if not, 2 for unusable options."""
    from bot import STARTED_AT
    from bot.simulated_caller.voice import caller_voice

    directory = load_or_exit(settings.bots_path)
    try:
        script = load_script(args.script) if args.script else DEFAULT_SCRIPT
    except ScriptError as exc:
        print(f"error: --script: {exc}", file=sys.stderr)
        return 2
    business = directory.by_slug(args.business or _default_slug(directory, script.language))
    if business is None:
        known = ", ".join(directory.slugs)
        print(f"error: --business: no business {args.business!r} ({known})", file=sys.stderr)
        return 2
    if script.language not in business.languages:
        spoken = ", ".join(business.languages)
        print(f"error: {business.name} speaks {spoken}, not {script.language}", file=sys.stderr)
        return 2
    if settings.log_level == "INFO":
        from bot.logs import configure_logging

        configure_logging("WARNING")  # the conversation, not the server's chatter
    with tempfile.TemporaryDirectory(prefix="vartalaap-demo-") as scratch:
        database_url = args.database or f"sqlite+aiosqlite:///{Path(scratch) / 'demo.db'}"
        demo_settings = settings.model_copy(update={"database_url": database_url})
        result = asyncio.run(
            demo(
                business,
                script,
                demo_settings,
                fast=args.fast,
                started_at=STARTED_AT,
                caller_voice=args.caller_voice,
            )
        )
    report(result, sys.stdout)
    print(f"The caller's voice: {caller_voice(script.language, args.caller_voice)}")
    write_wav(result, args.wav)
    print(f"The call's audio: {args.wav} (caller left, bot right)")
    if result.goal_problem:
        print(f"Goal not met: {result.goal_problem}")
        return 1
    print(f"Goal met: {script.goal.outcome}.")
    return 0


def _default_slug(directory: BusinessDirectory, language: str) -> str:
    """The first business that greets in the caller's language, else the first one."""
    for business in directory:
        if business.default_language == language:
            return business.slug
    return directory.slugs[0]


@dataclass
class DemoResult:
    """What happened on the demo call."""

    business: Business
    script: Script
    call_uuid: str = ""
    startup_secs: float | None = None  # command start → first greeting audio
    greeting_secs: float | None = None  # stream start → first greeting audio
    turn_secs: list[float | None] = field(default_factory=list)  # caller-measured
    outcome: str = ""
    call_log: dict[str, Any] = field(default_factory=dict)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    caller_audio: list[tuple[float, bytes]] = field(default_factory=list)  # (start, PCM 8 kHz)
    bot_audio: list[tuple[float, bytes]] = field(default_factory=list)  # (start, PCM 8 kHz)
    goal_problem: str | None = None


async def demo(
    business: Business,
    script: Script,
    settings: Settings,
    *,
    fast: bool = False,
    started_at: float | None = None,
    out: Any = None,
    caller_voice: str = "auto",
) -> DemoResult:
    """Place the scripted call and gather what happened.

    Args:
        business: The business called.
        script: The caller's lines and goal.
        settings: Settings with the (fresh) database to use.
        fast: Send the caller's speech at :data:`FAST_SPEECH_PACE` times real time.
        started_at: A ``time.monotonic()`` instant to measure start-up from (default: now).
        out: Where the live transcript goes (default: standard output).
        caller_voice: The caller's speech engine (:data:`bot.simulated_caller.voice.ENGINES`).
    """
    from bot.local_phone import LocalPhone, conversation_observer

    started_at = time.monotonic() if started_at is None else started_at
    transcript = Transcript(out or sys.stdout, since=started_at, caller_label="caller")
    result = DemoResult(business, script)
    lines = [line.replace("{day}", evening_day(business)) for line in script.lines]
    speech = await _caller_speech(lines, script.language, caller_voice)
    number = normalise_written_phone(script.caller_phone)
    watch = LocalPhone(
        settings,
        observers=[
            lambda _uuid: conversation_observer(
                heard=lambda text: transcript.note(f"the bot heard: {text}"), said=transcript.bot
            )
        ],
        tool_listeners=[lambda _uuid, name, data: transcript.tool(name, data)],
    )
    async with watch as phone:
        transcript.note(f"{business.name}: the server is up at {phone.url}; dialling")
        pace = FAST_SPEECH_PACE if fast else 1.0
        async with phone.dial(business, number, speech_pace=pace) as caller:
            result.call_uuid = caller.call_uuid
            await _converse(caller, lines, speech, transcript, result, started_at)
            result.turn_secs = [turn.latency for turn in caller.turns]
            result.caller_audio = [
                (_voiced_start(turn_pcm, turn.last_speech_frame_at) - caller_zero(caller), turn_pcm)
                for turn, turn_pcm in zip(caller.turns, speech, strict=False)
                if turn.last_speech_frame_at is not None
            ]
            result.bot_audio = _heard_bot_audio(caller)
        log = await phone.finished_call(result.call_uuid)
        result.call_log = _log_dict(log) if log is not None else {}
        result.outcome = str(log.outcome) if log is not None else "unknown"
        result.reservations = [
            _reservation_dict(r) for r in await phone.reservations_of(result.call_uuid)
        ]
    result.goal_problem = goal_problem(script.goal, result)
    return result


async def _caller_speech(lines: list[str], language: str, engine: str) -> list[bytes]:
    from bot.simulated_caller.voice import caller_speech

    return [await caller_speech(line, language, WAV_RATE, engine=engine) for line in lines]


async def _converse(
    caller: SimulatedCaller,
    lines: list[str],
    speech: list[bytes],
    transcript: Transcript,
    result: DemoResult,
    started_at: float,
) -> None:
    """Answer the call, wait for the greeting, say each line after the bot, wait for goodbye."""
    await caller.start()
    async with asyncio.timeout(GREETING_TIMEOUT_SECS):
        first_audio = await caller.wait_for_bot_audio()
    result.startup_secs = first_audio - started_at
    result.greeting_secs = caller.greeting_latency
    for line, pcm in zip(lines, speech, strict=True):
        async with asyncio.timeout(SPEAKING_TIMEOUT_SECS):
            await caller.wait_until_bot_quiet(quiet_for=0.6)
        if not caller.connected:
            transcript.note("the line went dead before the caller finished")
            return
        transcript.caller(line)
        turn = await caller.say(pcm)
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_SECS):
                await caller.wait_for_reply(turn)
        except TimeoutError:
            transcript.note("the bot did not answer")
            return
        except ConnectionError:  # it said goodbye while the caller was still talking
            transcript.note("the bot hung up")
            return
    try:
        async with asyncio.timeout(HANG_UP_TIMEOUT_SECS):
            await caller.wait_closed()
        transcript.note("the bot hung up")
    except TimeoutError:
        transcript.note("the bot did not hang up; the caller does")
        await caller.hang_up()


def caller_zero(caller: SimulatedCaller) -> float:
    """The instant the WAV starts: the stream's start."""
    return caller.start_sent_at or 0.0


def _voiced_start(pcm: bytes, last_speech_frame_at: float | None) -> float:
    """When the utterance started, placed so that its last voiced frame is when it was sent.

    In real-time mode that is when it started; in fast mode the utterance is moved back to
    end when the bot heard its end, so that the WAV sounds like the call the bot heard.
    """
    from bot.simulated_caller.audio import rms

    assert last_speech_frame_at is not None
    step = WAV_RATE // 50 * 2  # 20 ms of PCM16
    frames = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    voiced = [i for i, frame in enumerate(frames) if rms(frame) >= 300.0]
    last = voiced[-1] if voiced else len(frames) - 1
    return last_speech_frame_at - last * 0.02


def _heard_bot_audio(caller: SimulatedCaller) -> list[tuple[float, bytes]]:
    """The bot's audio as the caller heard it (cut where ``clearAudio`` stopped it), at 8 kHz."""
    from bot.simulated_caller.audio import resample

    zero = caller_zero(caller)
    heard = []
    for chunk in caller.playout.chunks:
        pcm = resample(chunk.pcm, chunk.sample_rate, WAV_RATE)
        if chunk.cleared_at is not None:
            played = max(0.0, chunk.cleared_at - chunk.play_start)
            pcm = pcm[: round(played * WAV_RATE) * 2]
        heard.append((chunk.play_start - zero, pcm))
    return heard


def evening_day(business: Business, today: dt.date | None = None) -> str:
    """``"tomorrow"``, or the weekday after it, on which ``business`` seats guests at 8 pm."""
    from store.availability import seating_spans

    today = today or dt.datetime.now(business.zone).date()
    for ahead in range(1, 8):
        day = today + dt.timedelta(days=ahead)
        eight = dt.datetime.combine(day, dt.time(20, 0))
        if any(
            first <= eight <= last for first, last in seating_spans(business.booking_policy(), day)
        ):
            return "tomorrow" if ahead == 1 else f"on {day.strftime('%A')}"
    return "tomorrow"


def _reservation_dict(reservation: Reservation) -> dict[str, Any]:
    return {
        "code": reservation.code,
        "name": reservation.customer_name,
        "phone": reservation.customer_phone,
        "party_size": reservation.party_size,
        "starts_at": reservation.starts_at.strftime("%Y-%m-%d %H:%M"),
        "status": str(reservation.status),
    }


def _log_dict(log: CallLog) -> dict[str, Any]:
    return {
        "outcome": str(log.outcome),
        "duration_secs": log.duration_secs,
        "hangup_cause": log.hangup_cause,
        "turn_latencies": list(log.turn_latencies),
        "tool_calls": [call.get("name") for call in log.tool_calls],
        "errors": list(log.errors),
    }


def goal_problem(goal: Goal, result: DemoResult) -> str | None:
    """Why the call missed its goal, or ``None`` when it met it."""
    if result.outcome != goal.outcome:
        return f"the call ended as {result.outcome or 'unknown'}, not {goal.outcome}"
    if goal.party_size is not None:
        sizes = [r["party_size"] for r in result.reservations if r["status"] == "confirmed"]
        if goal.party_size not in sizes:
            return f"no confirmed reservation for {goal.party_size} (found: {sizes or 'none'})"
    return None


def report(result: DemoResult, out: Any) -> None:
    """Print the reservation as stored and the latencies."""
    print("", file=out)
    print(f"Call {result.call_uuid}: outcome {result.outcome}", file=out)
    for r in result.reservations:
        print(
            f"Reservation {r['code']}: {r['name']}, party of {r['party_size']}, "
            f"{r['starts_at']}, {r['status']} (phone {r['phone']})",
            file=out,
        )
    if not result.reservations:
        print("No reservation was made.", file=out)
    if result.startup_secs is not None:
        print(f"Start-up to first greeting audio: {result.startup_secs:.2f} s", file=out)
    if result.greeting_secs is not None:
        print(f"Stream start to greeting audio: {result.greeting_secs * 1000:.0f} ms", file=out)
    heard = [f"{t * 1000:.0f}" if t is not None else "-" for t in result.turn_secs]
    print(f"Caller stops speaking to bot audio, per turn (ms): {', '.join(heard)}", file=out)
    recorded = result.call_log.get("turn_latencies") or []
    if recorded:
        figures = ", ".join(f"{_latency_ms(t)}" for t in recorded)
        print(f"Turn latencies recorded by the bot (ms): {figures}", file=out)


def _latency_ms(entry: Any) -> str:
    if isinstance(entry, dict):
        value = entry.get("latency_ms", entry.get("ms"))
        return f"{value:.0f}" if isinstance(value, int | float) else str(value)
    return f"{entry:.0f}" if isinstance(entry, int | float) else str(entry)


def write_wav(result: DemoResult, path: Path) -> None:
    """Write the call as a stereo 8 kHz WAV: the caller on the left, the bot on the right."""
    import numpy as np

    pieces = result.caller_audio + result.bot_audio
    end = max((start + len(pcm) / 2 / WAV_RATE for start, pcm in pieces), default=0.0)
    frames = round(end * WAV_RATE) + 1
    mix = np.zeros((frames, 2), dtype=np.int32)
    for channel, audio in ((0, result.caller_audio), (1, result.bot_audio)):
        for start, pcm in audio:
            samples = np.frombuffer(pcm, dtype=np.int16)
            first = max(0, round(start * WAV_RATE))
            samples = samples[: max(0, frames - first)]
            mix[first : first + len(samples), channel] += samples
    pcm16 = np.clip(mix, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(WAV_RATE)
        wav.writeframes(pcm16.tobytes())
