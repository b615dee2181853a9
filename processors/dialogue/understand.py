"""What one caller utterance says: its intents and slots, in English or romanised Hindi.

Pure and deterministic: :func:`understand` reads the text, the caller's local date (for "kal"
and "Friday") and what the bot just asked (a bare "5" answers "for how many?" differently from
"what time?"), and returns an :class:`Utterance`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from processors.dialogue.intents import Intent, read_intents, read_language
from processors.dialogue.names import bare_name, find_name
from processors.dialogue.numbers import normalise
from processors.dialogue.when import blank, clock_time, day_of_month, take_date, take_time

Expecting = Literal["party", "date", "time", "date_time", "name", "phone", "code", "choice"]
"""What the bot's last question asked for, if it asked for one thing."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller utterance, understood.

    Attributes:
        text: What the caller said, as transcribed.
        intents: Everything it asks for or answers.
        language: ``"hi"`` or ``"en"`` when the words clearly say which, else ``None``.
        party_size: How many guests.
        date: The day, resolved against the caller's local date.
        time: The time of day (24-hour, local).
        name: Whom the table is for.
        code: A booking code, uppercase without spaces.
        phone: A phone number in E.164 (``+91...`` for a 10-digit Indian number).
        number: A bare number nothing else claimed ("make it five").
        choice: An option picked by position: 0 for "the first one", -1 for "the last".
    """

    text: str
    intents: frozenset[Intent] = frozenset()
    language: str | None = None
    party_size: int | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    name: str | None = None
    code: str | None = None
    phone: str | None = None
    number: int | None = None
    choice: int | None = None

    def has(self, *intents: Intent) -> bool:
        """Whether the utterance carries any of ``intents``."""
        return any(intent in self.intents for intent in intents)

    @property
    def has_booking_slots(self) -> bool:
        """Whether it gives a party size, date or time."""
        return self.party_size is not None or self.date is not None or self.time is not None


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


_CODE_CUE = _words(
    "code", "booking (?:number|id|reference)", "reference", "ref", "confirmation(?: number)?", "pnr"
)
_CODE_TOKEN = re.compile(r"^(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{4,8}$")
_SHORT_TOKEN = re.compile(r"^[a-z0-9]$|^(?=[a-z0-9]*\d)[a-z0-9]{2,3}$")
CODE_LENGTH = 6
"""Symbols in a booking code (``store.codes.CODE_LENGTH``; processors do not import the store)."""
_DIGIT_HOMOPHONES = {"for": "4", "to": "2", "too": "2", "ate": "8"}
"""Words a recogniser writes for a digit spelled in a code."""
_UPPER_CODE = re.compile(r"\b[A-Z0-9]{4,8}\b")
_PHONE = re.compile(r"\+?\d[\d\s-]{7,}\d")
_PHONE_HOMOPHONES = {**_DIGIT_HOMOPHONES, "h": "8", "oh": "0", "o": "0"}
"""Words a recogniser writes for a digit of a number read out digit by digit (in a code, "h"
and "o" are letters)."""
_PARTY_PATTERNS = (
    re.compile(
        r"\b(?:for|of)\s+(?:a\s+)?(?:party\s+of\s+|group\s+of\s+)?(?P<n>\d{1,3})\b"
        r"(?!\s*(?:(?:st|nd|rd|th)\b|:|/))"
    ),
    re.compile(
        r"\b(?P<n>\d{1,3})\s+(?:people|persons|person|pax|guests|adults|of us|log|logon|logo"
        r"|jan|jane|admi|aadmi|seats|members|diners|ppl|ke liye)\b"
    ),
    re.compile(
        r"\b(?:hum|ham|we are|were|we will be|well be|there are|there will be|total|party size"
        r"|table for|booking for|group of)\s+(?:total\s+)?(?P<n>\d{1,3})\b"
    ),
)
_ALONE = re.compile(r"\b(?:just me|only me|myself|akela|akeli|sirf main|just one person)\b")
_BARE_NUMBER = re.compile(r"\b(?P<n>\d{1,2})\b")
_CHOICE = re.compile(
    r"\b(?:the\s+)?(?P<which>first|second|third|last|other|pehla|pehle|pehli|doosra|doosre|dusra"
    r"|doosri|dusri|teesra|teesri|aakhri|akhri)\b(?P<tail>\s+(?:one|option|slot|wala|wali|vala"
    r"|vaala|waala|time))?"
)
_CHOICE_INDEX = {
    "first": 0,
    "pehla": 0,
    "pehle": 0,
    "pehli": 0,
    "second": 1,
    "doosra": 1,
    "doosre": 1,
    "dusra": 1,
    "doosri": 1,
    "dusri": 1,
    "third": 2,
    "teesra": 2,
    "teesri": 2,
    "last": -1,
    "other": -1,
    "aakhri": -1,
    "akhri": -1,
}


def understand(text: str, today: dt.date, expecting: Expecting | None = None) -> Utterance:
    """Read one utterance.

    Args:
        text: What the caller said, as transcribed (English, romanised Hindi or Devanagari).
        today: The caller's local date, for relative dates.
        expecting: What the bot just asked for, to read bare answers ("5", "Priya").

    Returns:
        The utterance's intents and slots; anything not understood is left out.
    """
    raw = text.strip()
    choice, raw_rest = _choice(raw, expecting)
    words = normalise(raw_rest)
    intents = read_intents(words)
    language = read_language(words, raw)

    phone, words = _phone(words)
    code = None
    if expecting == "code" or _CODE_CUE.search(words) or intents & {Intent.FIND, Intent.CANCEL}:
        code, words = _code(words, raw)
    time, words = take_time(words)
    date, words = take_date(words, today)
    party, words = _party(words)
    number = _bare_number(words)

    if number is not None and expecting == "party" and party is None:
        party, number = number, None
    elif number is not None and expecting in {"time", "date_time"} and time is None:
        time, number = clock_time(number, 0, None), None
    elif number is not None and expecting == "date" and date is None:
        date, number = day_of_month(today, number), None

    name = find_name(words)
    if name is None and expecting == "name":
        name = bare_name(words)
    return Utterance(
        text=text,
        intents=frozenset(intents),
        language=language,
        party_size=party,
        date=date,
        time=time,
        name=name,
        code=code,
        phone=phone,
        number=number,
        choice=choice,
    )


def _choice(raw: str, expecting: Expecting | None) -> tuple[int | None, str]:
    """An option picked by position; read before "first" can become the 1st of a month."""
    lowered = raw.lower()
    found = None
    for match in _CHOICE.finditer(lowered):
        if expecting == "choice" or match.group("tail"):
            found = match
    if found is None:
        return None, raw
    rest = lowered[: found.start()] + " " + lowered[found.end() :]
    return _CHOICE_INDEX[found.group("which")], rest


def _phone(words: str) -> tuple[str | None, str]:
    found = None
    for match in _PHONE.finditer(words):
        digits = re.sub(r"\D", "", match.group(0))
        number = _e164(digits, match.group(0).startswith("+"))
        if number is not None:
            found = number
            words = words[: match.start()] + "_" * len(match.group(0)) + words[match.end() :]
    if found is None:
        return _phone_with_homophones(words)
    return found, words


def _phone_with_homophones(words: str) -> tuple[str | None, str]:
    """A number read digit by digit with a digit or two heard as a word: "9 h 7 6 5 for 3 2 1 0".

    Only a word between two digits counts, and only if the run then makes a phone number.
    """
    tokens = words.split(" ")
    start = 0
    while start < len(tokens):
        end, digits = start, ""
        while end < len(tokens):
            token = tokens[end]
            if token.isdigit():
                digits += token
            elif (
                token in _PHONE_HOMOPHONES
                and digits
                and end + 1 < len(tokens)
                and tokens[end + 1].isdigit()
            ):
                digits += _PHONE_HOMOPHONES[token]
            else:
                break
            end += 1
        number = _e164(digits, False) if end - start >= 8 else None
        if number is not None:
            return number, " ".join([*tokens[:start], "_", *tokens[end:]])
        start = max(end, start + 1)
    return None, words


def _e164(digits: str, plus: bool) -> str | None:
    if len(digits) == 10 and not plus and digits[0] in "6789":
        return "+91" + digits
    if len(digits) == 11 and digits.startswith("0"):
        return "+91" + digits[1:]
    if len(digits) == 12 and digits.startswith("91"):
        return "+" + digits
    if plus and 8 <= len(digits) <= 15:
        return "+" + digits
    return None


def _code(words: str, raw: str) -> tuple[str | None, str]:
    """A booking code: one token like ``k7qd``, a spelled run like ``k 7 q d``, or ``ACEFHJ``."""
    tokens = words.split(" ")
    best: tuple[int, int] | None = None
    for index, token in enumerate(tokens):
        if _CODE_TOKEN.match(token):
            best = (index, index + 1)
    start = 0
    while start < len(tokens):
        end = start
        while (
            end < len(tokens)
            and (
                _SHORT_TOKEN.match(tokens[end])
                # "k 4 m 7 for x": a digit heard as its homophone, inside a code not yet whole
                or (
                    end - start >= 2
                    and tokens[end] in _DIGIT_HOMOPHONES
                    and len("".join(tokens[start:end])) < CODE_LENGTH
                )
            )
        ):
            tokens[end] = _DIGIT_HOMOPHONES.get(tokens[end], tokens[end])
            end += 1
        run = "".join(tokens[start:end])
        if end - start >= 2 and 4 <= len(run) <= 8:
            best = (start, end)
        start = max(end, start + 1)
    if best is None:
        upper = [m.group(0) for m in _UPPER_CODE.finditer(raw) if not m.group(0).isdigit()]
        return (upper[-1] if upper else None), words
    code = "".join(tokens[best[0] : best[1]]).upper()
    rest = tokens[: best[0]] + ["_"] + tokens[best[1] :]
    return code, " ".join(rest)


def _party(words: str) -> tuple[int | None, str]:
    found: list[tuple[int, int]] = []
    for pattern in _PARTY_PATTERNS:
        for match in pattern.finditer(words):
            found.append((match.start(), int(match.group("n"))))
        words = pattern.sub(blank, words)
    for match in _ALONE.finditer(words):
        found.append((match.start(), 1))
    sizes = [(start, size) for start, size in found if size > 0]
    return (max(sizes)[1] if sizes else None), words


def _bare_number(words: str) -> int | None:
    numbers = [int(match.group("n")) for match in _BARE_NUMBER.finditer(words)]
    return numbers[-1] if numbers else None
