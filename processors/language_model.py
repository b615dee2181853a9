"""The recogniser's language model: reservation phrasings, built into an ARPA trigram in process.

pocketsphinx only hears words that are in its language model and its dictionary, so both are
made at start-up from:

* templates of what callers say when they book, change or cancel a table, expanded with
  numbers, weekdays, months, ordinals and clock times;
* the business's own words (its name, dishes, area), passed in by the caller;
* common Indian first names and surnames.

The trigram comes from ``pocketsphinx.lm.ArpaBoLM`` (fixed-discount back-off, shipped in the
pocketsphinx wheel). The dictionary is cut down from the wheel's CMUdict to the model's words:
a decoder then loads in tens of milliseconds instead of seconds. Words CMUdict lacks (most
Indian names, some dishes) get a rough pronunciation from :func:`approximate_pronunciation`,
which reads romanised Hindi letter by letter.

Both files are written once per vocabulary to a temporary directory that lives as long as
the process, so every call of the same business reuses them.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import itertools
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import pocketsphinx
from loguru import logger
from pocketsphinx.lm import ArpaBoLM

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
    "sunil sunita suresh tanvi varun vijay vikram vinod vivek yash"
).split()
"""Common Indian first names; those missing from CMUdict get an approximate pronunciation."""

SURNAMES = (
    "agarwal bhat chopra das desai gupta iyer jain joshi kapoor khan kumar malhotra mehta "
    "menon mishra nair patel pillai rao reddy shah sharma singh verma"
).split()

_SLOTS: dict[str, tuple[str, ...]] = {
    "n": tuple(_NUMBERS),
    "hour": tuple(_NUMBERS[:12]),
    "minute": ("fifteen", "thirty", "forty five", "o five", "ten", "twenty", "forty"),
    "ampm": ("pm", "am", "in the evening", "at night", "in the afternoon", "in the morning"),
    "time": (
        "{hour}", "{hour} {ampm}", "{hour} o'clock", "{hour} o'clock {ampm}", "{hour} {minute}",
        "{hour} {minute} {ampm}", "half past {hour}", "half past {hour} {ampm}",
        "quarter past {hour}", "quarter to {hour}", "noon", "midnight", "lunch time",
        "dinner time",
    ),
    "weekday": tuple(_WEEKDAYS),
    "month": tuple(_MONTHS),
    "ordinal": tuple(_ORDINALS),
    "day": (
        "today", "tonight", "tomorrow", "tomorrow night", "tomorrow evening",
        "tomorrow afternoon", "day after tomorrow", "this {weekday}", "next {weekday}",
        "on {weekday}", "{weekday}", "{weekday} evening", "this weekend", "next week",
        "on the {ordinal}", "on the {ordinal} of {month}", "{month} {ordinal}",
        "the {ordinal}", "{ordinal} {month}",
    ),
    "people": ("{n} people", "{n} persons", "{n} guests", "{n} of us", "{n} adults"),
    "name": tuple(FIRST_NAMES),
    "surname": tuple(SURNAMES),
    "phone": ("{digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit} {digit}",),
    "digit": tuple(_DIGITS),
}  # fmt: skip

TEMPLATES: tuple[str, ...] = (
    # Booking.
    "i'd like to book a table", "i want to book a table", "i would like to make a reservation",
    "i want to make a booking", "can i book a table for {people}", "book a table for {n}",
    "i want to book a table for {people} {day} at {time}", "a table for {n} {day} at {time}",
    "can i reserve a table for {people} {day}", "i'd like a table for {n} at {time}",
    "do you have a table for {n} {day}", "is there a table available {day} at {time}",
    "do you have availability {day}", "table for {n} please", "we are {people}",
    "there will be {n} of us", "for {people}", "{people}", "for {n}", "{n}", "just {n}",
    "{day} at {time}", "{day}", "at {time}", "{time}", "around {time}", "{time} {day}",
    "{day} around {time}", "any time after {time}", "between {time} and {time}",
    "what about {time}", "how about {day}", "can we come at {time} instead",
    "make it {time}", "is {time} possible", "is {time} available",
    # Changing and cancelling.
    "i want to cancel my booking", "cancel my booking", "please cancel my reservation",
    "i need to cancel my table for {day}", "can i change my reservation",
    "change my booking to {day} at {time}", "change it to {time}", "move it to {day}",
    "i have a booking for {day}", "i booked a table for {people} {day}",
    "make it {people} instead", "add {n} more people",
    # Names and numbers.
    "my name is {name}", "my name is {name} {surname}", "it's {name}", "this is {name}",
    "{name}", "{name} {surname}", "under the name {name}", "the booking is under {name}",
    "book it under {name} {surname}", "my number is {phone}", "{phone}",
    # Questions.
    "what time do you open", "what time do you close", "are you open {day}",
    "when do you open {day}", "where are you located", "what is your address",
    "do you have vegetarian food", "do you have parking", "is there outdoor seating",
    "do you have a kids menu", "can i speak to someone", "can i talk to the manager",
    # Answers and small talk.
    "yes", "yes please", "yeah", "yes that's right", "that's right", "that's correct",
    "correct", "exactly", "no", "no thanks", "no thank you", "not really", "okay", "sure",
    "alright", "perfect", "great", "fine", "thank you", "thanks", "thank you bye", "bye",
    "goodbye", "thank you so much", "hello", "hi", "hello is this {business}", "sorry",
    "sorry what", "can you repeat that", "pardon", "i didn't catch that", "one moment",
    "hold on", "wait", "it's a birthday", "it's for an anniversary", "we need a high chair",
    "a quiet table please", "a table near the window", "that's all", "nothing else",
    # The business.
    "{business}", "is this {business}", "i want to book at {business}",
    "i'm calling {business}",
)  # fmt: skip

_SENTENCES_PER_TEMPLATE = 40
"""Each template contributes about this many sentences, so short answers weigh as much as
long booking requests in the model."""

_DISCOUNT = 0.1
"""Probability mass each history leaves for unseen words. ArpaBoLM's default, 0.5, gave a word
error rate of about 33 % on espeak test speech, 0.05 to 0.2 about 20 %: callers keep close to
the templates, so the model can trust them."""

_BUILD_LOCK = threading.Lock()

_WORD = re.compile(r"[a-z][a-z']*")


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
    """The lowercase words of ``text`` the recogniser can model (letters and apostrophes)."""
    return _WORD.findall(text.lower().replace("-", " "))


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
    business_phrases: Sequence[str] = (), extra_names: Sequence[str] = ()
) -> RecogniserModel:
    """The model for a business, built on first use and then reused for the process's life.

    Args:
        business_phrases: The business's own words, as phrases a caller might say (its name,
            dishes, neighbourhood). Each becomes a sentence and fills the ``{business}`` slot.
        extra_names: Caller names to add to :data:`FIRST_NAMES`.

    Returns:
        The paths and vocabulary of the model.
    """
    with _BUILD_LOCK:  # calls starting together build once; nobody reads a half-written file
        return _build(*_normalise(business_phrases, extra_names))


def _normalise(
    business_phrases: Sequence[str], extra_names: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The phrases and names as sorted lowercase words, the same whatever their spelling."""
    phrases = tuple(sorted({" ".join(words_of(p)) for p in business_phrases} - {""}))
    names = tuple(sorted({w for n in extra_names for w in words_of(n)}))
    return phrases, names


@lru_cache(maxsize=8)
def _build(phrases: tuple[str, ...], names: tuple[str, ...]) -> RecogniserModel:
    started = time.perf_counter()
    sentences = corpus(phrases, names)
    words = sorted({w for s in sentences for w in s.split()})
    pronunciations, approximated = _pronunciations(words)

    model = ArpaBoLM(text="\n".join(sentences), add_start=True, discount_mass=_DISCOUNT)
    model.compute()
    arpa = io.StringIO()
    model.write(arpa)

    directory = Path(_model_directory())
    key = "\n".join(phrases + ("",) + names).encode()
    stem = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:12]
    lm_path, dict_path = directory / f"{stem}.arpa", directory / f"{stem}.dict"
    lm_path.write_text(arpa.getvalue(), encoding="utf-8")
    dict_path.write_text("".join(pronunciations), encoding="utf-8")

    elapsed = time.perf_counter() - started
    logger.debug(
        f"Recogniser model: {len(words)} words, {len(sentences)} sentences, "
        f"{len(approximated)} approximated pronunciations, built in {elapsed:.3f}s"
    )
    return RecogniserModel(
        str(lm_path), str(dict_path), frozenset(words), tuple(approximated), elapsed
    )


def corpus(business_phrases: Sequence[str] = (), extra_names: Sequence[str] = ()) -> list[str]:
    """The training sentences: every template expanded, each weighted about equally.

    Slots take their values in turn rather than in every combination (which would run to
    millions of sentences); a trigram model only needs each value in each local context.
    """
    phrases, names = _normalise(business_phrases, extra_names)
    slots = dict(_SLOTS)
    slots["name"] = tuple(dict.fromkeys(slots["name"] + names))
    slots["business"] = phrases
    templates = TEMPLATES + phrases
    sentences: list[str] = []
    for template in templates:
        expansions = _expand(template, slots)
        if expansions:
            repeats = max(1, _SENTENCES_PER_TEMPLATE // len(expansions))
            sentences.extend(expansions * repeats)
    return sentences


def _expand(template: str, slots: dict[str, tuple[str, ...]]) -> list[str]:
    """Fill each ``{slot}`` of ``template``, cycling through the values of every slot."""
    names = re.findall(r"\{(\w+)\}", template)
    if not names:
        return [template]
    options = [_values(name, slots) for name in names]
    if not all(options):
        return []
    texts = re.split(r"\{\w+\}", template)  # the text around the slots
    out = []
    for i in range(max(len(o) for o in options)):
        # A different stride per slot, so repeated slots ("between {time} and {time}") differ.
        picks = [o[(i * (k + 1) + 3 * k) % len(o)] for k, o in enumerate(options)]
        out.append(texts[0] + "".join(p + t for p, t in zip(picks, texts[1:], strict=True)))
    return out


def _values(name: str, slots: dict[str, tuple[str, ...]]) -> list[str]:
    return list(itertools.chain.from_iterable(_expand(v, slots) for v in slots[name]))


def _pronunciations(words: Iterable[str]) -> tuple[list[str], list[str]]:
    """Dictionary lines for ``words`` (every CMUdict variant), and the words approximated."""
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
        for i, phones in enumerate(variants):
            key = word if i == 0 else f"{word}({i + 1})"
            lines.append(f"{key} {phones}\n")
    return lines, approximated


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
