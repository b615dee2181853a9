"""What one run of a scenario produced, and the checks of its expectations against it.

A mode of ``python -m bot scenarios`` (``bot.scenarios.MODES``) plays a scenario's turns to
the bot and returns a :class:`ScenarioRun`; the runner reads the business's reservations
afterwards as :class:`StoredReservation` rows; :func:`evaluate` then compares both with the
scenario's ``expect`` blocks and returns one concrete message per failed check (an empty list
when it passed). Nothing here talks to the bot or the store.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.scenario_spec import (
    ReservationMatch,
    ReservationsExpect,
    ScenarioSpec,
    ToolCheck,
    Turn,
    TurnExpect,
)


@dataclass(frozen=True)
class ToolCall:
    """A tool the bot called, as the tools reported it.

    Attributes:
        name: The tool.
        arguments: Its arguments (``end_call``: its ``farewell``).
        result: What it answered (``None`` for ``end_call``; ``transfer_to_staff`` reports
            only a status).
        turn: The index of the turn during which it was called.
    """

    name: str
    arguments: dict[str, Any]
    result: Any
    turn: int

    @classmethod
    def from_event(cls, name: str, data: dict[str, Any], turn: int) -> ToolCall:
        """From a :data:`bot.tools.ToolEvent`'s name and data."""
        if "arguments" in data:
            return cls(name, dict(data["arguments"]), data.get("result"), turn)
        return cls(name, dict(data), None, turn)

    @property
    def resolved_arguments(self) -> dict[str, Any]:
        """The arguments, with a misheard code replaced by the code its look-up found."""
        result = self.result if isinstance(self.result, dict) else {}
        found = result.get("reservations") or []
        if result.get("heard_code") and len(found) == 1 and isinstance(found[0], dict):
            return {**self.arguments, "code": found[0].get("code")}
        return self.arguments

    def describe(self) -> str:
        """``check_availability(date='2026-03-14', party_size=4) -> available: False``."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.arguments.items())
        text = f"{self.name}({args})"
        if isinstance(self.result, dict):
            for key in ("status", "available", "found"):
                if key in self.result:
                    return f"{text} -> {key}: {self.result[key]!r}"
        return text


@dataclass
class TurnRun:
    """One turn of the script as it was played.

    Attributes:
        index: Its position in the script (0 first).
        kind: ``say``, ``silence`` or ``hang_up``.
        caller: What the caller said (``None`` for a silence or hang-up).
        heard: What the speech recogniser heard of it (audio mode; ``None`` in text).
        reply: Everything the bot said in answer.
        latency_ms: From the end of the caller's turn to the bot's first words, if it spoke.
        ended: Whether the call was over after this turn.
        played: ``False`` when the call had already ended before this turn came.
    """

    index: int
    kind: str
    caller: str | None = None
    heard: str | None = None
    reply: str = ""
    latency_ms: float | None = None
    ended: bool = False
    played: bool = True


@dataclass
class ScenarioRun:
    """What happened when a scenario was played in one mode.

    Attributes:
        mode: ``text`` or ``audio``.
        engine: What answered: the local dialogue engine, or Groq and its model.
        greeting: The bot's first words.
        turns: The script's turns as played, one per turn of the scenario.
        tool_calls: Every tool call, in order.
        outcome: The call record's outcome (``booked``, ``enquiry``...).
        ended_by_bot: Whether the bot ended the call (goodbye, silence, transfer) rather than
            the caller hanging up or the script running out.
        errors: Errors the call record logged.
        wer: Word error rate of the speech recogniser over the caller's lines (audio mode);
            ``None`` in text mode.
    """

    mode: str
    engine: str
    greeting: str
    turns: list[TurnRun]
    tool_calls: list[ToolCall] = field(default_factory=list)
    outcome: str = "failed"
    ended_by_bot: bool = False
    errors: list[str] = field(default_factory=list)
    wer: float | None = None

    @property
    def latencies(self) -> list[float]:
        """The latency of every turn the bot answered."""
        return [turn.latency_ms for turn in self.turns if turn.latency_ms is not None]

    def transcript(self) -> Iterator[str]:
        """The conversation as ``bot>``, ``caller>`` and ``[tool]`` lines."""
        yield f"bot> {self.greeting}"
        for turn in self.turns:
            if not turn.played:
                yield f"(not played: {turn.kind} {turn.caller or ''})".rstrip()
                continue
            if turn.kind == "say":
                heard = f"   [heard: {turn.heard}]" if turn.heard is not None else ""
                yield f"caller> {turn.caller}{heard}"
            else:
                yield f"({turn.kind.replace('_', ' ')})"
            for call in self.tool_calls:
                if call.turn == turn.index:
                    yield f"  [tool] {call.describe()}"
            if turn.reply:
                yield f"bot> {turn.reply}"


@dataclass(frozen=True)
class StoredReservation:
    """A reservation of the business as stored after the call."""

    code: str
    name: str
    phone: str | None
    party_size: int
    date: dt.date
    time: dt.time
    status: str

    def describe(self) -> str:
        """``Ravi, 4, 2026-03-14 20:00, confirmed, code K7QD4M``."""
        when = f"{self.date.isoformat()} {self.time:%H:%M}"
        return f"{self.name}, {self.party_size}, {when}, {self.status}, code {self.code}"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.95 for p95); ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def evaluate(
    spec: ScenarioSpec, run: ScenarioRun, stored: Sequence[StoredReservation]
) -> list[str]:
    """Every failed check of the scenario, most basic first; empty when it passed."""
    failures = check_played(run) + check_errors(run)
    failures += check_greeting(spec.expect.greeting, run.greeting)
    for turn, played in zip(spec.turns, run.turns, strict=True):
        failures += check_turn(turn, played, run, spec.expect.max_latency_ms)
    expect = spec.expect
    failures += check_tools_in_order(expect.tools, run.tool_calls)
    failures += check_not_tools(expect.not_tools, run.tool_calls)
    if expect.reservations is not None:
        failures += check_reservations(expect.reservations, stored)
    if expect.outcome is not None and run.outcome != expect.outcome:
        failures.append(f"expect.outcome: expected {expect.outcome}, got {run.outcome}")
    if expect.ended_by_bot is not None and run.ended_by_bot != expect.ended_by_bot:
        failures.append(_ended_failure(expect.ended_by_bot, run))
    return failures


def check_played(run: ScenarioRun) -> list[str]:
    """The script must be played to its end: a turn after the bot hung up is a failure."""
    ended_at = next((turn.index for turn in run.turns if turn.ended), None)
    return [
        f"{_turn_label(turn)}: not played: the call ended at turn {(ended_at or 0) + 1}"
        for turn in run.turns
        if not turn.played
    ]


def check_errors(run: ScenarioRun) -> list[str]:
    """The call must not have logged errors."""
    return [f"the call logged an error: {error}" for error in run.errors]


def check_greeting(expected: Sequence[str], greeting: str) -> list[str]:
    """The bot's first words must hold each of ``expected``."""
    return [
        f"expect.greeting: expected {text!r}, the bot said {greeting!r}"
        for text in expected
        if _folded(text) not in _folded(greeting)
    ]


def check_turn(turn: Turn, played: TurnRun, run: ScenarioRun, budget_ms: float | None) -> list[str]:
    """The checks of one turn's ``expect`` (and the scenario's latency budget)."""
    if not played.played:
        return []
    label = _turn_label(played, turn)
    expect = turn.expect or TurnExpect()
    failures = [f"{label}: {problem}" for problem in _reply_problems(expect, played.reply)]
    calls = [call for call in run.tool_calls if call.turn == played.index]
    if expect.no_tools and calls:
        failures.append(f"{label}: no_tools: expected none, got {_calls_text(calls)}")
    failures += [f"{label}: {problem}" for problem in _in_order(expect.tools, calls, "tools")]
    if expect.ends_call is not None and played.ended != expect.ends_call:
        state = "ended" if played.ended else "went on"
        failures.append(f"{label}: ends_call: expected {_yaml(expect.ends_call)}, the call {state}")
    limit = expect.max_latency_ms or budget_ms
    if limit is not None and played.latency_ms is not None and played.latency_ms > limit:
        failures.append(
            f"{label}: max_latency_ms: {played.latency_ms:.0f} ms is over the {limit:.0f} ms budget"
        )
    return failures


def check_tools_in_order(checks: Sequence[ToolCheck], calls: Sequence[ToolCall]) -> list[str]:
    """The scenario's ``expect.tools``: each called, in this order, over the whole call."""
    return [f"expect.{problem}" for problem in _in_order(checks, calls, "tools")]


def check_not_tools(checks: Sequence[ToolCheck], calls: Sequence[ToolCall]) -> list[str]:
    """The scenario's ``expect.not_tools``: none of these calls may have been made."""
    failures = []
    for index, check in enumerate(checks):
        made = [call for call in calls if tool_matches(check, call)]
        if made:
            failures.append(
                f"expect.not_tools[{index}]: {check.describe()} was called: {_calls_text(made)}"
            )
    return failures


def check_reservations(
    expect: ReservationsExpect, stored: Sequence[StoredReservation]
) -> list[str]:
    """The business's reservations after the call: their number, and rows like these."""
    failures = []
    if expect.count is not None and len(stored) != expect.count:
        failures.append(
            f"expect.reservations.count: expected {expect.count}, got {len(stored)}"
            f"{_rows_text(stored)}"
        )
    unmatched = _unmatched(expect.include, stored)
    for index in unmatched:
        wanted = expect.include[index].describe()
        failures.append(
            f"expect.reservations.include[{index}]: no reservation like {wanted}"
            f"{_rows_text(stored)}"
        )
    return failures


def tool_matches(check: ToolCheck, call: ToolCall) -> bool:
    """Whether ``call`` is the call ``check`` describes (its args and result as subsets).

    A look-up whose code was misheard but found its booking by the sound of it (the result
    has ``heard_code``) matches as if it had been given the code it found: what the scenario
    checks is which booking the caller's words reached.
    """
    return (
        check.name == call.name
        and _subset(check.args, call.resolved_arguments)
        and _subset(check.result, call.result)
    )


def same_value(expected: Any, actual: Any) -> bool:
    """Whether a value of a tool call is the one a scenario expects.

    Mappings match as subsets, lists item by item, strings ignoring case and runs of spaces,
    and a number matches the same number written as text (a model may send ``"4"``).
    """
    if isinstance(expected, dict):
        return _subset(expected, actual)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(map(same_value, expected, actual))
        )
    if isinstance(expected, bool) or expected is None:
        return actual is expected
    if isinstance(expected, int | float):
        return not isinstance(actual, bool) and _number(actual) == expected
    return _folded(str(expected)) == _folded(str(actual))


def _subset(expected: dict[str, Any], actual: Any) -> bool:
    if not expected:
        return True
    if not isinstance(actual, dict):
        return False
    return all(key in actual and same_value(value, actual[key]) for key, value in expected.items())


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _reply_problems(expect: TurnExpect, reply: str) -> list[str]:
    said = _folded(reply)
    shown = repr(reply) if reply else "nothing"
    problems = [
        f"says: expected {text!r}, the bot said {shown}"
        for text in expect.says
        if _folded(text) not in said
    ]
    if expect.says_any and not any(_folded(text) in said for text in expect.says_any):
        listed = " or ".join(repr(text) for text in expect.says_any)
        problems.append(f"says_any: expected {listed}, the bot said {shown}")
    problems += [
        f"not_says: expected no {text!r}, the bot said {shown}"
        for text in expect.not_says
        if _folded(text) in said
    ]
    return problems


def _in_order(checks: Sequence[ToolCheck], calls: Sequence[ToolCall], key: str) -> list[str]:
    """Each check matched by a call after the previous one's; the first miss is reported."""
    position = 0
    for index, check in enumerate(checks):
        found = next(
            (i for i in range(position, len(calls)) if tool_matches(check, calls[i])), None
        )
        if found is None:
            return [f"{key}[{index}]: {_missing_call(check, calls, position)}"]
        position = found + 1
    return []


def _missing_call(check: ToolCheck, calls: Sequence[ToolCall], position: int) -> str:
    wanted = check.describe()
    if any(tool_matches(check, call) for call in calls[:position]):
        return f"{wanted} was called, but before the call expected ahead of it"
    same_name = [call for call in calls if call.name == check.name]
    if same_name:
        return f"expected {wanted}, got {_calls_text(same_name)}"
    return f"expected {wanted}, {_calls_text(calls) if calls else 'no tool was called'}"


def _calls_text(calls: Sequence[ToolCall]) -> str:
    return "; ".join(call.describe() for call in calls)


def _unmatched(
    matches: Sequence[ReservationMatch], stored: Sequence[StoredReservation]
) -> list[int]:
    """The indexes of ``matches`` left without a row when each takes a different one.

    Tries every assignment (scenarios hold a handful of rows), so that a loose match cannot
    take the row a stricter one needed.
    """
    fits = [[i for i, row in enumerate(stored) if _row_matches(m, row)] for m in matches]

    def assign(index: int, taken: frozenset[int]) -> bool:
        if index == len(matches):
            return True
        return any(assign(index + 1, taken | {row}) for row in fits[index] if row not in taken)

    if assign(0, frozenset()):
        return []
    return [index for index, rows in enumerate(fits) if not rows] or _first_conflict(fits)


def _first_conflict(fits: list[list[int]]) -> list[int]:
    """When every match fits some row but not all at once: the first that cannot get one."""
    taken: set[int] = set()
    for index, rows in enumerate(fits):
        free = [row for row in rows if row not in taken]
        if not free:
            return [index]
        taken.add(free[0])
    return [len(fits) - 1]


_ROW_FIELDS: dict[str, Callable[[StoredReservation], Any]] = {
    "name": lambda row: row.name,
    "phone": lambda row: row.phone,
    "party_size": lambda row: row.party_size,
    "date": lambda row: row.date,
    "time": lambda row: row.time,
    "status": lambda row: row.status,
    "code": lambda row: row.code,
}


def _row_matches(match: ReservationMatch, row: StoredReservation) -> bool:
    for key, expected in match.fields().items():
        actual = _ROW_FIELDS[key](row)
        if isinstance(expected, str) and isinstance(actual, str):
            if _folded(expected) != _folded(actual):
                return False
        elif expected != actual:
            return False
    return True


def _rows_text(stored: Sequence[StoredReservation]) -> str:
    if not stored:
        return " (there are none)"
    return ": " + "; ".join(row.describe() for row in stored)


def _turn_label(played: TurnRun, turn: Turn | None = None) -> str:
    if turn is not None:
        return f"turn {played.index + 1} ({turn.describe()})"
    what = f"say {played.caller!r}" if played.caller else played.kind.replace("_", " ")
    return f"turn {played.index + 1} ({what})"


def _ended_failure(expected: bool, run: ScenarioRun) -> str:
    last = next((turn for turn in reversed(run.turns) if turn.played), None)
    if run.ended_by_bot:
        how = "the bot ended the call"
    elif last is not None and last.kind == "hang_up":
        how = "the caller hung up"
    else:
        how = "the script ended with the call still open"
    return f"expect.ended_by_bot: expected {_yaml(expected)}, but {how}"


def _yaml(value: bool) -> str:
    return "true" if value else "false"
