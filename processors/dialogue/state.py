"""The dialogue engine's state and its small steps, shared by the booking and look-up flows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from processors.dialogue.facts import DialogueFacts
from processors.dialogue.phrases import phrase, spoken_list, spoken_option
from processors.dialogue.understand import Intent

Clock = Callable[[], dt.datetime]
"""The current instant, timezone-aware."""

ELSEWHERE = (Intent.TRANSFER, Intent.HOURS, Intent.ADDRESS, Intent.WHO, Intent.REPEAT)
"""Intents that leave the current question for a moment."""


@dataclass(frozen=True, slots=True)
class Say:
    """Speak ``text`` to the caller."""

    text: str


@dataclass(frozen=True, slots=True)
class CallTool:
    """Call the tool ``name`` with ``arguments`` (its result comes back as the next input)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Action = Say | CallTool


class Stage(StrEnum):
    """What the engine last asked, and so how it reads the next utterance."""

    IDLE = "idle"
    COLLECT = "collect"  # asking for party size, date or time
    OFFER_BOOK = "offer_book"  # "would you like me to book it?"
    ALTERNATIVES = "alternatives"  # offered other slots
    NAME = "name"
    PHONE = "phone"
    CONFIRM = "confirm"  # read the booking back, waiting for a yes
    CHANGE = "change"  # "what would you like to change?"
    ANYTHING_ELSE = "anything_else"
    CODE = "code"  # asking for a booking code
    CHOOSE_BOOKING = "choose_booking"  # which of the caller's bookings to cancel
    CANCEL_CONFIRM = "cancel_confirm"
    TRANSFER_OFFER = "transfer_offer"
    RETRY = "retry"  # a tool failed: "shall I try again?"
    ENDED = "ended"


@dataclass
class Draft:
    """The booking being put together."""

    party: int | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    name: str | None = None
    phone: str | None = None
    phone_declined: bool = False
    checked: tuple[dt.date, dt.time, int] | None = None  # the slot found available

    def key(self) -> tuple[dt.date, dt.time, int] | None:
        """The slot to check, once date, time and party size are all known."""
        if self.date is None or self.time is None or self.party is None:
            return None
        return self.date, self.time, self.party


class ConversationState:
    """Everything one call's dialogue remembers, and the steps every flow takes.

    Args:
        facts: The business's facts and what is known of the caller.
        clock: The current instant (aware); "today" is its date in the business's timezone.
        language: The language to start in; the caller's own words switch it.
    """

    def __init__(
        self,
        facts: DialogueFacts,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
        language: str | None = None,
    ) -> None:
        self.facts = facts
        self._clock = clock
        self._zone = ZoneInfo(facts.timezone)
        languages = facts.languages or ("en",)
        self.language = language if language in languages else languages[0]
        self.stage = Stage.IDLE
        self.draft = Draft(name=facts.caller_name)
        self.pending: CallTool | None = None
        self.want_booking = False
        self.alternatives: list[tuple[dt.date, dt.time]] = []
        self.bookings: list[dict[str, Any]] = []
        self.purpose = "find"
        self.target: dict[str, Any] | None = None
        self.retry: CallTool | None = None
        self.question = ""
        self.last_said = ""
        self._misses = 0
        self._waits = 0
        self._code_attempts = 0
        self._phone_tried = False
        self._transfer_for_size = False

    @property
    def ended(self) -> bool:
        """Whether the call is over for the engine (goodbye or transfer under way)."""
        return self.stage is Stage.ENDED

    def today(self) -> dt.date:
        """The business's local date."""
        return self._clock().astimezone(self._zone).date()

    def _call(self, name: str, arguments: dict[str, Any]) -> CallTool:
        self.pending = CallTool(name, arguments)
        return self.pending

    def _ask(self, stage: Stage, text: str) -> list[Action]:
        self.stage = stage
        self.question = text
        return [Say(text)]

    def _anything_else(self, lead: str = "") -> list[Action]:
        text = f"{lead} {phrase('anything_else', self.language)}".strip()
        self.stage = Stage.ANYTHING_ELSE
        self.question = phrase("anything_else", self.language)
        return [Say(text)]

    def _goodbye(self) -> list[Action]:
        farewell = phrase("farewell", self.language, business=self.facts.business_name)
        self.stage = Stage.ENDED
        return [CallTool("end_call", {"farewell": farewell})]

    def _failed(self, name: str, arguments: dict[str, Any]) -> list[Action]:
        self.retry = CallTool(name, arguments)
        return self._ask(Stage.RETRY, phrase("system_down", self.language))

    def _follow_up(self) -> list[Action]:
        """The question the caller was answering, or an offer to book."""
        if self.stage in {Stage.IDLE, Stage.ANYTHING_ELSE} or not self.question:
            self.want_booking = True
            return self._ask(Stage.OFFER_BOOK, phrase("offer_booking", self.language))
        return [Say(self.question)]

    def _sorry(self) -> str:
        if self.stage in {Stage.IDLE, Stage.ANYTHING_ELSE} or not self.question:
            return phrase("not_understood", self.language)
        return f"{phrase('sorry_again', self.language)} {self.question}"

    def _options_text(self, options: list[tuple[dt.date, dt.time]]) -> str:
        today = self.today()
        spoken = [spoken_option(day, moment, today, self.language) for day, moment in options]
        return spoken_list(spoken, self.language)

    def _said(self, actions: list[Action]) -> list[Action]:
        spoken = " ".join(action.text for action in actions if isinstance(action, Say))
        if spoken:
            self.last_said = spoken
        return actions
