"""Conversation scenarios: a scripted caller, and what the bot must have done by the end.

A scenario is one YAML file (``scenarios/*.yaml``; the file holds exactly one scenario, a
mapping). Unknown keys are errors, and every error names the file and the key path, e.g.
``scenarios/x.yaml: turns[2].expect.sayz: unknown key (did you mean 'says'?)``::

    name: plain-booking              # lowercase words joined by hyphens; unique across files
    description: optional free text
    business: himalayan-kitchen      # a slug from bots.yaml
    language: en                     # the language the bot starts in (default: the business's)
    modes: [text, audio]             # default [text, audio], or [text] when a line is Hindi
    caller: "+91 98765 43210"        # the caller's number (E.164 or Indian local); absent:
                                     # withheld
    returning_caller:                # what the store remembers from earlier calls (needs caller)
      name: Ravi
      language: en
      usual_party_size: 4
    now: "2026-03-10 18:30"          # the call's local date and time at the business
    seed:                            # reservations booked (through the store) before the call
      - {name: Asha, phone: "+919812345678", party_size: 4, date: 2026-03-14, time: "20:00",
         code: K7QD4M, status: confirmed}     # code, phone, status and notes are optional
    turns:                           # the caller's side, in order; each item is one of:
      - say: "a table for 4 on Saturday at 8 pm"
        language: en                 # optional: the language the line is tagged with
        expect: {...}                # optional checks on the bot's answer to this turn
      - silence: 8                   # seconds of silence (simulated, not waited out)
      - hang_up: true                # the caller hangs up
    expect: {...}                    # checks on the whole call and on the store afterwards

A turn's ``expect``:

* ``says``: substrings that must *all* appear in the bot's reply; ``says_any``: at least one
  must; ``not_says``: none may. Matching ignores case and runs of spaces.
* ``tools``: tool calls made during this turn, in this order (other calls may come between);
  ``no_tools: true``: no tool was called.
* ``ends_call``: whether the bot ended the call on this turn.
* ``max_latency_ms``: the most the bot may take to start answering.

The scenario's ``expect``:

* ``greeting``: substrings that must all appear in the bot's first words.
* ``tools``: tool calls that must appear in this order over the whole call; ``not_tools``: tool
  calls that must not appear at all. A tool check is ``{name, args, result}`` where ``args``
  and ``result`` are subsets of the call's (strings compare case-insensitively; a number
  matches its text), or just the tool's name.
* ``reservations``: the business's reservations after the call, seeded ones included:
  ``count`` rows in all, and ``include``: a list of ``{name, phone, party_size, date, time,
  status, code}`` subsets, each matching a different row.
* ``outcome``: the call record's outcome (``booked``, ``cancelled``, ``enquiry``,
  ``transferred``, ``abandoned`` or ``failed``); ``ended_by_bot``: whether the bot, rather than
  the caller or the end of the script, ended the call.
* ``max_latency_ms``: the latency budget of every turn that has none of its own.

Every scenario must check something. Quoting is optional where a person would not expect it
to matter: ``20:00``, ``2026-03-14``, ``yes`` and ``no`` stay text (YAML 1.1 would read a
base-60 number, a timestamp and booleans); only ``true`` and ``false`` are booleans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot.config import Business, BusinessDirectory
from bot.config.errors import describe_kind, explain, format_loc
from bot.config.loader import _StrictLoader
from bot.phone import PhoneNumberError, normalise_written_phone

ToolName = Literal[
    "check_availability",
    "book_reservation",
    "find_reservation",
    "cancel_reservation",
    "end_call",
    "transfer_to_staff",
]
"""The tools the bot can call (``bot.tools``)."""
Mode = Literal["text", "audio"]
"""How the caller's lines reach the bot: typed, or spoken over the simulated phone line."""
LanguageCode = Literal["en", "hi"]
OutcomeName = Literal["booked", "cancelled", "enquiry", "transferred", "abandoned", "failed"]
"""The outcomes a call record can show (``processors.call_recorder.Outcome``)."""
StatusName = Literal["confirmed", "cancelled", "completed", "no_show"]
"""A reservation's status (``store.models.ReservationStatus``)."""

SCENARIO_SUFFIXES = (".yaml", ".yml")
"""The file names a directory of scenarios is searched for."""


class ScenarioError(Exception):
    """Scenario files that cannot be used; one line per problem, each naming file and key.

    Attributes:
        problems: The problems, one line each.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        """Create the error from one problem line or several."""
        lines = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(lines))
        self.problems: tuple[str, ...] = lines


def _phone(value: object) -> str:
    """E.164 from what a scenario author writes; a bare Indian number gets its ``+91``."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected a phone number as text, got {describe_kind(value)}")
    try:
        return normalise_written_phone(value)
    except PhoneNumberError as exc:
        raise ValueError(str(exc)) from None


def _local_datetime(value: object) -> dt.datetime:
    """A naive local date and time from ``"YYYY-MM-DD HH:MM"``."""
    if not isinstance(value, str):
        raise ValueError(f"expected a date and time as text, got {describe_kind(value)}")
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"expected 'YYYY-MM-DD HH:MM', got {value!r}") from None
    if moment.tzinfo is not None:
        raise ValueError("give the business's local time without a timezone")
    return moment


Phone = Annotated[str, BeforeValidator(_phone)]
LocalDateTime = Annotated[dt.datetime, BeforeValidator(_local_datetime)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9]{4,12}$")
]
Milliseconds = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolCheck(_Strict):
    """A tool call to look for: its name, and a subset of its arguments and of its result.

    A bare tool name in YAML stands for ``{name: ...}``.
    """

    name: ToolName
    args: dict[str, Any] = {}
    result: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: object) -> object:
        return {"name": value} if isinstance(value, str) else value

    def describe(self) -> str:
        """The check as a call: ``book_reservation(party_size=4) -> {status: booked}``."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.args.items())
        text = f"{self.name}({args})"
        if self.result:
            result = ", ".join(f"{key}: {value!r}" for key, value in self.result.items())
            text += f" -> {{{result}}}"
        return text


class TurnExpect(_Strict):
    """What the bot must do in answer to one turn."""

    says: list[Text] = []
    says_any: list[Text] = []
    not_says: list[Text] = []
    tools: list[ToolCheck] = []
    no_tools: bool = False
    ends_call: bool | None = None
    max_latency_ms: Milliseconds | None = None

    @model_validator(mode="after")
    def _tools_or_none(self) -> TurnExpect:
        if self.no_tools and self.tools:
            raise ValueError("give either tools or no_tools: true, not both")
        return self


class Turn(_Strict):
    """One step of the caller: a line said, a silence, or hanging up."""

    say: Text | None = None
    language: LanguageCode | None = None
    silence: Annotated[float, Field(gt=0, le=600)] | None = None
    hang_up: Literal[True] | None = None
    expect: TurnExpect | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Turn:
        given = [key for key in ("say", "silence", "hang_up") if getattr(self, key) is not None]
        if len(given) != 1:
            shown = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of say, silence or hang_up (got {shown})")
        if self.language is not None and self.say is None:
            raise ValueError("language belongs to a say turn")
        if self.expect is not None and self.hang_up:
            raise ValueError("a hang_up turn has no reply to expect anything of")
        return self

    @property
    def kind(self) -> Literal["say", "silence", "hang_up"]:
        """Which of the three the turn is."""
        if self.say is not None:
            return "say"
        return "silence" if self.silence is not None else "hang_up"

    def describe(self) -> str:
        """The turn in a few words, for messages: ``say 'yes please'``, ``silence 8 s``."""
        if self.say is not None:
            short = self.say if len(self.say) <= 40 else self.say[:37] + "..."
            return f"say {short!r}"
        return f"silence {self.silence:g} s" if self.silence is not None else "hang up"


class ReturningCaller(_Strict):
    """What the store remembers of the caller from earlier calls."""

    name: Text | None = None
    language: LanguageCode | None = None
    usual_party_size: Annotated[int, Field(ge=1)] | None = None


class SeedReservation(_Strict):
    """A reservation booked through the store before the call."""

    name: Text
    phone: Phone | None = None
    party_size: Annotated[int, Field(ge=1)]
    date: dt.date
    time: dt.time
    code: Code | None = None
    status: StatusName = "confirmed"
    notes: Text | None = None

    @property
    def starts_at(self) -> dt.datetime:
        """The local start."""
        return dt.datetime.combine(self.date, self.time)


class ReservationMatch(_Strict):
    """A subset of a reservation's fields that one stored row must have."""

    name: Text | None = None
    phone: Phone | None = None
    party_size: Annotated[int, Field(ge=1)] | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    status: StatusName | None = None
    code: Code | None = None

    @model_validator(mode="after")
    def _something(self) -> ReservationMatch:
        if not self.fields():
            raise ValueError("give at least one of name, phone, party_size, date, time, status")
        return self

    def fields(self) -> dict[str, Any]:
        """The fields given, by name."""
        return {key: value for key, value in self if value is not None}

    def describe(self) -> str:
        """The match as ``{name: 'Ravi', party_size: 4}``."""
        shown = ", ".join(f"{key}: {_plain(value)}" for key, value in self.fields().items())
        return f"{{{shown}}}"


class ReservationsExpect(_Strict):
    """The business's reservations after the call, seeded ones included."""

    count: Annotated[int, Field(ge=0)] | None = None
    include: list[ReservationMatch] = []

    @model_validator(mode="after")
    def _something(self) -> ReservationsExpect:
        if self.count is None and not self.include:
            raise ValueError("give count, include or both")
        return self


class Expect(_Strict):
    """What the whole call must show."""

    greeting: list[Text] = []
    tools: list[ToolCheck] = []
    not_tools: list[ToolCheck] = []
    reservations: ReservationsExpect | None = None
    outcome: OutcomeName | None = None
    ended_by_bot: bool | None = None
    max_latency_ms: Milliseconds | None = None

    def is_empty(self) -> bool:
        """Whether it checks nothing."""
        return self == Expect()


class ScenarioSpec(_Strict):
    """One scenario file, as written."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    description: Text | None = None
    business: str
    language: LanguageCode | None = None
    modes: Annotated[list[Mode], Field(min_length=1)] | None = None
    caller: Phone | None = None
    returning_caller: ReturningCaller | None = None
    now: LocalDateTime
    seed: list[SeedReservation] = []
    turns: Annotated[list[Turn], Field(min_length=1)]
    expect: Expect = Expect()

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        if self.returning_caller is not None and self.caller is None:
            raise ValueError("returning_caller needs the caller's number (caller:)")
        if self.modes is not None and "audio" in self.modes and self.uses_hindi:
            raise ValueError(
                "modes: audio needs English lines (there is no offline Hindi speech recognition)"
            )
        if self.expect.is_empty() and all(turn.expect is None for turn in self.turns):
            raise ValueError("the scenario checks nothing: add expect (to the call or a turn)")
        return self

    @property
    def uses_hindi(self) -> bool:
        """Whether the call starts in Hindi or any line is tagged Hindi."""
        return self.language == "hi" or any(turn.language == "hi" for turn in self.turns)

    @property
    def run_modes(self) -> tuple[Mode, ...]:
        """The modes the scenario runs in: as given, else both unless it uses Hindi."""
        if self.modes is not None:
            return tuple(dict.fromkeys(self.modes))
        return ("text",) if self.uses_hindi else ("text", "audio")


@dataclass(frozen=True)
class Scenario:
    """A scenario checked against ``bots.yaml``, ready to run.

    Attributes:
        spec: The file's content.
        path: The file.
        business: The business it calls.
    """

    spec: ScenarioSpec
    path: Path
    business: Business

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.spec.name

    @property
    def now(self) -> dt.datetime:
        """The instant of the call (aware, UTC)."""
        return self.spec.now.replace(tzinfo=self.business.zone).astimezone(dt.UTC)

    def clock(self) -> dt.datetime:
        """The call's clock: always :attr:`now`, so that a scenario runs the same any day."""
        return self.now


class _ScenarioLoader(_StrictLoader):
    """``bots.yaml``'s loader (a repeated key is an error, dates stay text), read as people mean.

    YAML 1.1 reads an unquoted ``20:00`` as the base-60 number 1200 and ``say: yes`` as
    ``true``; here both stay text, and only ``true`` and ``false`` are booleans (as in
    YAML 1.2).
    """


def _int_or_clock(loader: _ScenarioLoader, node: yaml.ScalarNode) -> int | str:
    text = str(node.value)
    return text if ":" in text else int(loader.construct_yaml_int(node))


def _float_or_clock(loader: _ScenarioLoader, node: yaml.ScalarNode) -> float | str:
    text = str(node.value)
    return text if ":" in text else float(loader.construct_yaml_float(node))


def _bool_or_word(loader: _ScenarioLoader, node: yaml.ScalarNode) -> bool | str:
    text = str(node.value)
    return loader.construct_yaml_bool(node) if text.lower() in {"true", "false"} else text


_ScenarioLoader.add_constructor("tag:yaml.org,2002:bool", _bool_or_word)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _int_or_clock)
_ScenarioLoader.add_constructor("tag:yaml.org,2002:float", _float_or_clock)


def parse_scenario(text: str, where: str) -> ScenarioSpec:
    """Validate the text of one scenario file.

    Raises:
        ScenarioError: Every problem, each naming ``where`` and the key path.
    """
    try:
        data = yaml.load(text, Loader=_ScenarioLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise ScenarioError(f"{position}: YAML error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: YAML error: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{where}: expected one scenario, a mapping with name, business, now and turns; "
            f"got {describe_kind(data)}"
        )
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, where)) from None


def _problems(error: ValidationError, where: str) -> list[str]:
    """One ``file: key.path: reason`` line per problem; a misspelt key gets a suggestion."""
    lines: list[str] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        path = format_loc(loc, {})
        reason = explain(detail, _keys_beside(loc))
        line = f"{where}: {path}: {reason}" if path else f"{where}: {reason}"
        if line not in lines:
            lines.append(line)
    return lines


def _keys_beside(loc: tuple[int | str, ...]) -> list[str]:
    """The keys of the model holding the last key of ``loc`` (to suggest for a typo)."""
    model: type[BaseModel] = ScenarioSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        nested = _models_in(field.annotation) if field is not None else []
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in getattr(annotation, "__args__", ()) for model in _models_in(arg)]


def _against_config(spec: ScenarioSpec, where: str, directory: BusinessDirectory) -> Business:
    """The scenario's business, after checking that it can serve the scenario."""
    business = directory.by_slug(spec.business)
    if business is None:
        known = ", ".join(directory.slugs)
        raise ScenarioError(f"{where}: business: unknown business {spec.business!r} ({known})")
    problems = []
    languages = {
        "language": spec.language,
        "returning_caller.language": spec.returning_caller and spec.returning_caller.language,
    }
    for index, turn in enumerate(spec.turns):
        languages[f"turns[{index}].language"] = turn.language
    for key, language in languages.items():
        if language and language not in business.languages:
            spoken = ", ".join(business.languages)
            problems.append(f"{where}: {key}: {business.name} speaks {spoken}, not {language}")
    if problems:
        raise ScenarioError(problems)
    return business


def load_scenario(path: Path, directory: BusinessDirectory) -> Scenario:
    """Read and check one scenario file.

    Raises:
        ScenarioError: The file cannot be read or is invalid; every problem is listed.
    """
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}: cannot be read: {exc}") from None
    spec = parse_scenario(text, where)
    return Scenario(spec, path, _against_config(spec, where, directory))


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """The scenario files named, directories expanded to their YAML files (sorted).

    Raises:
        ScenarioError: A path does not exist, or a directory holds no scenario.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SCENARIO_SUFFIXES)
            if not found:
                raise ScenarioError(f"{path}: no scenario files (*.yaml) in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory")
    return list(dict.fromkeys(files))


def load_scenarios(paths: Sequence[Path], directory: BusinessDirectory) -> list[Scenario]:
    """Read and check every scenario under ``paths``; names must be unique.

    Raises:
        ScenarioError: Listing the problems of every invalid file.
    """
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in scenario_files(paths):
        try:
            scenarios.append(load_scenario(path, directory))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    seen: dict[str, Path] = {}
    for scenario in scenarios:
        first = seen.setdefault(scenario.name, scenario.path)
        if first != scenario.path:
            problems.append(f"{scenario.path}: name: {scenario.name!r} is also the name in {first}")
    if problems:
        raise ScenarioError(problems)
    return scenarios


def _plain(value: object) -> str:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)
