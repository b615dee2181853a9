"""What a caller wants (book, cancel, yes, goodbye...) and which language they speak."""

from __future__ import annotations

import re
from enum import StrEnum

from processors.dialogue.numbers import has_devanagari


class Intent(StrEnum):
    """What a caller wants or answers."""

    BOOK = "book"
    CHECK = "check"
    FIND = "find"
    CANCEL = "cancel"
    HOURS = "hours"
    ADDRESS = "address"
    GOODBYE = "goodbye"
    THANKS = "thanks"
    TRANSFER = "transfer"
    YES = "yes"
    NO = "no"
    GREETING = "greeting"
    WHO = "who"
    REPEAT = "repeat"
    CORRECTION = "correction"


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


_INTENTS: dict[Intent, re.Pattern[str]] = {
    Intent.YES: re.compile(
        r"\b(?:yes|yeah|yea|yep|yup|sure|correct|thats right|thats correct|exactly|ok|okay"
        r"|fine|perfect|great|go ahead|please do|do it|absolutely|definitely|of course|haan"
        r"|han|haa|haanji|theek|thik|sahi|bilkul|zaroor|jaroor|chalega|kar do|kardo|karo"
        r"|kar dijiye|book it|uh huh|alright|sounds good|works)\b"
        r"|^(?:ji|jee|ha|right|hmm|mm|ya)$"
    ),
    Intent.NO: re.compile(
        r"\b(?:no|nope|nah|nahi|nahin|nai|nako|galat|wrong|incorrect|not really|dont|do not"
        r"|forget it|leave it|rehne do|chhodo|nothing)\b"
        r"|^(?:na|not|mat)\b"
    ),
    Intent.GOODBYE: _words(
        "bye",
        "goodbye",
        "good bye",
        "thats all",
        "that is all",
        "thats it",
        "that will be all",
        "nothing else",
        "nothing more",
        "no thanks",
        "no thank you",
        "nahi bas",
        "bas itna",
        "bas",
        "dhanyavaad",
        "dhanyawad",
        "dhanyavad",
        "dhanyawaad",
        "shukriya",
        "alvida",
        "hang up",
        "see you",
        "good night",
        "aur kuch nahi",
        "kuch nahi",
    ),
    Intent.THANKS: _words("thank you", "thanks", "thank u", "thankyou", "thx"),
    Intent.CANCEL: _words(
        "cancel",
        "cancellation",
        "cancelled",
        "radd",
        "call off",
        "nahi aa (?:paunga|paungi|payenge)",
    ),
    Intent.FIND: _words(
        "my booking",
        "my reservation",
        "my table",
        "meri booking",
        "mera booking",
        "meri reservation",
        "find",
        "look up",
        "lookup",
        "check my",
        "status",
        "existing",
        "already (?:booked|have)",
        "i have a (?:booking|reservation)",
        "did i book",
        "booking (?:dekh|check)",
    ),
    Intent.HOURS: _words(
        "open",
        "opening",
        "close",
        "closing",
        "hours",
        "timings?",
        "khul\\w*",
        "band (?:hota|hote|hai)",
        "what time do you",
        "kitne baje tak",
    ),
    Intent.ADDRESS: _words(
        "address",
        "where are you",
        "where is",
        "located",
        "location",
        "directions",
        "how do i (?:get|reach|come)",
        "kahan (?:hai|ho|par|pe|hain)",
        "pata kya",
        "landmark",
    ),
    Intent.TRANSFER: re.compile(
        r"\b(?:speak|talk|connect|transfer|put me through)\b.*\b(?:person|human|someone|somebody"
        r"|manager|staff|owner|operator|reception|restaurant|people)\b"
        r"|\b(?:real person|human being|a human|kisi se baat|manager|insaan|staff se"
        r"|baat karwa\w*)\b"
    ),
    Intent.GREETING: re.compile(
        r"^(?:hi|hello|hey|namaste|namaskar|hii|good (?:morning|evening))\b"
    ),
    Intent.WHO: re.compile(
        r"\b(?:who (?:is this|am i (?:speaking|talking) (?:to|with)|are you)|whats your name"
        r"|what is your name|aap kaun|kaun bol (?:raha|rahi)|aapka naam kya)\b"
    ),
    Intent.REPEAT: re.compile(
        r"\b(?:repeat|say (?:that|it) again|pardon|come again|kya bola|phir se|dobara bol\w*"
        r"|kya kaha)\b|^(?:sorry|what|kya|huh|haan ji kya)$"
    ),
    Intent.CORRECTION: _words(
        "actually",
        "make it",
        "change",
        "instead",
        "rather",
        "i meant",
        "sorry",
        "balki",
        "badal\\w*",
    ),
}
_BOOK_STRONG = re.compile(
    r"\b(?:book (?:a |me |us )?(?:table|for|it)|make a (?:booking|reservation)|reserve|new booking"
    r"|table (?:book|chahiye|for|of)|book kar\w*|booking kar\w*|(?:want|need|get|like) a table"
    r"|reservation for|booking for|table reserve|aana (?:hai|chahte|chahta|chahti))\b"
)
_BOOK_WEAK = _words("book", "booking", "reservation", "table", "seats?", "jagah", "dinner", "lunch")
_CHECK = _words(
    "available",
    "availability",
    "free",
    "do you have",
    "any (?:table|space|room)",
    "is there",
    "jagah (?:hai|milegi|hogi)",
    "khali",
    "milegi",
    "mil (?:jayegi|sakti)",
    "space",
)
_HINDI = frozenset(
    "haan han haa nahi nahin hai hain ho kal aaj parson log logon baje mujhe mera meri mere naam"
    " chahiye karna karni karo kar dijiye kijiye hum ham ji theek thik bas dhanyavaad dhanyawad"
    " shukriya kitne kab kya aap aapka aapki ke ka ki liye se shaam raat subah dopahar sava saadhe"
    " paune dhai dedh galat sahi bilkul wala wali agle tareekh abhi accha acha achha haanji namaste"
    " chalega hoon hu raha rahi tha thi jayega milegi jagah khali pehla doosra bataiye batao kahan"
    " kripya yeh woh aur lekin ko mein hamein hame humein chahte chahta chahti"
    " radd karwa karwani".split()
)
_ENGLISH = frozenset(
    "the a an is are for to i im my we you your please want would like can could have at on of"
    " and people tomorrow today yes no thanks thank what when how this that it its be will there"
    " me us with name under next book reservation make change cancel need".split()
)


def read_intents(words: str) -> set[Intent]:
    """The intents of a normalised utterance."""
    intents = {intent for intent, pattern in _INTENTS.items() if pattern.search(words)}
    if _CHECK.search(words):
        intents.add(Intent.CHECK)
    if _BOOK_STRONG.search(words) or (
        _BOOK_WEAK.search(words) and not intents & {Intent.FIND, Intent.CANCEL}
    ):
        intents.add(Intent.BOOK)
    if Intent.THANKS in intents and Intent.NO in intents:
        intents.add(Intent.GOODBYE)  # "no, thank you"
    if Intent.HOURS in intents and Intent.BOOK in intents and "open" not in words:
        intents.discard(Intent.HOURS)  # "book a table for when you close"? rare; booking wins
    return intents


def read_language(words: str, raw: str) -> str | None:
    """``"hi"`` or ``"en"`` when the words of an utterance clearly say which, else ``None``.

    Args:
        words: The normalised utterance.
        raw: The utterance as said (Devanagari letters count for Hindi).
    """
    tokens = words.split()
    hindi = sum(token in _HINDI for token in tokens) + (2 if has_devanagari(raw) else 0)
    english = sum(token in _ENGLISH for token in tokens)
    if hindi and hindi >= english:
        return "hi"
    if english >= 2 and not hindi:
        return "en"
    if english > 2 * hindi + 1:
        return "en"
    return None
