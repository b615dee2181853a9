"""The name a table is booked under: "my name is Priya", "it's under Rahul", "naam Amit hai"."""

from __future__ import annotations

import re

_WORD = r"[a-z\u0900-\u097F]+"
_NAME = rf"(?P<n>{_WORD}(?:\s+{_WORD})?)"

_STRONG = (
    re.compile(
        rf"\b(?:my name is|my names|my name|the name is|name is|names|mera naam|mera name|naam"
        rf"|name)\s+(?:is\s+|hai\s+)?{_NAME}"
    ),
    re.compile(rf"\bunder\s+(?:the\s+name\s+(?:of\s+)?|name\s+)?{_NAME}"),
    re.compile(rf"\bin\s+the\s+name\s+of\s+{_NAME}"),
    re.compile(rf"{_NAME}\s+(?:ke|ki)\s+(?:naam|name)\s+(?:se|par|pe|mein)\b"),
    re.compile(rf"{_NAME}\s+naam\s+se\b"),
    re.compile(rf"\b(?P<n>{_WORD})\s+(?:bol raha|bol rahi|speaking|here)\b"),
)
_WEAK = re.compile(rf"\b(?:this is|i am|im|main|it is|its|yeh|ye)\s+{_NAME}")

STOP = frozenset(
    "a an the and or but for to at on of in is it its be by with from as so if my your our"
    " please here speaking hai hain ji se ke ki ka ko par pe mein hoon hu hun bol raha rahi"
    " table booking reservation book name naam".split()
)
"""Words that end a name (or are never one)."""

NOT_NAMES = STOP | frozenset(
    "i im me we us you he she they this that there what which who when where why how"
    " yes yeah yep no nope not ok okay sure fine good great correct right wrong sorry thanks"
    " thank hello hi hey bye calling looking trying going coming planning hoping wondering"
    " interested available free busy just only also actually really very well new same"
    " today tomorrow tonight morning evening night afternoon noon midnight week weekend"
    " monday tuesday wednesday thursday friday saturday sunday january february march april"
    " may june july august september october november december pm am people persons guests"
    " cancel change check find confirm want need like would could can will shall do does did"
    " haan han nahi nahin theek thik sahi galat bas kal aaj parson log logon baje mujhe mera"
    " meri chahiye karna karni karo kar hum ham aap kya kab kitne shaam raat subah dopahar"
    " dhanyavaad shukriya accha acha achha bilkul abhi agle wala wali main yeh ye woh"
    " table tables booking bookings reservation dinner lunch party group family friends"
    " number phone code sir madam maam bhai didi somebody someone person human manager"
    " staff speak talk open closed hours address done all it".split()
)
"""Words that are never taken as a name, even where a name is expected."""

_FILLERS = frozenset(
    "its it is name my the please ji hai haan yes sure ok okay under this mera naam sir madam"
    " put book for".split()
)


def find_name(words: str) -> str | None:
    """The name a normalised utterance gives after a cue ("my name is", "under", "naam")."""
    for pattern in _STRONG:
        name = _last(pattern, words)
        if name is not None:
            return name
    return _last(_WEAK, words)


def bare_name(words: str) -> str | None:
    """A name said on its own ("Priya", "it's Priya Sharma"), when a name was asked for."""
    tokens = [token for token in words.split() if token not in _FILLERS]
    if not 1 <= len(tokens) <= 3:
        return None
    if any(token in NOT_NAMES or not re.fullmatch(_WORD, token) for token in tokens):
        return None
    return _title(tokens[:2])


def _last(pattern: re.Pattern[str], words: str) -> str | None:
    found = None
    for match in pattern.finditer(words):
        tokens = []
        for token in match.group("n").split():
            if token in STOP:
                break
            tokens.append(token)
        if tokens and tokens[0] not in NOT_NAMES:
            if len(tokens) > 1 and tokens[1] in NOT_NAMES:
                tokens = tokens[:1]
            found = _title(tokens)
    return found


def _title(tokens: list[str]) -> str:
    return " ".join(token[:1].upper() + token[1:] for token in tokens)
