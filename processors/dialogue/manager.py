"""The dialogue engine's state machine: caller utterances and tool results in, actions out.

Pure: no pipecat, no I/O. :meth:`DialogueManager.hear` takes what the caller said and
:meth:`DialogueManager.tool_result` what a tool answered; both return the :class:`Say` and
:class:`CallTool` actions to carry out, in order. At most one tool call is outstanding at a
time, and its result is the next input the manager expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from loguru import logger

from processors.dialogue.booking import BookingFlow
from processors.dialogue.lookup import LookupFlow
from processors.dialogue.phrases import phrase
from processors.dialogue.replies import INTERRUPTED, tool_result
from processors.dialogue.state import (
    ELSEWHERE,
    Action,
    CallTool,
    Clock,
    Draft,
    Say,
    Stage,
)
from processors.dialogue.understand import Expecting, Intent, Utterance, understand

__all__ = ["Action", "CallTool", "Clock", "DialogueManager", "Draft", "Say", "Stage"]

_EXPECTING: dict[Stage, Expecting] = {
    Stage.NAME: "name",
    Stage.PHONE: "phone",
    Stage.CODE: "code",
    Stage.ALTERNATIVES: "choice",
    Stage.CHOOSE_BOOKING: "choice",
}
_YES_NO_STAGES = frozenset(
    {Stage.OFFER_BOOK, Stage.CONFIRM, Stage.CANCEL_CONFIRM, Stage.TRANSFER_OFFER, Stage.RETRY}
)
_GIVE_UP_WAITING = 2
"""Utterances heard while a tool runs before its result is given up for lost."""
_MISSES_BEFORE_TRANSFER = 3

StageHandler = Callable[[Utterance], list[Action] | None]


class DialogueManager(BookingFlow, LookupFlow):
    """A slot-filling dialogue for table reservations, one per call.

    Args:
        facts: The business's facts and what is known of the caller.
        clock: The current instant (aware); "today" is its date in the business's timezone.
        language: The language to start in; the caller's own words switch it.
    """

    @property
    def expecting(self) -> Expecting | None:
        """What the last question asked for, to read a bare answer."""
        if self.stage is not Stage.COLLECT:
            return _EXPECTING.get(self.stage)
        missing = self._missing()
        if "party" in missing:
            return "party"
        if missing == ["date", "time"]:
            return "date_time"
        if missing == ["date"]:
            return "date"
        if missing == ["time"] or not missing:
            return "time"  # or, with every slot known, "would another time suit you?"
        return None

    @property
    def listening_for(self) -> str | None:
        """The topic of the answer the bot waits for: :attr:`expecting`, or ``"yes_no"``."""
        if self.stage in _YES_NO_STAGES:
            return "yes_no"
        return self.expecting

    def hear(self, text: str) -> list[Action]:
        """What to do about something the caller said."""
        if self.ended:
            return []
        utterance = understand(text, self.today(), self.expecting)
        self._follow_language(utterance)
        if self.pending is not None:
            return self._said(self._while_waiting(utterance))
        misses = self._misses
        actions = self._dispatch(utterance)
        if self._misses == misses:
            self._misses = 0  # understood: the count of misses in a row starts again
        return self._said(actions)

    def _follow_language(self, u: Utterance) -> None:
        """Answer in the caller's language; a lone "haan" or "okay" does not switch it."""
        if u.language not in self.facts.languages or u.language is None:
            return
        if not self.last_said or len(u.text.split()) >= 2:
            self.language = u.language

    def tool_result(self, name: str, arguments: Mapping[str, Any], content: Any) -> list[Action]:
        """What to do now that the tool ``name`` answered ``content``."""
        pending = self.pending
        if pending is None or pending.name != name or self.ended:
            logger.debug("dialogue: ignoring a result of {} nobody waits for", name)
            return []
        self.pending = None
        self._waits = 0
        result = tool_result(content)
        if result.get("status") == INTERRUPTED:
            if name == "check_availability":
                # The caller spoke on while the slot was being checked (a pause mid-sentence
                # ends a turn): a check only reads, so check again with what they added.
                self.stage = Stage.COLLECT
                return self._said(self._advance())
            # TODO(dialogue): an interrupted book_reservation may still commit (the tool shields
            # it), and a second "yes" would then book twice; look it up before re-booking.
            return []  # the caller's next words say what now
        handlers = {
            "check_availability": self._checked,
            "book_reservation": self._booked,
            "find_reservation": self._found,
            "cancel_reservation": self._cancelled,
            "transfer_to_staff": self._transferred,
        }
        handler = handlers.get(name)
        if handler is None:
            return []
        return self._said(handler(dict(arguments), result))

    def recover(self) -> list[Action]:
        """What to say after an internal failure: sorry, and the last question again."""
        self.pending = None
        return self._said([Say(self._sorry())])

    def _dispatch(self, u: Utterance) -> list[Action]:
        if not u.text.strip():
            return [Say(self._sorry())]
        if u.has(Intent.REPEAT) and not (u.has_booking_slots or u.name or u.code):
            return [Say(self.last_said or phrase("how_help", self.language))]
        handlers: dict[Stage, StageHandler] = {
            Stage.COLLECT: self._at_collect,
            Stage.OFFER_BOOK: self._at_offer_book,
            Stage.ALTERNATIVES: self._at_alternatives,
            Stage.NAME: self._at_name,
            Stage.PHONE: self._at_phone,
            Stage.CONFIRM: self._at_confirm,
            Stage.CHANGE: self._at_change,
            Stage.ANYTHING_ELSE: self._at_anything_else,
            Stage.CODE: self._at_code,
            Stage.CHOOSE_BOOKING: self._at_choose_booking,
            Stage.CANCEL_CONFIRM: self._at_cancel_confirm,
            Stage.TRANSFER_OFFER: self._at_transfer_offer,
            Stage.RETRY: self._at_retry,
        }
        handler = handlers.get(self.stage)
        actions = handler(u) if handler is not None else None
        if actions is None:
            actions = self._general(u)
        return actions

    def _general(self, u: Utterance) -> list[Action]:
        if u.has(Intent.TRANSFER):
            return self._transfer()
        if u.has(Intent.CANCEL):
            return self._lookup(u, "cancel")
        if (u.has(Intent.FIND) and not u.has(Intent.BOOK)) or u.code:
            return self._lookup(u, "find")
        asks_info = u.has(Intent.HOURS, Intent.ADDRESS, Intent.WHO)
        asks_info = asks_info and u.time is None and u.party_size is None
        if asks_info:
            return [Say(self._info(u)), *self._follow_up()]
        if u.has(Intent.BOOK, Intent.CHECK) or u.has_booking_slots:
            return self._booking(u)
        if self.stage is Stage.COLLECT and (u.number is not None or u.name):
            return self._booking(u)
        if u.has(Intent.GOODBYE) or (
            u.has(Intent.THANKS) and self.stage in {Stage.IDLE, Stage.ANYTHING_ELSE}
        ):
            return self._goodbye()
        if u.has(Intent.GREETING) and self.stage is Stage.IDLE:
            return self._ask(Stage.IDLE, phrase("greeting", self.language))
        if u.has(Intent.YES) and self.stage in {Stage.IDLE, Stage.ANYTHING_ELSE}:
            return self._ask(Stage.IDLE, phrase("how_help", self.language))
        return self._not_understood()

    def _while_waiting(self, u: Utterance) -> list[Action]:
        self._waits += 1
        if self._waits >= _GIVE_UP_WAITING:
            name = self.pending.name if self.pending else None
            logger.warning("dialogue: no result from {}; carrying on without it", name)
            self.pending, self._waits = None, 0
            return self._dispatch(u)
        if self.pending is not None and self.pending.name == "check_availability":
            self._merge(u)  # a change while checking is checked again when the result lands
        return [Say(phrase("one_moment", self.language))]

    def _at_anything_else(self, u: Utterance) -> list[Action] | None:
        asks = u.has(Intent.BOOK, Intent.CHECK, Intent.FIND, Intent.CANCEL, *ELSEWHERE)
        if asks or u.has_booking_slots or u.code:
            return None
        if u.has(Intent.NO, Intent.GOODBYE, Intent.THANKS):
            return self._goodbye()
        return None

    def _at_transfer_offer(self, u: Utterance) -> list[Action] | None:
        if self._transfer_for_size and u.party_size is None and u.number is not None:
            if 0 < u.number <= self.facts.max_party_size:
                # "Okay, make it 12 then": a party the bot can seat, not a yes to the transfer.
                self._transfer_for_size = False
                return self._booking(dataclasses.replace(u, party_size=u.number, number=None))
        if u.has_booking_slots:
            self._transfer_for_size = False
            return None
        if u.has(Intent.YES) and not u.has(Intent.NO):
            return self._transfer()
        if u.has(Intent.NO):
            if self._transfer_for_size:
                self._transfer_for_size = False
                return self._offer_smaller()
            return self._anything_else()
        return None

    def _at_retry(self, u: Utterance) -> list[Action] | None:
        if u.has(Intent.YES) and not u.has(Intent.NO) and self.retry is not None:
            retry, self.retry = self.retry, None
            return [self._call(retry.name, retry.arguments)]
        if u.has(Intent.NO):
            self.retry = None
            self._reset_draft()
            return self._anything_else(phrase("gave_up", self.language))
        return None

    def _transferred(self, _arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
        if result.get("status") == "transferring":
            self.stage = Stage.ENDED
            return []
        return self._anything_else(phrase("transfer_failed", self.language))

    def _transfer(self) -> list[Action]:
        if not self.facts.can_transfer:
            return [Say(phrase("no_transfer", self.language)), *self._follow_up()]
        return [
            Say(phrase("transferring", self.language)),
            self._call("transfer_to_staff", {}),
        ]

    def _info(self, u: Utterance) -> str:
        facts, lines = self.facts, []
        if u.has(Intent.WHO):
            key = "who_persona" if facts.persona else "who"
            persona, business = facts.persona, facts.business_name
            lines.append(phrase(key, self.language, persona=persona, business=business))
        if u.has(Intent.HOURS):
            hours = (facts.hours_hi if self.language == "hi" else "") or facts.hours
            lines.append(phrase("hours" if hours else "no_hours", self.language, hours=hours))
        if u.has(Intent.ADDRESS):
            address = facts.address
            key = "address" if address else "no_address"
            lines.append(phrase(key, self.language, address=address))
        return " ".join(lines)

    def _not_understood(self) -> list[Action]:
        self._misses += 1
        if self._misses >= _MISSES_BEFORE_TRANSFER and self.facts.can_transfer:
            self._misses = 0
            return self._ask(Stage.TRANSFER_OFFER, phrase("offer_transfer_confused", self.language))
        return [Say(self._sorry())]
