"""Text normalisation for the dialogue engine: Devanagari to roman, number words to digits.

Everything the engine parses goes through :func:`normalise` first, so the parsers only ever see
lowercase roman words and ASCII digits: ``"हम पाँच लोग, kal shaam saat baje"`` becomes
``"hum 5 log kal shaam 7 baje"``.
"""

from __future__ import annotations

import re
import unicodedata

EN_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
HI_NUMBERS = {
    "ek": 1,
    "do": 2,
    "teen": 3,
    "tin": 3,
    "char": 4,
    "chaar": 4,
    "paanch": 5,
    "panch": 5,
    "paach": 5,
    "chhe": 6,
    "chhah": 6,
    "chah": 6,
    "che": 6,
    "saat": 7,
    "sat": 7,
    "aath": 8,
    "aat": 8,
    "nau": 9,
    "nou": 9,
    "das": 10,
    "dus": 10,
    "gyarah": 11,
    "gyaarah": 11,
    "barah": 12,
    "baarah": 12,
    "terah": 13,
    "chaudah": 14,
    "pandrah": 15,
    "solah": 16,
    "bees": 20,
    "tees": 30,
}
AMBIGUOUS_HI = frozenset({"do", "sat", "teen", "tin", "char", "che", "das", "bees", "tees"})
"""Hindi number words that are also English words: numbers only next to a Hindi cue."""
HI_CUES_AFTER = frozenset(
    {"log", "logon", "logo", "jan", "jane", "admi", "aadmi", "baje", "bajey", "baj", "bje"}
    | {"tareekh", "tarikh", "taarikh", "people", "persons", "guests"}
)
HI_CUES_BEFORE = frozenset(
    {"hum", "ham", "sava", "savaa", "saadhe", "sadhe", "saade", "sade", "paune", "pone"}
    | {"subah", "shaam", "sham", "raat", "dopahar", "sirf", "bas", "kul"}
)
EN_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_CHOICE_FOLLOWERS = frozenset({"one", "option", "slot", "choice", "time", "wala", "wali", "vala"})

DEVANAGARI_WORDS = {
    "आज": "aaj",
    "कल": "kal",
    "परसों": "parson",
    "परसो": "parson",
    "बजे": "baje",
    "सुबह": "subah",
    "दोपहर": "dopahar",
    "शाम": "shaam",
    "रात": "raat",
    "सवा": "sava",
    "साढ़े": "saadhe",
    "साढे": "saadhe",
    "पौने": "paune",
    "ढाई": "dhai",
    "डेढ़": "dedh",
    "डेढ": "dedh",
    "एक": "ek",
    "दो": "do",
    "तीन": "teen",
    "चार": "char",
    "पांच": "paanch",
    "पाँच": "paanch",
    "छह": "chhe",
    "छः": "chhe",
    "छे": "chhe",
    "सात": "saat",
    "आठ": "aath",
    "नौ": "nau",
    "दस": "das",
    "ग्यारह": "gyarah",
    "बारह": "barah",
    "लोग": "log",
    "लोगों": "logon",
    "हम": "hum",
    "हाँ": "haan",
    "हां": "haan",
    "हा": "haan",
    "जी": "ji",
    "नहीं": "nahi",
    "नही": "nahi",
    "ना": "na",
    "गलत": "galat",
    "ग़लत": "galat",
    "ठीक": "theek",
    "है": "hai",
    "हैं": "hain",
    "सही": "sahi",
    "बिल्कुल": "bilkul",
    "बस": "bas",
    "धन्यवाद": "dhanyavaad",
    "शुक्रिया": "shukriya",
    "नमस्ते": "namaste",
    "मेरा": "mera",
    "मेरी": "meri",
    "नाम": "naam",
    "के": "ke",
    "की": "ki",
    "का": "ka",
    "से": "se",
    "लिए": "liye",
    "लिये": "liye",
    "टेबल": "table",
    "बुक": "book",
    "बुकिंग": "booking",
    "करनी": "karni",
    "करना": "karna",
    "करो": "karo",
    "कर": "kar",
    "दीजिए": "dijiye",
    "चाहिए": "chahiye",
    "मुझे": "mujhe",
    "कैंसल": "cancel",
    "रद्द": "radd",
    "कोड": "code",
    "सोमवार": "somvaar",
    "मंगलवार": "mangalvaar",
    "बुधवार": "budhvaar",
    "गुरुवार": "guruvaar",
    "शुक्रवार": "shukravaar",
    "शनिवार": "shanivaar",
    "रविवार": "ravivaar",
    "अगले": "agle",
    "इस": "is",
    "तारीख": "tareekh",
    "तारीख़": "tareekh",
    "पहला": "pehla",
    "पहले": "pehle",
    "दूसरा": "doosra",
    "दूसरे": "doosre",
    "खुला": "khula",
    "खुलता": "khulta",
    "कब": "kab",
    "कहाँ": "kahan",
    "कहां": "kahan",
    "पता": "pata",
    "अलविदा": "alvida",
}
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_MERIDIEM = re.compile(r"\b([ap])\s*\.\s*m\b\.?")
_GLUED = re.compile(r"(?<=\d)(?=(?:am|pm|hrs|baje)\b)")
_PUNCTUATION = re.compile(r"[^\w\u0900-\u0963\u0966-\u097F:+/\s-]|_")
_LONE_COLON = re.compile(r"(?<!\d):|:(?!\d)")
_DASH = re.compile(r"(?<!\d)-|-(?!\d)")


def has_devanagari(text: str) -> bool:
    """Whether ``text`` has any Devanagari letter."""
    return bool(_DEVANAGARI.search(text))


def normalise(text: str) -> str:
    """Lowercase, roman-letter, digit-number form of an utterance, one space between words.

    Known Devanagari words become their roman spelling; Devanagari digits become ASCII;
    ``p.m.`` becomes ``pm`` and ``7pm`` becomes ``7 pm``; number words become digits (English
    ones always, Hindi ones that are also English words only beside a Hindi cue such as
    ``log`` or ``baje``); ``"twenty five"`` becomes ``25``; ordinal words become ``15th``
    unless they pick an option (``"the first one"``).
    """
    text = unicodedata.normalize("NFC", text).translate(_DEVANAGARI_DIGITS).lower()
    text = (
        text.replace("\u2019", "'").replace("'", "").replace("\u0964", " ").replace("\u0965", " ")
    )
    text = _MERIDIEM.sub(lambda m: f" {m.group(1)}m ", text)
    text = _PUNCTUATION.sub(" ", text)
    text = _LONE_COLON.sub(" ", _DASH.sub(" ", text))
    words = [DEVANAGARI_WORDS.get(word, word) for word in text.split()]
    text = _GLUED.sub(" ", " ".join(words))
    return " ".join(_numbers(text.split()))


def _numbers(words: list[str]) -> list[str]:
    words = _multipliers(words)
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        before = words[index - 1] if index else ""
        after = words[index + 1] if index + 1 < len(words) else ""
        value = _number_word(word, before, after)
        if value is None:
            ordinal = EN_ORDINALS.get(word)
            if ordinal is not None and after not in _CHOICE_FOLLOWERS:
                out.append(f"{ordinal}th")
            else:
                out.append(word)
            index += 1
            continue
        unit = EN_NUMBERS.get(after) if word in EN_TENS else None
        if unit is not None and 0 < unit < 10:
            out.append(str(value + unit))
            index += 2
            continue
        unit_ordinal = EN_ORDINALS.get(after) if word in EN_TENS else None
        if unit_ordinal is not None and unit_ordinal < 10:
            out.append(f"{value + unit_ordinal}th")
            index += 2
            continue
        out.append(str(value))
        index += 1
    return out


_PARTY_FOLLOWERS = frozenset(
    "people persons person guests adults pax log tomorrow today tonight on at this next in "
    "please monday tuesday wednesday thursday friday saturday sunday".split()
) | {""}
"""Words that follow a party size, where "for to" can only be a misheard "for two"."""


_PEOPLE = frozenset({"people", "persons", "guests", "adults"})


def _number_word(word: str, before: str, after: str) -> int | None:
    # Speech recognisers hear "for two" as "for to" (or "too"), "for four" as "for for" and,
    # over the phone, where "th" and "f" sound alike, "for three" as "for free": after "for"
    # and before what follows a party size, they can mean nothing else.
    if word in {"to", "too"} and after in _PEOPLE:
        return 2  # "to people" means nothing else either
    if before == "for" and after in _PARTY_FOLLOWERS:
        if word in {"to", "too"}:
            return 2
        if word == "free":
            return 3
        if word == "for":
            return 4
    if word == "one" and before in {"the", "that", "this", "which", "no", "any", "other", "every"}:
        return None
    if word == "one" and before in EN_ORDINALS:
        return None
    if word in EN_NUMBERS:
        return EN_NUMBERS[word]
    if word in EN_TENS:
        return EN_TENS[word]
    if word in HI_NUMBERS:
        if word in AMBIGUOUS_HI and after not in HI_CUES_AFTER and before not in HI_CUES_BEFORE:
            return None
        return HI_NUMBERS[word]
    return None


def _multipliers(words: list[str]) -> list[str]:
    """``"double five"`` → ``five five``; ``"a couple"`` → ``2``; ``"a dozen"`` → ``12``."""
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        after = words[index + 1] if index + 1 < len(words) else ""
        if word == "a" and after in {"couple", "dozen"}:
            index += 1
            continue
        if word in {"double", "triple"} and (after in EN_NUMBERS or after.isdigit()):
            out += [after] * (2 if word == "double" else 3)
            index += 2
            continue
        if word == "couple":
            out.append("2")
        elif word == "dozen":
            out.append("12")
        else:
            out.append(word)
        index += 1
    return out
