"""The look-up flow: find the caller's bookings by code or number, and cancel one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from processors.dialogue.phrases import phrase, spoken_code
from processors.dialogue.replies import describe_reservation, describe_when, parse_slot
from processors.dialogue.state import ELSEWHERE, Action, ConversationState, Stage
from processors.dialogue.understand import Intent, Utterance


class LookupFlow(ConversationState):
    """The steps, answers and tool results of finding and cancelling bookings."""

    def _lookup(self, u: Utterance, purpose: str) -> list[Action]:
        self.purpose = purpose
        self._code_attempts = 0
        if u.code:
            return [self._call("find_reservation", {"code": u.code})]
        if self.facts.caller_number_known and not self._phone_tried:
            return [self._call("find_reservation", {})]
        key = "ask_code" if self.facts.caller_number_known else "need_code"
        return self._ask(Stage.CODE, phrase(key, self.language))

    def _at_code(self, u: Utterance) -> list[Action] | None:
        if u.code:
            return [self._call("find_reservation", {"code": u.code})]
        if u.has(*ELSEWHERE, Intent.GOODBYE, Intent.BOOK) or u.has_booking_slots:
            return None
        if u.has(Intent.NO):
            if self.facts.caller_number_known and not self._phone_tried:
                return [self._call("find_reservation", {})]
            return self._anything_else(phrase("sorry_again", self.language))
        return self._ask(Stage.CODE, phrase("code_again", self.language))

    def _at_choose_booking(self, u: Utterance) -> list[Action] | None:
        chosen = None
        if u.choice is not None and -len(self.bookings) <= u.choice < len(self.bookings):
            chosen = self.bookings[u.choice]
        elif u.code:
            chosen = next((b for b in self.bookings if b.get("code") == u.code), None)
        elif u.date is not None or u.time is not None:
            matches = [b for b in self.bookings if _matches(b, u.date, u.time)]
            chosen = matches[0] if len(matches) == 1 else None
        if chosen is None:
            return (
                None
                if u.has(*ELSEWHERE, Intent.GOODBYE)
                else self._ask(Stage.CHOOSE_BOOKING, phrase("which_booking", self.language))
            )
        return self._confirm_cancel(chosen)

    def _confirm_cancel(self, reservation: dict[str, Any], opening: str = "") -> list[Action]:
        self.target = reservation
        booking = describe_reservation(reservation, self.language)
        question = phrase("confirm_cancel", self.language, booking=booking)
        return self._ask(Stage.CANCEL_CONFIRM, f"{opening} {question}".strip())

    def _at_cancel_confirm(self, u: Utterance) -> list[Action] | None:
        if u.has(Intent.YES) and not u.has(Intent.NO) and self.target is not None:
            return [self._call("cancel_reservation", {"code": self.target.get("code")})]
        if u.has(Intent.NO):
            self.target = None
            return self._anything_else(phrase("kept", self.language))
        return None

    def _found(self, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
        if result.get("status") == "need_code":
            self._phone_tried = True
            return self._ask(Stage.CODE, phrase("need_code", self.language))
        if "found" not in result:
            return self._failed("find_reservation", arguments)
        reservations = [r for r in result.get("reservations") or [] if isinstance(r, dict)]
        code = str(arguments.get("code") or "")
        if not reservations:
            return self._none_found(code)
        heard = result.get("heard_code")
        if heard and len(reservations) == 1:
            # Found by a code that sounds like the one heard: say which, then go on as usual.
            near = phrase(
                "near_code",
                self.language,
                heard=spoken_code(str(heard)),
                code=spoken_code(str(reservations[0].get("code") or "")),
            )
            if self.purpose == "cancel":
                return self._cancel_which(reservations, near)
            return self._anything_else(f"{near} {self._found_text(reservations[0])}")
        if self.purpose == "cancel":
            return self._cancel_which(reservations)
        if len(reservations) == 1:
            return self._anything_else(self._found_text(reservations[0]))
        listed = "; ".join(
            f"{describe_reservation(r, self.language)}, code {spoken_code(str(r.get('code')))}"
            for r in reservations[:3]
        )
        count = len(reservations)
        return self._anything_else(
            phrase("found_many", self.language, count=count, bookings=listed)
        )

    def _none_found(self, code: str) -> list[Action]:
        if not code:
            self._phone_tried = True
            return self._ask(Stage.CODE, phrase("not_found_phone", self.language))
        self._code_attempts += 1
        spelled = spoken_code(code)
        text = phrase("not_found_code", self.language, code=spelled)
        if self._code_attempts >= 2:
            if self.facts.caller_number_known and not self._phone_tried:
                return [self._call("find_reservation", {})]
            return self._anything_else(phrase("sorry_again", self.language))
        return self._ask(Stage.CODE, text)

    def _cancel_which(self, reservations: list[dict[str, Any]], opening: str = "") -> list[Action]:
        active = [r for r in reservations if r.get("status") in {None, "confirmed", "booked"}]
        if not active:
            booking = describe_reservation(reservations[0], self.language)
            return self._anything_else(phrase("found_cancelled", self.language, booking=booking))
        if len(active) == 1:
            return self._confirm_cancel(active[0], opening)
        self.bookings = active[:3]
        listed = "; ".join(describe_reservation(r, self.language) for r in self.bookings)
        found = phrase("found_many", self.language, count=len(self.bookings), bookings=listed)
        which = phrase("which_booking", self.language)
        return self._ask(Stage.CHOOSE_BOOKING, f"{found} {which}")

    def _found_text(self, reservation: dict[str, Any]) -> str:
        booking = describe_reservation(reservation, self.language)
        if reservation.get("status") == "cancelled":
            return phrase("found_cancelled", self.language, booking=booking)
        code = spoken_code(str(reservation.get("code") or ""))
        return phrase("found_one", self.language, booking=booking, code=code)

    def _cancelled(self, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
        status = result.get("status")
        target = self.target or {}
        self.target = None
        if status == "cancelled":
            when = describe_when({**target, **result}, self.language)
            return self._anything_else(phrase("cancelled", self.language, when=when))
        if status in {"not_found", "not_cancelled"}:
            return self._anything_else(phrase("cancel_failed", self.language))
        return self._failed("cancel_reservation", arguments)


def _matches(reservation: Mapping[str, Any], day: dt.date | None, moment: dt.time | None) -> bool:
    slot = parse_slot(reservation.get("when"))
    if slot is None:
        return False
    return (day is None or slot[0] == day) and (moment is None or slot[1] == moment)
