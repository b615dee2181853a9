"""``python -m bot scenarios``: run YAML conversation scenarios against the bot.

Each scenario (see :mod:`bot.scenario_spec` for the file format) runs on a fresh SQLite
database in a temporary directory, migrated as the server migrates it and seeded with the
scenario's reservations, at the scenario's fixed time. A *mode* plays the caller's turns to the
bot and returns a :class:`~bot.scenario_checks.ScenarioRun`; the checks then judge that run and
the reservations stored afterwards. One line is printed per scenario and mode::

    PASS  text  plain-booking  (4 turns, p95 12 ms, 0.2 s)
    FAIL  text  cancel-by-code: expect.outcome: expected cancelled, got enquiry

then the pass rate of each mode. The bot is the phone's: the local dialogue engine, or Groq
when ``GROQ_API_KEY`` is set and the business chose it. In ``audio`` mode
(:mod:`bot.scenario_audio`) the English lines are spoken over the simulated phone line to the
embedded engines, and the recogniser's word error rate is reported.

Exit status: 0 when the pass rate of every mode run reaches ``--min-pass-rate`` (all, by
default), 1 otherwise, 2 for invalid scenario files or options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

from bot.config import ConfigError, Settings, load_businesses
from bot.console import opened_store
from bot.logs import configure_logging
from bot.scenario_audio import run_audio
from bot.scenario_checks import (
    ScenarioRun,
    StoredReservation,
    ToolCall,
    TurnRun,
    evaluate,
    percentile,
)
from bot.scenario_spec import Scenario, ScenarioError, Turn, load_scenarios
from bot.simulated_caller.voice import ENGINES, CallerVoiceError
from bot.simulated_caller.voice import caller_voice as chosen_caller_voice

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from bot.text_call import BotReply, TextCall
    from store.db import Database

DEFAULT_PATH = Path("scenarios")
"""Where the scenarios are when no path is given (relative to the working directory)."""
USAGE_ERROR = 2
"""Exit status for invalid scenario files or options."""

ModeRunner = Callable[[Scenario, Settings, str, str], Awaitable[ScenarioRun]]
"""Plays a scenario to the bot: ``(scenario, settings, database_url, caller_voice) ->
ScenarioRun``; ``caller_voice`` is the engine spoken lines are synthesised with.

The database is migrated and seeded already; the mode opens it (or hands its URL to a
server) and must leave it holding whatever the call booked or cancelled.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``scenarios`` command's options."""
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=f"scenario files or directories of them (default: {DEFAULT_PATH}/)",
    )
    parser.add_argument(
        "--mode",
        choices=("text", "audio", "all"),
        default="text",
        help="how the caller's lines reach the bot: typed, spoken, or both (default: text)",
    )
    parser.add_argument("--business", metavar="SLUG", help="only the scenarios of this business")
    parser.add_argument(
        "-k", dest="keyword", metavar="SUBSTRING", help="only scenarios whose name contains it"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON instead of lines"
    )
    parser.add_argument(
        "--min-pass-rate",
        type=float,
        default=100.0,
        metavar="PERCENT",
        help="pass when each mode's pass rate reaches this (default: 100)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run N scenarios at once (audio mode waits on the bot's speech: try 4)",
    )
    parser.add_argument(
        "--caller-voice",
        choices=ENGINES,
        default="auto",
        help="audio mode: the caller's speech engine (default: Flite when installed, "
        "else espeak-ng)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show every failed check and the conversation of each failing scenario",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen scenarios; returns the exit status."""
    try:
        directory = load_businesses(settings.bots_path)
        scenarios = load_scenarios(args.paths or [DEFAULT_PATH], directory)
        modes = _chosen_modes(args.mode)
        chosen = _select(scenarios, args.business, args.keyword, directory.slugs)
    except (ConfigError, ScenarioError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if not 0 <= args.min_pass_rate <= 100:
        print("error: --min-pass-rate must be between 0 and 100", file=sys.stderr)
        return USAGE_ERROR
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return USAGE_ERROR
    if "audio" in modes:
        try:
            chosen_caller_voice("en", args.caller_voice)
        except CallerVoiceError as exc:
            print(f"error: --caller-voice: {exc}", file=sys.stderr)
            return USAGE_ERROR
    if settings.log_level == "INFO":
        configure_logging("WARNING")  # the results, not the pipeline's chatter
    report = Report(sys.stdout, verbose=args.verbose, as_json=args.json)
    results = asyncio.run(
        run_scenarios(chosen, modes, settings, report.result, args.jobs, args.caller_voice)
    )
    return report.finish(results, modes, args.min_pass_rate)


class UsageError(Exception):
    """An option the command cannot use; the message says which and why."""


def _chosen_modes(mode: str) -> tuple[str, ...]:
    return tuple(MODES) if mode == "all" else (mode,)


def _select(
    scenarios: Sequence[Scenario], business: str | None, keyword: str | None, slugs: Sequence[str]
) -> list[Scenario]:
    if business is not None and business not in slugs:
        raise UsageError(f"--business: no business {business!r} ({', '.join(slugs)})")
    chosen = [
        scenario
        for scenario in scenarios
        if (business is None or scenario.business.slug == business)
        and (keyword is None or keyword.casefold() in scenario.name.casefold())
    ]
    if not chosen:
        raise UsageError("no scenario matches --business and -k")
    return chosen


@dataclass
class ScenarioResult:
    """One scenario run in one mode, judged.

    Attributes:
        scenario: The scenario.
        mode: The mode it ran in.
        failures: Every failed check, most basic first; empty when it passed.
        run: What happened, unless it could not run.
        stored: The business's reservations afterwards.
        error: Why it could not run (a seed the store refused, an exception), if it did not.
        seconds: How long it took, store set-up included.
    """

    scenario: Scenario
    mode: str
    failures: list[str] = field(default_factory=list)
    run: ScenarioRun | None = None
    stored: list[StoredReservation] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether it ran and every check held."""
        return self.error is None and not self.failures

    @property
    def problems(self) -> list[str]:
        """What went wrong, the first being what to fix first."""
        return [f"could not run: {self.error}"] if self.error else self.failures


async def run_scenarios(
    scenarios: Sequence[Scenario],
    modes: Sequence[str],
    settings: Settings,
    on_result: Callable[[ScenarioResult], None] = lambda _result: None,
    jobs: int = 1,
    caller_voice: str = "auto",
) -> list[ScenarioResult]:
    """Run each scenario in each of ``modes`` it is written for, ``jobs`` at a time.

    Each run has its own database (and, in audio mode, its own server), so runs do not meet.
    Results come, and ``on_result`` hears of them, in the order of ``modes`` and ``scenarios``.
    Audio mode speaks with the ``caller_voice`` engine (:data:`bot.simulated_caller.voice.ENGINES`).
    """
    slots = asyncio.Semaphore(max(1, jobs))

    async def run_one(scenario: Scenario, mode: str) -> ScenarioResult:
        async with slots:
            return await run_scenario(scenario, mode, settings, caller_voice)

    runs = [
        asyncio.ensure_future(run_one(scenario, mode))
        for mode in modes
        for scenario in scenarios
        if mode in scenario.spec.run_modes
    ]
    results = []
    try:
        for run in runs:
            result = await run
            on_result(result)
            results.append(result)
    finally:
        for run in runs:
            run.cancel()
    return results


async def run_scenario(
    scenario: Scenario, mode: str, settings: Settings, caller_voice: str = "auto"
) -> ScenarioResult:
    """Run one scenario in ``mode`` on a fresh database, and judge it."""
    started = time.monotonic()
    result = ScenarioResult(scenario, mode)
    with tempfile.TemporaryDirectory(prefix="vartalaap-scenario-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'scenario.db'}"
        try:
            async with opened_store(url) as database:
                await seed_store(scenario, database)
                result.run = await MODES[mode](scenario, settings, url, caller_voice)
                result.stored = await stored_reservations(database, scenario.business.slug)
        except SeedError as exc:
            result.error = str(exc)
        except Exception as exc:  # a broken scenario run must not stop the others
            logger.opt(exception=exc).debug("scenario {} ({}) could not run", scenario.name, mode)
            result.error = f"{type(exc).__name__}: {exc}"
    if result.run is not None and result.error is None:
        result.failures = evaluate(scenario.spec, result.run, result.stored)
    result.seconds = time.monotonic() - started
    return result


class SeedError(Exception):
    """A seeded reservation the store refused: the scenario, not the bot, needs fixing."""


async def seed_store(scenario: Scenario, database: Database) -> None:
    """Book the scenario's seed reservations and remember the returning caller.

    Raises:
        SeedError: The store refused a seed (a closed day, a full slot...).
    """
    from bot.phone import mask_phone, phone_hash
    from store.booking import BookingRequest, Bookings
    from store.calls import remember_caller
    from store.errors import VartalaapError
    from store.models import ReservationStatus

    spec, policy = scenario.spec, scenario.business.booking_policy()
    bookings = Bookings(database, clock=scenario.clock)
    for index, seed in enumerate(spec.seed):
        request = BookingRequest(
            starts_at=seed.starts_at,
            party_size=seed.party_size,
            customer_name=seed.name,
            customer_phone=seed.phone,
            notes=seed.notes,
        )
        try:
            booked = await bookings.book(policy, request, actor="scenario:seed")
            if seed.code is not None:
                await database.run_write(_set_code(booked.id, seed.code), policy.business_id)
            if seed.status == "cancelled":
                await bookings.cancel(policy.business_id, booked.id, actor="scenario:seed")
            elif seed.status != "confirmed":
                status = ReservationStatus(seed.status)
                await bookings.update(policy, booked.id, {"status": status}, actor="scenario:seed")
        except VartalaapError as exc:
            raise SeedError(f"{scenario.path}: seed[{index}]: {exc}") from None
    known = spec.returning_caller
    if known is not None and spec.caller is not None:
        await remember_caller(
            database,
            business_id=policy.business_id,
            caller_hash=phone_hash(spec.caller),
            caller_masked=mask_phone(spec.caller),
            at=scenario.now,
            name=known.name,
            language=known.language,
            party_size=known.usual_party_size,
        )


def _set_code(reservation_id: int, code: str) -> Callable[[Connection], None]:
    """A write giving a reservation the booking code a scenario's caller will say."""
    from sqlalchemy import update

    from store.models import Reservation

    change = update(Reservation).where(Reservation.id == reservation_id).values(code=code)

    def work(connection: Connection) -> None:
        connection.execute(change)

    return work


async def stored_reservations(database: Database, business_id: str) -> list[StoredReservation]:
    """Every reservation of the business, in the order they were made."""
    from sqlalchemy import select

    from store.models import Reservation, ReservationStatus

    query = select(Reservation).where(Reservation.business_id == business_id)
    async with database.read() as session:
        rows = (await session.scalars(query.order_by(Reservation.id))).all()
    return [
        StoredReservation(
            code=row.code,
            name=row.customer_name,
            phone=row.customer_phone,
            party_size=row.party_size,
            date=row.starts_at.date(),
            time=row.starts_at.time(),
            status=ReservationStatus(row.status).value,
        )
        for row in rows
    ]


async def run_text(
    scenario: Scenario, settings: Settings, database_url: str, caller_voice: str = "auto"
) -> ScenarioRun:
    """Text mode: each line is typed into the phone call's pipeline (``bot.text_call``).

    Typed lines are not spoken, so ``caller_voice`` plays no part.
    """
    from bot.conversation import known_caller
    from bot.text_call import TextCall
    from store.booking import Bookings

    spec, business = scenario.spec, scenario.business
    calls: list[ToolCall] = []
    turns: list[TurnRun] = []

    def on_tool(name: str, data: dict[str, Any]) -> None:
        calls.append(ToolCall.from_event(name, data, len(turns)))

    async with opened_store(database_url) as database:
        call_id = TextCall.new_id()
        caller = await known_caller(database, business, spec.caller, call_id)
        async with TextCall(
            business,
            settings,
            Bookings(database, clock=scenario.clock),
            caller_number=spec.caller,
            caller=caller,
            language=spec.language,
            clock=scenario.clock,
            call_id=call_id,
            on_tool=on_tool,
        ) as call:
            for index, turn in enumerate(spec.turns):
                turns.append(await _text_turn(call, turn, index))
            record = await call.close()
    last = next((turn for turn in reversed(turns) if turn.played), None)
    return ScenarioRun(
        mode="text",
        engine=call.engine,
        greeting=call.greeting,
        turns=turns,
        tool_calls=calls,
        outcome=record.outcome.value,
        ended_by_bot=last is not None and last.ended and last.kind != "hang_up",
        errors=[str(error.get("error")) for error in record.errors],
    )


async def _text_turn(call: TextCall, turn: Turn, index: int) -> TurnRun:
    """Play one turn to a text call; a call already over leaves it unplayed."""
    played = TurnRun(index, turn.kind, caller=turn.say)
    if call.ended:
        played.played, played.ended = False, True
        return played
    reply: BotReply | None = None
    if turn.say is not None:
        reply = await call.say(turn.say, turn.language)
    elif turn.silence is not None:
        reply = await call.silence(turn.silence)
    else:
        await call.hang_up()
    if reply is not None:
        played.reply, played.latency_ms = reply.text, reply.latency_ms
    played.ended = call.ended
    return played


MODES: dict[str, ModeRunner] = {
    "text": run_text,
    "audio": run_audio,
}
"""The modes a scenario can run in, by name."""


class Report:
    """Prints the results as they come (lines) or at the end (JSON), and the pass rates.

    Args:
        out: Where to print.
        verbose: After a failure, print every failed check and the conversation.
        as_json: Print one JSON document at the end instead of lines.
    """

    def __init__(self, out: TextIO, *, verbose: bool = False, as_json: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self.as_json = as_json

    def result(self, result: ScenarioResult) -> None:
        """One scenario's line (and, verbose, its details)."""
        if self.as_json:
            return
        name = result.scenario.name
        if result.passed:
            self._print(f"PASS  {result.mode:<5} {name}  ({_figures(result)})")
            return
        problems = result.problems
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 and not self.verbose else ""
        self._print(f"FAIL  {result.mode:<5} {name}: {problems[0]}{more}")
        if self.verbose:
            for problem in problems[1:]:
                self._print(f"      {problem}")
            if result.run is not None:
                for line in result.run.transcript():
                    self._print(f"        {line}")

    def finish(
        self, results: Sequence[ScenarioResult], modes: Sequence[str], min_pass_rate: float
    ) -> int:
        """Print the summary (or the JSON document); the exit status."""
        rates = pass_rates(results, modes)
        passed = all(rate["pass_rate"] * 100 >= min_pass_rate for rate in rates.values())
        if self.as_json:
            document = {
                "engine": _engine(results),
                "results": [result_json(result) for result in results],
                "summary": rates,
                "min_pass_rate": min_pass_rate,
                "passed": passed,
            }
            json.dump(document, self.out, indent=2, ensure_ascii=False)
            self.out.write("\n")
            return 0 if passed else 1
        self._print("")
        for mode, rate in rates.items():
            percent = rate["pass_rate"] * 100
            wer = rate.get("word_error_rate")
            heard = f", word error rate {wer * 100:.1f} %" if wer is not None else ""
            self._print(f"{mode}: {rate['passed']}/{rate['total']} passed ({percent:.1f} %){heard}")
        self._print(f"(answered by {_engine(results)})")
        return 0 if passed else 1

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def pass_rates(results: Sequence[ScenarioResult], modes: Sequence[str]) -> dict[str, Any]:
    """Each mode's ``passed``, ``total`` and ``pass_rate`` (a fraction; 1.0 for no scenario)."""
    rates: dict[str, Any] = {}
    for mode in modes:
        ran = [result for result in results if result.mode == mode]
        passed = sum(result.passed for result in ran)
        rate = passed / len(ran) if ran else 1.0
        rates[mode] = {"passed": passed, "total": len(ran), "pass_rate": round(rate, 4)}
        wer = word_error_rate([result.run for result in ran if result.run is not None])
        if wer is not None:
            rates[mode]["word_error_rate"] = round(wer, 4)
    return rates


def word_error_rate(runs: Sequence[ScenarioRun]) -> float | None:
    """The recogniser's word error rate over all the runs' caller lines (audio mode only)."""
    from processors.language_model import words_of

    errors = words = 0.0
    for run in runs:
        if run.wer is None:
            continue
        said = sum(len(words_of(t.caller or "")) for t in run.turns if t.kind == "say" and t.played)
        errors, words = errors + run.wer * said, words + said
    return errors / words if words else None


def result_json(result: ScenarioResult) -> dict[str, Any]:
    """One result as JSON-ready data."""
    run = result.run
    latencies = run.latencies if run is not None else []
    return {
        "name": result.scenario.name,
        "mode": result.mode,
        "business": result.scenario.business.slug,
        "file": str(result.scenario.path),
        "status": "pass" if result.passed else "error" if result.error else "fail",
        "passed": result.passed,
        "failures": result.problems,
        "seconds": round(result.seconds, 3),
        "turns": len(run.turns) if run is not None else 0,
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies, default=None),
        },
        "outcome": run.outcome if run is not None else None,
        "ended_by_bot": run.ended_by_bot if run is not None else None,
        "wer": run.wer if run is not None else None,
        "tool_calls": [
            {"turn": call.turn + 1, "name": call.name, "arguments": call.arguments}
            for call in (run.tool_calls if run is not None else [])
        ],
        "transcript": list(run.transcript()) if run is not None else [],
    }


def _figures(result: ScenarioResult) -> str:
    run = result.run
    assert run is not None
    p95 = percentile(run.latencies, 0.95)
    latency = f"p95 {p95:.0f} ms" if p95 is not None else "no replies"
    wer = f", WER {run.wer * 100:.1f} %" if run.wer is not None else ""
    return f"{len(run.turns)} turns, {latency}{wer}, {result.seconds:.1f} s"


def _engine(results: Sequence[ScenarioResult]) -> str:
    engines = {result.run.engine for result in results if result.run is not None}
    return ", ".join(sorted(engines)) or "nothing: no scenario ran"
