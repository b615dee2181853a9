"""The recogniser's language model: reservation phrasings, built into an ARPA trigram in process.

pocketsphinx only hears words that are in its language model and its dictionary, so both are
made at start-up from:

* templates of what callers say when they book, change or cancel a table, expanded with
  numbers, weekdays, months, ordinals and clock times;
* the business's own words (its name, dishes, area), passed in by the caller;
* common Indian first names and surnames.

The trigram is built by :func:`arpa_model` (fixed-discount back-off, as the wheel's
``pocketsphinx.lm.ArpaBoLM``, but from weighted sentences, so it is quick).
The dictionary is cut down from the wheel's CMUdict to the model's words:
a decoder then loads in tens of milliseconds instead of seconds. Words CMUdict lacks (most
Indian names, some dishes) get a rough pronunciation from :func:`approximate_pronunciation`,
which reads romanised Hindi letter by letter.

Both files are written once per vocabulary to a temporary directory that lives as long as
the process, so every call of the same business reuses them.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import math
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType

import pocketsphinx
from loguru import logger

_NUMBERS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_DIGITS = "zero one two three four five six seven eight nine oh double".split()
_ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split() + [f"twenty {o}" for o in "first second third fourth fifth sixth seventh eighth ninth"
             .split()] + ["thirtieth", "thirty first"]  # fmt: skip
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = (
    "january february march april may june july august september october november december"
).split()

FIRST_NAMES = (
    "aarav aditi aditya ajay akash amit amitabh ananya anil anita anjali ankit anushka arjun "
    "arun asha deepak deepika divya gaurav geeta harish ishaan kabir karan kavya kiran kriti "
    "lakshmi manish manoj meera mohan neha nikhil nisha pooja prakash pranav priya rahul raj "
    "rajesh ramesh ravi rekha riya rohan rohit sachin sanjay sara shreya simran sneha sonia "
    "sunil sunita suresh tanvi varun vijay vikram vinod vivek yash "
    # Muslim, Christian, Sikh and other names common in India, and a few English ones.
    "aisha ali arif asif ayesha faisal farah farhan fatima hamid imran irfan iqbal javed "
    "nadia nasir rehan rizwan salman sameer sana shabana tariq zara zoya "
    "anthony ben david francis george jacob james john joseph maria mary michael paul peter "
    "rose sarah thomas "
    "gurpreet harpreet jaspreet manpreet navjot "
    "abhishek ashok bhavna chetan dinesh ganesh gopal hema jaya kamal lata madhu mahesh "
    "naveen nitin pallavi pankaj preeti radha rajiv ritu sandeep sangeeta shalini shweta "
    "srinivas uma usha venkat"
).split()
"""Common first names in India; those missing from CMUdict get an approximate pronunciation."""

SURNAMES = (
    "agarwal bhat chopra das desai gupta iyer jain joshi kapoor khan kumar malhotra mehta "
    "menon mishra nair patel pillai rao reddy shah sharma singh verma ahmed sheikh fernandes "
    "dsouza thomas banerjee chatterjee mukherjee bose ghosh sen pandey tiwari yadav saxena "
    "srivastava kulkarni patil naidu"
).split()

_LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")
_CODE_SYMBOLS = tuple("acefhjklmnprtwxy") + ("three", "four", "six", "seven", "nine")
"""What booking codes are made of (``store.codes.CODE_ALPHABET``), letters and digits spoken
one by one; other letters and digits are rarer (misread codes) but possible."""
_CODES = 240
"""How many made-up booking codes the corpus spells out: enough for most symbol pairs."""

_SLOTS: dict[str, tuple[str, ...]] = {
    "n": tuple(_NUMBERS),
    "hour": tuple(_NUMBERS[:12]),
    "minute": ("fifteen", "thirty", "forty five", "o five", "ten", "twenty", "forty",
               "thirty five", "fifty", "twenty five", "forty five"),
    "ampm": ("pm", "am", "in the evening", "at night", "in the afternoon", "in the morning"),
    "time": (
        "{hour}", "{hour} {ampm}", "{hour} pm", "{hour} o'clock", "{hour} o'clock {ampm}",
        "{hour} {minute}", "{hour} {minute} {ampm}", "{hour} {minute} pm", "half past {hour}",
        "half past {hour} {ampm}", "quarter past {hour}", "quarter to {hour}", "noon",
        "midnight", "lunch time", "dinner time", "{hour} thirty", "{hour} thirty pm",
    ),
    "weekday": tuple(_WEEKDAYS),
    "month": tuple(_MONTHS),
    "ordinal": tuple(_ORDINALS),
    "day": (
        "today", "tonight", "tomorrow", "tomorrow night", "tomorrow evening",
        "tomorrow afternoon", "day after tomorrow", "this {weekday}", "next {weekday}",
        "on {weekday}", "{weekday}", "{weekday} evening", "{weekday} night", "this weekend",
        "next week", "on the {ordinal}", "on the {ordinal} of {month}", "{month} {ordinal}",
        "the {ordinal}", "the {ordinal} of {month}", "{ordinal} {month}", "this coming {weekday}",
        "on {weekday} the {ordinal}", "this {weekday} evening", "next {weekday} evening",
        "for lunch {day_only}", "for dinner {day_only}", "{day_only} for lunch",
        "{day_only} for dinner", "{weekday} afternoon",
    ),
    "day_only": ("today", "tomorrow", "on {weekday}", "this {weekday}", "next {weekday}"),
    "when": (
        "{day}", "{day} at {time}", "at {time} {day}", "at {time}", "{day} around {time}",
        "{day} {time}",
    ),
    "people": ("{n} people", "{n} persons", "{n} guests", "{n} of us", "{n} adults"),
    "party": ("for {n}", "for {people}", "for {n}", "for {n} people"),
    "want": (
        "i'd like to book", "i want to book", "i would like to book", "can i book",
        "could i book", "can i reserve", "could i reserve", "i'd like to reserve",
        "i want to reserve", "i need", "we need", "i want", "we want", "i'd like", "we'd like",
        "can i get", "can we get", "could we get", "can you book", "please book", "book",
        "do you have", "is there", "have you got", "i'm looking for", "can i have",
        "could you book", "i'd like to make a booking for", "i need to book",
    ),
    "table": ("a table", "a table", "table", "a table free", "a table available", "a booking",
              "a reservation", "any table", "any tables", "space", "room"),
    "hi": ("", "", "", "hi", "hello", "okay", "yes", "so", "hi there", "hello there",
           "good evening", "okay then", "then", "and", "actually", "well", "um", "sorry"),
    "no_hi": ("", "", "no", "sorry", "actually", "okay", "oh", "no sorry", "um"),
    "end": ("", "", "", "please", "then", "instead", "thanks", "thank you", "if possible",
            "if you have one", "please thanks"),
    "yes": ("yes", "yeah", "yep", "yes yes", "okay", "sure", "ok", "alright", "great",
            "perfect", "fine", "good", "right", "yes please"),
    "bye": ("bye", "goodbye", "bye bye", "thanks bye", "thank you bye", "bye now",
            "have a nice day", "good night", "see you"),
    "thanks": ("thanks", "thank you", "thank you so much", "thanks a lot", "many thanks"),
    "name": tuple(FIRST_NAMES),
    "surname": tuple(SURNAMES),
    "phone": ("{digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit}",),
    "digit": tuple(_DIGITS),
    "ordinal_choice": ("first", "second", "third", "last", "earlier", "later", "other"),
}  # fmt: skip

SECTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "booking": (
        "3*{hi} {want} {table} {party} {when} {end}", "2*{hi} {want} {table} {when} {party} {end}",
        "{hi} {want} {table} {party} {end}", "{hi} {want} {table} {when} {end}",
        "{hi} {want} {table} {end}", "{hi} a table {party} {when} {end}",
        "{hi} table {party} {when} {end}", "{hi} {party} {when} {end}", "{hi} {when} {party} {end}",
        "i would like to make a reservation", "i want to make a booking",
        "{hi} i'd like to make a reservation {party} {when}", "{hi} can i make a booking {when}",
        "{hi} {want} {table} {party} {when} {end}",
    ),
    "availability": (
        "{hi} is {time} {day} available {party}", "{hi} is {time} on {day} available {party}",
        "{hi} is {day} at {time} available {party}", "{hi} is {time} available {end}",
        "{hi} is {time} possible {end}", "{hi} do you have anything {when} {party}",
        "{hi} are you free {when}", "{hi} do you have availability {when} {party}",
        "{hi} is there availability {when} {party}", "{hi} any tables {when} {party}",
        "{hi} do you have space {party} {when}", "{hi} is there a table available {when}",
        "{hi} is it possible {when} {party}", "{hi} what about {when} {end}",
        "{hi} how about {when} {end}", "{hi} can we come at {time} instead",
        "{hi} can we do {when} instead", "{hi} can we do {when}", "{hi} {when} works for us",
        "{hi} {when} is fine", "{hi} {when} would be great", "{hi} {when} is better",
        "{hi} any time after {time}", "{hi} between {time} and {time}", "{hi} what times are free",
        "{hi} what times do you have {when}", "{hi} which times are available {when}",
    ),
    "party": (
        "{no_hi} we are {n} {end}", "{no_hi} we're {n} {end}", "{no_hi} we are {people} {end}",
        "{no_hi} there are {n} of us", "{no_hi} there will be {n} of us",
        "{no_hi} there'll be {n} of us", "{no_hi} {party} {end}", "{no_hi} {people} {end}",
        "{no_hi} {n} {end}", "{no_hi} just {n}", "{no_hi} only {n}", "{no_hi} it's for {n}",
        "{no_hi} it's {people}", "{no_hi} a party of {n}", "{no_hi} make it {n} {end}",
        "{no_hi} make it {people} {end}", "{no_hi} it will be {n}", "{no_hi} it'll be {people}",
        "{no_hi} just the two of us", "just me", "{no_hi} add {n} more people",
        "{no_hi} can you make it {n}", "{no_hi} change it to {n} people",
    ),
    "day_time": (
        "{no_hi} {when} {end}", "{no_hi} {day} {end}", "{no_hi} at {time} {end}",
        "{no_hi} {time} {end}", "{no_hi} around {time}", "{no_hi} make it {time} {end}",
        "{no_hi} make it {day} {end}", "{no_hi} change it to {when}", "{no_hi} move it to {when}",
        "{no_hi} can we change it to {when}", "{no_hi} i meant {when}", "{no_hi} i said {when}",
        "{no_hi} not {day} {day}", "{no_hi} not {time} {time}", "{no_hi} {day} not {day}",
    ),
    "change": (
        "{hi} i want to cancel my booking", "{hi} cancel my booking {end}",
        "{hi} please cancel my reservation", "{hi} i need to cancel my booking",
        "{hi} i want to cancel my reservation", "{hi} i'd like to cancel my booking",
        "{hi} i need to cancel my table {when}", "{hi} can you cancel it",
        "{hi} yes cancel it", "{hi} cancel it {end}", "{hi} can i change my reservation",
        "{hi} i want to change my booking", "{hi} change my booking to {when}",
        "{hi} i have a booking {when}", "{hi} i booked a table {party} {when}",
        "{hi} can you check my booking {end}", "{hi} i want to check my booking",
        "{hi} i'd like to look up my reservation", "{hi} i'd like to check my reservation",
        "{hi} do i have a booking", "{hi} can you find my booking", "{hi} about my booking",
        "{hi} i'm calling about my reservation", "{hi} what time is my booking",
    ),
    "code": (
        "2*{hi} the code is {code}", "2*{no_hi} it's {code}", "2*{code}", "{no_hi} code {code}",
        "{hi} my code is {code}", "{hi} my booking code is {code}",
        "{hi} the booking code is {code}",
        "{hi} i want to cancel my reservation the code is {code}",
        "{hi} i want to cancel my booking the code is {code}",
        "{hi} i'd like to look up my reservation the code is {code}",
        "{hi} i'd like to cancel my booking my code is {code}", "{hi} cancel booking {code}",
        "{no_hi} i think it's {code}", "{no_hi} let me check it's {code}",
    ),
    "name": (
        "{hi} my name is {name}", "{hi} my name is {name} {surname}", "{hi} the name is {name}",
        "{hi} name is {name}", "{no_hi} it's {name}", "{no_hi} it's {name} {surname}",
        "{hi} this is {name}", "{hi} this is {name} {surname}", "{hi} i'm {name}", "3*{name}",
        "2*{name} {surname}", "{no_hi} {name} please", "{no_hi} under {name}",
        "{no_hi} it's under {name}", "{no_hi} it's under {name} {surname}",
        "{hi} under the name {name}", "{hi} the booking is under {name}",
        "{hi} book it under {name}", "{hi} book it under {name} {surname}",
        "{hi} put it under {name}", "{hi} the name is {name} {surname}", "{hi} {name} here",
    ),
    "phone": (
        "{no_hi} my number is {phone}", "{no_hi} it's {phone}", "{phone}",
    ),
    "questions": (
        "{hi} what time do you open {day}", "{hi} what time do you close {day}",
        "{hi} are you open {day}", "{hi} when do you open {day}", "{hi} when do you close {day}",
        "{hi} what are your timings {day}", "{hi} what are your timings",
        "{hi} what are your hours {day}", "{hi} what are your opening hours",
        "{hi} how late are you open {day}", "{hi} until what time are you open",
        "{hi} where are you located", "{hi} what is your address", "{hi} what's your address",
        "{hi} where is the restaurant", "{hi} how do i get there", "{hi} do you have parking",
        "{hi} do you have vegetarian food", "{hi} is there outdoor seating",
        "{hi} do you have a kids menu", "{hi} can i speak to someone",
        "{hi} can i talk to the manager", "{hi} can i talk to a person",
    ),
    "yes_no": (
        "4*{yes}", "2*{yes} {end}", "{yes} that's right", "yes that's correct", "{yes} go ahead",
        "{yes} book it", "{yes} please book it", "{yes} please do", "{yes} that's perfect",
        "{yes} sounds good", "{yes} that works", "{yes} that's fine", "{yes} that's great",
        "{yes} {thanks}", "that's right", "that's correct", "correct", "exactly", "go ahead",
        "please go ahead", "sounds good", "that works", "that's fine", "absolutely",
        "3*no", "no thanks", "no thank you", "nope", "no no", "not really", "no that's wrong",
        "no that's not right", "that's not right", "that's wrong", "no that's not correct",
        "no i was just checking", "i was just checking", "just checking",
    ),
    "closing": (
        "no that's all", "that's all", "that's all {thanks}", "no that's all {thanks}",
        "nothing else", "no nothing else", "that's it", "that's it {thanks}",
        "no that's it {thanks}", "no i think that's all", "i think that's all",
        "no thanks {bye}", "no thank you {bye}", "no {bye}", "2*{bye}", "{thanks} {bye}",
        "{yes} {thanks} {bye}", "{yes} {bye}", "2*{thanks}", "okay never mind {bye}",
        "never mind", "never mind {bye}", "i'll call back later", "i'll call later",
        "okay i'll call back later {bye}", "i'll call back later {bye}",
        "actually nothing i'll call later {bye}", "{no_hi} maybe later",
        "{no_hi} i'll think about it",
    ),
    "small_talk": (
        "hello", "hi", "hello hello", "hi there", "hello {business}",
        "hello is this {business}", "sorry", "sorry what", "sorry can you repeat that",
        "can you repeat that", "pardon", "sorry i didn't catch that", "i didn't catch that",
        "can you say that again", "what did you say", "one moment", "hold on", "wait",
        "just a moment", "one second", "it's a birthday", "it's for an anniversary",
        "we need a high chair", "a quiet table please", "a table near the window",
    ),
    "choice": (
        "the {ordinal_choice} one", "the {ordinal_choice} one please",
        "{yes} the {ordinal_choice} one",
        "{ordinal_choice} one", "the {ordinal_choice} option", "i'll take the {ordinal_choice} one",
        "{time} please", "the {time} one", "{yes} {time} please",
    ),
    "business": (
        "{business}", "is this {business}", "i want to book at {business}",
        "i'm calling {business}",
    ),
})  # fmt: skip
"""What callers say, by what they are saying it about, with ``{slots}``; a leading ``N*``
weighs a template N times."""

TEMPLATES: tuple[str, ...] = tuple(itertools.chain.from_iterable(SECTIONS.values()))
"""Every section's templates."""

_WHEN_BOOST = MappingProxyType({"day_time": 8.0, "availability": 2.0})
TOPICS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "party": MappingProxyType({"party": 8.0}),
        "date": _WHEN_BOOST,
        "time": _WHEN_BOOST,
        "date_time": _WHEN_BOOST,
        "choice": MappingProxyType({"choice": 8.0, "day_time": 4.0}),
        "name": MappingProxyType({"name": 8.0}),
        "phone": MappingProxyType({"phone": 100.0}),
        "code": MappingProxyType({"code": 8.0}),
        "yes_no": MappingProxyType({"yes_no": 8.0, "party": 2.0, "day_time": 2.0}),
    }
)
"""What the bot has just asked for (the dialogue's topic), to the sections a reply is likely
from and how many times more they weigh in that topic's model. Replies from other sections stay
possible ("no, make it Friday" to "shall I book it?"), only less likely.

On the scenario lines most misheard, models weighed so cut the errors of "when" answers ("seven
forty five in the evening", "thursday": 5 of 6 words wrong, now none) and of yes/no answers. A
phone number is ten digits and little else: at 8x, "9 8 4 5 0 1 2 3 4 5" came out as "hi there
are five zero want to three for five", at 100x right. Spelled codes stay hard at any weight:
letter names are short and alike."""

_SENTENCES_PER_TEMPLATE = 40.0
"""Each template's weight, shared by its expansions, so short answers weigh as much as long
booking requests in the model."""

_LIMIT = 80
"""At most this many expansions of a template, sampling its slots' values."""

_ORDER = 3
"""The n-gram order of the model."""

_DISCOUNT = 0.1
"""Probability mass each history leaves for unseen words. ArpaBoLM's default, 0.5, gave a word
error rate of about 33 % on espeak test speech, 0.05 to 0.2 about 20 %: callers keep close to
the templates, so the model can trust them."""

_BUILD_LOCK = threading.Lock()

_WORD = re.compile(r"[a-z][a-z']*")
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_CLOCK = re.compile(r"\b(\d{1,2}):(\d\d)\b")
_ORDINAL_NUMERAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_NUMERAL = re.compile(r"\d+")
_LONG_NUMERAL = re.compile(r"\d{5,}")


@dataclass(frozen=True)
class RecogniserModel:
    """A language model and dictionary on disk, ready for a ``pocketsphinx.Decoder``.

    Attributes:
        lm_path: The ARPA trigram.
        dict_path: The pronunciations of exactly the model's words.
        words: The model's vocabulary.
        approximated: Words whose pronunciation was guessed (not in CMUdict).
        build_secs: How long the build took.
    """

    lm_path: str
    dict_path: str
    words: frozenset[str]
    approximated: tuple[str, ...]
    build_secs: float


def words_of(text: str) -> list[str]:
    """The lowercase words of ``text`` as spoken: letters and apostrophes, numbers in words.

    Numerals are spelled as espeak-ng (the simulated caller's voice) reads them, so that a
    line written "7:30 pm for 2" compares equal to the heard "seven thirty pm for two".
    """
    return _WORD.findall(spell_numbers(text.lower()).replace("-", " "))


def spell_numbers(text: str) -> str:
    """``text`` with its numerals in words, as espeak-ng reads them.

    ``"7:05 on the 15th for 2"`` gives ``"seven zero five on the fifteenth for two"``.
    """
    text = _CLOCK.sub(_spell_clock, read_digits(text))
    text = _ORDINAL_NUMERAL.sub(lambda m: " " + _ordinal_words(int(m.group(1))) + " ", text)
    return _NUMERAL.sub(lambda m: " " + number_words(int(m.group(0))) + " ", text)


def read_digits(text: str) -> str:
    """``text`` with its numerals of five digits or more spaced out, as a caller reads them.

    Phone numbers and PIN codes are read digit by digit ("98765 43210": "9 8 7 6 5 4 3 2 1 0"),
    so the simulated caller is given this to say, and :func:`spell_numbers` reads alike.
    """
    return _LONG_NUMERAL.sub(lambda m: " ".join(m.group(0)), text)


def number_words(number: int) -> str:
    """A whole number in US English words, without "and": 115 is "one hundred fifteen"."""
    if number < 20:
        return (["zero"] + _NUMBERS)[number]
    if number < 100:
        tens, units = divmod(number, 10)
        return _TENS[tens - 2] + (f" {_NUMBERS[units - 1]}" if units else "")
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "")):
        if number >= size:
            high, rest = divmod(number, size)
            head = f"{number_words(high)} {name or 'hundred'}"
            return head + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(number)  # pragma: no cover


def _ordinal_words(number: int) -> str:
    words = number_words(number).split()
    last = words[-1]
    if last in _NUMBERS[:12]:
        words[-1] = _ORDINALS[_NUMBERS.index(last)]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _spell_clock(match: re.Match[str]) -> str:
    hour, minutes = match.group(1), match.group(2)
    if minutes.startswith("0"):
        spoken = f"zero {number_words(int(minutes[1]))}"
    else:
        spoken = number_words(int(minutes))
    return f" {number_words(int(hour))} {spoken} "


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions, deletions and insertions between two texts' words (for word error rate).

    Both are compared as :func:`words_of` them, so case and punctuation do not count.
    """
    said, heard = words_of(reference), words_of(hypothesis)
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, start=1):
        previous, row = row, [i] + [0] * len(heard)
        for j, other in enumerate(heard, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (word != other))
    return row[-1]


def recogniser_model(
    business_phrases: Sequence[str] = (), extra_names: Sequence[str] = (), topic: str | None = None
) -> RecogniserModel:
    """The model for a business, built on first use and then reused for the process's life.

    Args:
        business_phrases: The business's own words, as phrases a caller might say (its name,
            dishes, neighbourhood). Each becomes a sentence and fills the ``{business}`` slot.
        extra_names: Caller names to add to :data:`FIRST_NAMES`.
        topic: What the bot has just asked for (see :data:`TOPICS`), or None for the model of
            any utterance. Every topic's model has the same words, so the same dictionary.

    Returns:
        The paths and vocabulary of the model.
    """
    with _BUILD_LOCK:  # calls starting together build once; nobody reads a half-written file
        return _build(*_normalise(business_phrases, extra_names), _model_topic(topic))


def _model_topic(topic: str | None) -> str | None:
    """The first topic weighing the sections as ``topic`` does: they share one model."""
    boost = TOPICS.get(topic or "")
    return None if boost is None else next(t for t, b in TOPICS.items() if b is boost)


def _normalise(
    business_phrases: Sequence[str], extra_names: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The phrases and names as sorted lowercase words, the same whatever their spelling."""
    phrases = tuple(sorted({" ".join(words_of(p)) for p in business_phrases} - {""}))
    names = tuple(sorted({w for n in extra_names for w in words_of(n)}))
    return phrases, names


@lru_cache(maxsize=64)
def _build(phrases: tuple[str, ...], names: tuple[str, ...], topic: str | None) -> RecogniserModel:
    started = time.perf_counter()
    sentences = weighted_corpus(phrases, names, topic)
    words = sorted({w for s in sentences for w in s.split()})
    directory = Path(_model_directory())
    key = "\n".join(phrases + ("",) + names).encode()
    stem = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:12]
    if topic is None:
        spoken_names = frozenset(FIRST_NAMES + SURNAMES) | frozenset(names)
        pronunciations, approximated = _pronunciations(words, spoken_names)
        dict_path = directory / f"{stem}.dict"
        dict_path.write_text("".join(pronunciations), encoding="utf-8")
    else:
        general = _build(phrases, names, None)
        dict_path, approximated = Path(general.dict_path), list(general.approximated)
    lm_path = directory / (f"{stem}.arpa" if topic is None else f"{stem}-{topic}.arpa")
    lm_path.write_text(arpa_model(sentences, _ORDER, _DISCOUNT), encoding="utf-8")

    elapsed = time.perf_counter() - started
    logger.debug(
        f"Recogniser model{'' if topic is None else f' for {topic!r}'}: {len(words)} words, "
        f"{len(sentences)} sentences, {len(approximated)} approximated pronunciations, "
        f"built in {elapsed:.3f}s"
    )
    return RecogniserModel(
        str(lm_path), str(dict_path), frozenset(words), tuple(approximated), elapsed
    )


def corpus(business_phrases: Sequence[str] = (), extra_names: Sequence[str] = ()) -> list[str]:
    """The training sentences: every template expanded (see :func:`weighted_corpus`)."""
    return list(weighted_corpus(*_normalise(business_phrases, extra_names)))


def weighted_corpus(
    business_phrases: Sequence[str] = (), extra_names: Sequence[str] = (), topic: str | None = None
) -> dict[str, float]:
    """The training sentences with their weights (counts), each template weighing alike.

    Slots take their values in turn rather than in every combination (which would run to
    millions of sentences); an n-gram model only needs each value in each local context. A
    template's weight is shared by its expansions, so that a template with many (a booking
    request) does not drown out one with few ("yes please").

    Args:
        business_phrases: The business's own words (see :func:`recogniser_model`).
        extra_names: Caller names to add to :data:`FIRST_NAMES`.
        topic: What the bot has just asked for (a key of :data:`TOPICS`): its sections weigh
            more. None, or a topic not there, weighs every section alike.
    """
    phrases, names = _normalise(business_phrases, extra_names)
    boost = TOPICS.get(topic or "", {})
    weights: dict[str, float] = {}
    for section, expansions in _expansions(phrases, names):
        factor = boost.get(section, 1.0)
        for sentence, share in expansions.items():
            weights[sentence] = weights.get(sentence, 0.0) + share * factor
    weights.pop("", None)
    return weights


@lru_cache(maxsize=8)
def _expansions(
    phrases: tuple[str, ...], names: tuple[str, ...]
) -> tuple[tuple[str, dict[str, float]], ...]:
    """Each template's sentences with their shares of its weight, with the template's section."""
    slots = dict(_SLOTS)
    slots["name"] = tuple(dict.fromkeys(slots["name"] + names))
    slots["business"] = phrases
    slots["code"] = _codes()
    known: dict[str, list[str]] = {}
    out = []
    entries = [(section, t) for section, templates in SECTIONS.items() for t in templates]
    for section, entry in entries + [("business", phrase) for phrase in phrases]:
        times, _, template = entry.rpartition("*")
        expansions = [" ".join(e.split()) for e in _expand(template, slots, _LIMIT, known)]
        if not expansions:
            continue
        share = _SENTENCES_PER_TEMPLATE * int(times or 1) / len(expansions)
        shares: dict[str, float] = {}
        for sentence in expansions:
            shares[sentence] = shares.get(sentence, 0.0) + share
        out.append((section, shares))
    return tuple(out)


@cache
def _codes() -> tuple[str, ...]:
    """Made-up booking codes, spelled: mostly of the codes' alphabet, now and then not."""
    rng = random.Random(6)
    others = tuple(sorted(set(_LETTERS + tuple(_DIGITS[:10])) - set(_CODE_SYMBOLS)))
    codes = []
    for _ in range(_CODES):
        codes.append(
            " ".join(
                rng.choice(others) if rng.random() < 0.15 else rng.choice(_CODE_SYMBOLS)
                for _ in range(6)
            )
        )
    return tuple(codes)


def arpa_model(sentences: Mapping[str, float], order: int = 3, discount: float = 0.1) -> str:
    """A back-off n-gram model of weighted sentences, as ARPA text.

    Each history keeps ``1 - discount`` of its probability for the words seen after it, in
    proportion to their counts, and backs off to the shorter history for the rest (Katz back-off
    with a fixed discount mass, as ``pocketsphinx.lm.ArpaBoLM`` does, to any order and with
    fractional counts). The vocabulary is closed: unigrams are not discounted.

    Args:
        sentences: Sentence (words separated by spaces) to its count.
        order: The longest n-gram.
        discount: The probability mass each history leaves to its back-off.
    """
    counts: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    for sentence, weight in sentences.items():
        words = ("<s>", *sentence.split(), "</s>")
        for n in range(1, order + 1):
            table = counts[n - 1]
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                table[gram] = table.get(gram, 0.0) + weight

    total = sum(c for (w,), c in counts[0].items() if w != "<s>")
    probability: list[dict[tuple[str, ...], float]] = [
        {g: c / total for g, c in counts[0].items() if g != ("<s>",)}
    ]
    for n in range(2, order + 1):
        history_total: dict[tuple[str, ...], float] = {}
        for gram, count in counts[n - 1].items():
            history_total[gram[:-1]] = history_total.get(gram[:-1], 0.0) + count
        probability.append(
            {g: (1 - discount) * c / history_total[g[:-1]] for g, c in counts[n - 1].items()}
        )

    backoff: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    for n in range(2, order + 1):
        seen_lower: dict[tuple[str, ...], float] = {}
        lower = probability[n - 2]
        for gram in probability[n - 1]:
            history = gram[:-1]
            seen_lower[history] = seen_lower.get(history, 0.0) + lower[gram[1:]]
        backoff[n - 2] = {h: discount / max(1.0 - s, 1e-6) for h, s in seen_lower.items()}

    lines = ["\\data\\"]
    lines += [f"ngram {n}={len(counts[n - 1])}" for n in range(1, order + 1)]
    for n in range(1, order + 1):
        lines += ["", f"\\{n}-grams:"]
        grams = sorted(counts[n - 1])
        for gram in grams:
            p = probability[n - 1].get(gram)
            logp = math.log10(p) if p else -99.0
            text = " ".join(gram)
            if n < order:
                alpha = backoff[n - 1].get(gram, 1.0)
                lines.append(f"{logp:.4f} {text} {math.log10(alpha):.4f}")
            else:
                lines.append(f"{logp:.4f} {text}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _expand(
    template: str,
    slots: dict[str, tuple[str, ...]],
    limit: int | None = None,
    known: dict[str, list[str]] | None = None,
) -> list[str]:
    """Fill each ``{slot}`` of ``template``, cycling through the values of every slot.

    Each slot's values are shuffled (the same way every time), so that repeated slots
    ("between {time} and {time}") differ and that ``limit`` expansions sample every slot.
    """
    names = re.findall(r"\{(\w+)\}", template)
    if not names:
        return [template]
    known = {} if known is None else known
    options = []
    for k, name in enumerate(names):
        if name not in known:
            known[name] = list(
                itertools.chain.from_iterable(_expand(v, slots, None, known) for v in slots[name])
            )
        values = list(known[name])
        random.Random(f"{template}/{k}").shuffle(values)
        options.append(values)
    if not all(options):
        return []
    texts = re.split(r"\{\w+\}", template)  # the text around the slots
    count = max(len(o) for o in options)
    if limit is not None:  # but every word of a plain list (names, numbers) gets its turn
        plain = [len(o) for o, n in zip(options, names, strict=True) if _is_plain(slots[n])]
        count = min(count, max([limit, *plain]))
    out = []
    for i in range(count):
        picks = [o[i % len(o)] for o in options]
        out.append(texts[0] + "".join(p + t for p, t in zip(picks, texts[1:], strict=True)))
    return out


def _is_plain(values: tuple[str, ...]) -> bool:
    return not any("{" in value for value in values)


def _pronunciations(
    words: Iterable[str], names: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """Dictionary lines for ``words`` (every CMUdict variant), and the words approximated.

    Words CMUdict lacks get :func:`approximate_pronunciation`. ``names`` also get their plain
    English reading (:func:`english_reading`), if it differs: "Anil" is "AA N IH L" to many
    callers and "AE N IH L" to others, and the recogniser should know both.
    """
    cmudict = _cmudict()
    lines: list[str] = []
    approximated: list[str] = []
    for word in words:
        variants = cmudict.get(word)
        if variants is None:
            # Romanised "a" is a short "uh" in Hindi but often a long "aa" in English mouths.
            guess = approximate_pronunciation(word)
            variants = list(dict.fromkeys([guess, guess.replace("AH", "AA")]))
            approximated.append(word)
        if word in names:
            variants = list(dict.fromkeys([*variants, english_reading(word)]))
        for i, phones in enumerate(variants):
            key = word if i == 0 else f"{word}({i + 1})"
            lines.append(f"{key} {phones}\n")
    return lines, approximated


_IPA_TO_CMU: tuple[tuple[str, str], ...] = (
    ("aɪ", "AY"), ("aʊ", "AW"), ("ɔɪ", "OY"), ("eɪ", "EY"), ("oʊ", "OW"), ("əʊ", "OW"),
    ("tʃ", "CH"), ("dʒ", "JH"), ("iː", "IY"), ("i", "IY"), ("ɪ", "IH"), ("ᵻ", "IH"),
    ("ɛ", "EH"), ("e", "EH"), ("æ", "AE"), ("ɑː", "AA"), ("ɑ", "AA"), ("a", "AA"),
    ("ɔː", "AO"), ("ɔ", "AO"), ("ɒ", "AA"), ("o", "OW"), ("ʌ", "AH"), ("ə", "AH"), ("ɐ", "AH"),
    ("ʊ", "UH"), ("uː", "UW"), ("u", "UW"), ("ɜː", "ER"), ("ɜ", "ER"), ("ɚ", "ER"),
    ("θ", "TH"), ("ð", "DH"), ("ʃ", "SH"), ("ʒ", "ZH"), ("ŋ", "NG"), ("ɹ", "R"), ("r", "R"),
    ("ɾ", "T"), ("ʔ", "T"), ("ɡ", "G"), ("g", "G"), ("j", "Y"), ("h", "HH"), ("x", "HH"),
    ("p", "P"), ("b", "B"), ("t", "T"), ("d", "D"), ("k", "K"), ("f", "F"), ("v", "V"),
    ("s", "S"), ("z", "Z"), ("m", "M"), ("n", "N"), ("l", "L"), ("w", "W"),
)  # fmt: skip
"""espeak-ng's US-English IPA to CMU phones, longest symbol first; marks are dropped."""


@cache
def english_reading(word: str) -> str:
    """``word`` read by US-English spelling rules (espeak-ng's), in CMU phones.

    ``"anil"`` gives ``AE N IH L``, ``"sunita"`` ``S Y UW N IY T AH``: how a caller who reads
    the name as English says it.
    """
    from processors.espeak import phonemes

    ipa = phonemes(word, "en-us")
    out: list[str] = []
    i = 0
    while i < len(ipa):
        for symbol, phone in _IPA_TO_CMU:
            if ipa.startswith(symbol, i):
                out.append(phone)
                i += len(symbol)
                break
        else:
            i += 1  # stress, length and syllable marks, spaces
    return " ".join(out) or "SIL"


@cache
def _cmudict() -> dict[str, list[str]]:
    """The wheel's CMUdict as word to pronunciations (read once, about 0.2 s)."""
    path = pocketsphinx.get_model_path("en-us/cmudict-en-us.dict")
    entries: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as source:
        for line in source:
            key, _, phones = line.partition(" ")
            entries.setdefault(key.split("(", 1)[0], []).append(phones.strip())
    return entries


_GRAPHEMES: tuple[tuple[str, str], ...] = (
    ("ksh", "K SH"), ("chh", "CH"), ("aa", "AA"), ("ai", "AY"), ("au", "AW"), ("ee", "IY"),
    ("ii", "IY"), ("oo", "UW"), ("ou", "UW"), ("ei", "EY"), ("ay", "EY"), ("bh", "B"), ("ch", "CH"),
    ("dh", "D"), ("gh", "G"), ("jh", "JH"), ("kh", "K"), ("ph", "F"), ("sh", "SH"),
    ("th", "T"), ("ck", "K"), ("a", "AH"), ("e", "EY"), ("i", "IH"), ("o", "OW"), ("u", "UH"),
    ("b", "B"), ("c", "K"), ("d", "D"), ("f", "F"), ("g", "G"), ("h", "HH"), ("j", "JH"),
    ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("p", "P"), ("q", "K"), ("r", "R"),
    ("s", "S"), ("t", "T"), ("v", "V"), ("w", "W"), ("x", "K S"), ("y", "Y"), ("z", "Z"),
)  # fmt: skip
_FINAL_VOWELS = {"a": "AA", "i": "IY", "u": "UW", "y": "IY", "e": "EY"}


def approximate_pronunciation(word: str) -> str:
    """A rough CMU-phone pronunciation of a romanised Indian word (``"priya"``: P R IH Y AA).

    Reads the word left to right, longest letter group first; a final a, i, u or y is long.
    Good enough for names and dishes the caller says with an Indian accent anyway; English
    words should come from CMUdict.
    """
    letters = re.sub(r"[^a-z]", "", word.lower())
    letters = re.sub(r"([^aeiou])\1", r"\1", letters)  # double consonants sound single
    letters = re.sub(r"(?<=.)ah$", "a", letters)  # a final h after a vowel is silent ("shah")
    phones: list[str] = []
    i = 0
    while i < len(letters):
        if i == len(letters) - 1 and letters[i] in _FINAL_VOWELS and i > 0:
            phones.append(_FINAL_VOWELS[letters[i]])
            break
        for graphemes, sounds in _GRAPHEMES:
            if letters.startswith(graphemes, i):
                phones.append(sounds)
                i += len(graphemes)
                break
    return " ".join(phones) or "SIL"


@cache
def _model_directory() -> str:
    """A directory for the built models, removed when the process exits."""
    path = tempfile.mkdtemp(prefix="vartalaap-lm-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
