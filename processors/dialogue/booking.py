"""The booking flow: collect party size, date and time, check, take a name, read back, book."""

from __future__ import annotations

import datetime as dt
from typing import Any

from processors.dialogue.numbers import normalise
from processors.dialogue.phrases import phrase, spoken_code, spoken_slot
from processors.dialogue.replies import parse_slot, unavailable
from processors.dialogue.state import ELSEWHERE, Action, ConversationState, Draft, Say, Stage
from processors.dialogue.understand import Intent, Utterance
from processors.dialogue.when import names_weekday

SLOT_QUESTIONS = ("party", "date", "time", "date_time")


class BookingFlow(ConversationState):
    """The steps, answers and tool results of making a booking."""

    def _booking(self, u: Utterance) -> list[Action]:
        if u.has(Intent.BOOK) or not u.has(Intent.CHECK):
            self.want_booking = True
        first = self.stage in {Stage.IDLE, Stage.ANYTHING_ELSE}
        self._merge(u)
        actions = self._advance()
        questions = {phrase(f"ask_{slot}", self.language) for slot in SLOT_QUESTIONS}
        if first and actions and isinstance(actions[0], Say) and actions[0].text in questions:
            return [Say(f"{phrase('sure', self.language)} {actions[0].text}"), *actions[1:]]
        return actions

    def _merge(self, u: Utterance, *, number_is_party: bool = False) -> None:
        draft = self.draft
        if u.party_size is not None:
            draft.party = u.party_size
        elif number_is_party and u.number is not None:
            draft.party = u.number
        if u.date is not None:
            draft.date = u.date
        if u.time is not None:
            draft.time = u.time
        if u.name:
            draft.name = u.name
        if u.phone:
            draft.phone = u.phone

    def _missing(self) -> list[str]:
        draft = self.draft
        slots = (("party", draft.party), ("date", draft.date), ("time", draft.time))
        return [slot for slot, value in slots if value is None]

    def _advance(self) -> list[Action]:
        """Ask for what is missing, check the slot, or go on to the name and the read-back."""
        draft, facts = self.draft, self.facts
        if draft.party is not None and draft.party > facts.max_party_size:
            return self._too_large()
        if draft.party is not None and draft.party < max(facts.min_party_size, 1):
            draft.party = None
            limit = max(facts.min_party_size, 1)
            return self._ask(Stage.COLLECT, phrase("too_small", self.language, limit=limit))
        missing = self._missing()
        if missing:
            question = "ask_party" if "party" in missing else f"ask_{'_'.join(missing)}"
            return self._ask(Stage.COLLECT, phrase(question, self.language))
        slot = draft.key()
        assert slot is not None
        if draft.checked == slot:
            return self._after_available(announce=False)
        date, time, party = slot
        return [
            self._call(
                "check_availability",
                {"date": date.isoformat(), "time": time.strftime("%H:%M"), "party_size": party},
            )
        ]

    def _after_available(self, *, announce: bool, picked: bool = False) -> list[Action]:
        draft = self.draft
        slot = self._slot_text()
        if not self.want_booking:
            return self._ask(Stage.OFFER_BOOK, phrase("available_offer", self.language, slot=slot))
        if draft.name is None:
            key = "ask_name"
            if announce:
                key = "picked_ask_name" if picked else "available_ask_name"
            return self._ask(Stage.NAME, phrase(key, self.language, slot=slot))
        if not self.facts.caller_number_known and not draft.phone and not draft.phone_declined:
            return self._ask(Stage.PHONE, phrase("ask_phone", self.language))
        return self._readback()

    def _readback(self) -> list[Action]:
        text = phrase("readback", self.language, slot=self._slot_text(), name=self.draft.name)
        return self._ask(Stage.CONFIRM, text)

    def _book(self) -> list[Action]:
        draft = self.draft
        assert draft.date is not None and draft.time is not None
        arguments: dict[str, Any] = {
            "date": draft.date.isoformat(),
            "time": draft.time.strftime("%H:%M"),
            "party_size": draft.party,
            "name": draft.name,
            "confirmed_by_caller": True,
        }
        if draft.phone:
            arguments["phone"] = draft.phone
        return [self._call("book_reservation", arguments)]

    def _drop_booking(self) -> list[Action]:
        self._reset_draft()
        return self._anything_else(phrase("dropped", self.language))

    def _reset_draft(self) -> None:
        self.draft = Draft(name=self.draft.name, phone=self.draft.phone)
        self.want_booking = False
        self.alternatives = []

    def _too_large(self) -> list[Action]:
        limit = self.facts.max_party_size
        if self.facts.can_transfer:
            self._transfer_for_size = True
            text = phrase("too_large_transfer", self.language, limit=limit)
            return self._ask(Stage.TRANSFER_OFFER, text)
        return self._offer_smaller()

    def _offer_smaller(self) -> list[Action]:
        """Say the party-size limit and offer to book a smaller party instead."""
        self.draft.party = None
        limit = self.facts.max_party_size
        return self._ask(Stage.COLLECT, phrase("too_large", self.language, limit=limit))

    def _offered_smaller(self) -> bool:
        """Whether the last question was :meth:`_offer_smaller`'s (a yes-or-no question)."""
        limit = self.facts.max_party_size
        return self.question in {phrase("too_large", lang, limit=limit) for lang in ("en", "hi")}

    def _slot_text(self) -> str:
        draft = self.draft
        assert draft.party is not None and draft.date is not None and draft.time is not None
        return spoken_slot(draft.party, draft.date, draft.time, self.language)

    def _at_collect(self, u: Utterance) -> list[Action] | None:
        if u.has_booking_slots or u.has(*ELSEWHERE):
            return None
        if self._offered_smaller() and u.number is None:  # "book for 12 or fewer?"
            if u.has(Intent.NO) and not u.has(Intent.YES):
                return self._drop_booking()
            if u.has(Intent.YES):
                return self._ask(Stage.COLLECT, phrase("ask_party", self.language))
        if self._missing():
            return None
        # Every slot is known: the last one was not available and another was asked for.
        if u.has(Intent.NO) or u.has(Intent.GOODBYE):
            return self._drop_booking()
        if u.has(Intent.YES):
            return self._ask(Stage.COLLECT, phrase("ask_date_time", self.language))
        return None

    def _at_offer_book(self, u: Utterance) -> list[Action] | None:
        if u.has(*ELSEWHERE, Intent.CANCEL, Intent.FIND):
            return None
        if u.has(Intent.YES, Intent.BOOK) or u.has_booking_slots or u.name:
            self.want_booking = True
            self._merge(u)
            return self._advance()
        if u.has(Intent.GOODBYE):
            return self._goodbye()
        if u.has(Intent.NO):
            self._reset_draft()
            return self._anything_else()
        return None

    def _at_alternatives(self, u: Utterance) -> list[Action] | None:
        options = self.alternatives
        picked: list[tuple[dt.date, dt.time]] = []
        if u.choice is not None and -len(options) <= u.choice < len(options):
            picked = [options[u.choice]]
        elif u.time is not None or u.date is not None or u.number is not None:
            named = self._offered_day(u)
            picked = [
                (day, moment)
                for day, moment in options
                if (u.time is None or moment == u.time)
                and (named is None or day == named)
                and (u.number is None or moment.hour % 12 == u.number % 12)
            ]
            if not picked and (u.time is not None or u.date is not None):
                return None  # a new request: check it
        elif u.has(Intent.YES) and not u.has(Intent.NO):
            picked = list(options)
        elif u.has(Intent.NO):
            return self._ask(Stage.COLLECT, phrase("another_time", self.language))
        else:
            return None
        if len(picked) == 1:
            self._merge(u)
            self.draft.date, self.draft.time = picked[0]
            self.draft.checked = self.draft.key()
            return self._after_available(announce=True, picked=True)
        listed = self._options_text(picked or options)
        return self._ask(
            Stage.ALTERNATIVES, phrase("which_alternative", self.language, options=listed)
        )

    def _offered_day(self, u: Utterance) -> dt.date | None:
        """The day the caller names among the offered ones.

        A weekday said alone means the next such day, today included; but offered next
        Tuesday's times on a Tuesday, a caller who says "Tuesday" means the Tuesday offered.
        """
        today = self.today()
        if u.date != today or not names_weekday(normalise(u.text)):
            return u.date
        offered = {day for day, _ in self.alternatives}
        week_on = today + dt.timedelta(days=7)
        return week_on if today not in offered and week_on in offered else u.date

    def _at_name(self, u: Utterance) -> list[Action] | None:
        corrects_party = u.number is not None and u.has(Intent.CORRECTION)  # "make it five"
        if u.name or corrects_party:
            self._merge(u, number_is_party=corrects_party)
            return self._advance()
        if u.has_booking_slots or u.has(*ELSEWHERE, Intent.CANCEL, Intent.GOODBYE):
            return None
        if u.has(Intent.NO) and not u.has(Intent.YES):  # "no, I was only asking"
            return self._drop_booking()
        return self._ask(Stage.NAME, phrase("need_name", self.language))

    def _at_phone(self, u: Utterance) -> list[Action] | None:
        if u.phone:
            self._merge(u)
            return self._advance()
        if u.has(Intent.NO) and not u.has_booking_slots:
            self.draft.phone_declined = True
            return self._advance()
        return None

    def _at_confirm(self, u: Utterance) -> list[Action] | None:
        changes = u.has_booking_slots or u.name or u.phone or u.number is not None
        if changes:
            self._merge(u, number_is_party=True)
            return self._advance()
        if u.has(Intent.CANCEL) or (u.has(Intent.NO) and u.has(Intent.GOODBYE)):
            return self._drop_booking()
        if u.has(Intent.YES) and not u.has(Intent.NO):
            return self._book()
        if u.has(Intent.NO):
            return self._ask(Stage.CHANGE, phrase("what_change", self.language))
        if u.has(*ELSEWHERE):
            return None
        return self._ask(Stage.CONFIRM, phrase("yes_or_no", self.language))

    def _at_change(self, u: Utterance) -> list[Action] | None:
        if u.has_booking_slots or u.name or u.phone or u.number is not None:
            self._merge(u, number_is_party=True)
            return self._advance()
        if u.has(Intent.NO, Intent.CANCEL, Intent.GOODBYE):
            return self._drop_booking()
        if u.has(Intent.YES):
            return self._readback()
        return None

    def _checked(self, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
        if result.get("status") == "error":
            return self._failed("check_availability", arguments)
        if result.get("status") == "invalid":
            self.draft.date = self.draft.time = None
            return self._ask(Stage.COLLECT, phrase("details_again", self.language))
        key = self.draft.key()
        asked = (arguments.get("date"), arguments.get("time"), arguments.get("party_size"))
        if key is None or asked != (key[0].isoformat(), key[1].strftime("%H:%M"), key[2]):
            return self._advance()  # the caller changed something meanwhile
        if result.get("available") is True:
            self.draft.checked = key
            return self._after_available(announce=True)
        return self._not_available(result)

    def _not_available(self, result: dict[str, Any]) -> list[Action]:
        draft = self.draft
        draft.checked = None
        if result.get("reason") == "party_too_large":
            return self._too_large()
        assert draft.party is not None and draft.date is not None and draft.time is not None
        sorry = unavailable(
            result.get("reason"), draft.party, draft.date, draft.time, self.language
        )
        options = [slot for slot in map(parse_slot, result.get("alternatives") or []) if slot]
        self.alternatives = options[:3]
        if not self.alternatives:
            return self._ask(Stage.COLLECT, f"{sorry} {phrase('another_time', self.language)}")
        key = "alternatives" if len(self.alternatives) > 1 else "alternative_one"
        offer = phrase(key, self.language, options=self._options_text(self.alternatives))
        return self._ask(Stage.ALTERNATIVES, f"{sorry} {offer}")

    def _booked(self, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
        status = result.get("status")
        if status == "booked":
            code = spoken_code(str(result.get("code") or ""))
            self._reset_draft()
            return self._anything_else(phrase("booked", self.language, code=code))
        if status == "not_booked" and result.get("reason"):
            return self._not_available(result)
        if status == "not_booked":
            return self._readback()
        if status == "invalid":
            self.draft.checked = None
            return self._ask(Stage.COLLECT, phrase("details_again", self.language))
        return self._failed("book_reservation", arguments)
