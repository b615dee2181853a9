"""Booking codes: how they are made, and which one a caller most likely said.

A code is :data:`CODE_LENGTH` symbols from :data:`CODE_ALPHABET`, chosen to stay apart when
read aloud. Over an 8 kHz phone line some still sound alike: the "ee" letters (C, E, P, T and
"three"), the hissing ones (F, X, H and "six", whose differences lie above 4 kHz), M and N, and
the "ay" ones (A, J, K, "eight"). A recogniser that hears "H H 7 K 3 T" for "H X 7 K 3 P" is
one such pair from the right code twice over. :func:`spoken_distance` weighs a confusion between
such symbols at half an ordinary error, and :func:`nearest_code` picks the one code near enough
to what was heard, so that a caller is not sent away for the recogniser's mistake. The bot still
reads the code it found back to the caller, and cancelling needs the exact code.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

CODE_ALPHABET = "ACFHJKLMNPRTWXY34679"
"""Letters and digits that stay distinct when read aloud over a phone line. Not B, D, G, V, Z
(the "ee" letters most alike), O, 0, I, 1, S, 5, Q, U, 2, 8 (alike or like words), nor E: a
letter that is nothing but a vowel merges into a T, P or C said before it ("T E" was heard as
"T" in the audio scenarios). Codes made before E was dropped still work."""
CODE_LENGTH = 6

SOUND_ALIKE: tuple[str, ...] = (
    "BCDEGPTVZ3",  # the "ee" letters
    "FHSX6",  # hissing sounds, told apart above the phone line's 4 kHz
    "MN",
    "AHJK8",  # "ay"
    "IY5",  # "eye", "why", "five"
    "QUW2",  # "you"
    "N9",  # "en", "nine"
)
"""Groups of symbols that sound alike over the phone (the alphabet's and what a recogniser may
write for them)."""

CONFUSION_COST = 0.5
"""The cost of hearing one symbol of a :data:`SOUND_ALIKE` group for another."""
MAX_NEAR_DISTANCE = 1.0
"""How far what was heard may be from a code for :func:`nearest_code` to take it: two sound-alike
confusions or missing last symbols, or one other error (a symbol misheard, dropped or added)."""

MIN_HEARD = CODE_LENGTH - 2
"""The fewest symbols heard that :func:`nearest_code` matches against codes."""

_ALIKE = frozenset((a, b) for group in SOUND_ALIKE for a in group for b in group if a != b)


def new_code() -> str:
    """A random booking code (uniqueness is the store's to check)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """Upper case without spaces: what the store keeps and compares."""
    return "".join(code.split()).upper()


def spoken_distance(heard: str, code: str) -> float:
    """An edit distance between two codes as heard over the phone.

    Substituting a symbol for a sound-alike costs :data:`CONFUSION_COST`, and so does each of
    the code's last symbols not heard at all (an ending the caller swallowed or the recogniser
    merged: "T E" heard as "T"); any other substitution, a dropped symbol or an extra one
    costs 1.
    """
    heard, code = normalise(heard), normalise(code)
    previous = [float(j) for j in range(len(code) + 1)]
    for i, h in enumerate(heard, start=1):
        current = [float(i)]
        for j, c in enumerate(code, start=1):
            if h == c:
                substitution = 0.0
            elif (h, c) in _ALIKE:
                substitution = CONFUSION_COST
            else:
                substitution = 1.0
            current.append(
                min(previous[j - 1] + substitution, previous[j] + 1.0, current[j - 1] + 1.0)
            )
        previous = current
    # The code's last symbols not heard: a cut-off or merged ending ("T E" heard as "T").
    return min(previous[j] + (len(code) - j) * CONFUSION_COST for j in range(len(code) + 1))


def nearest_code(heard: str, codes: Iterable[str]) -> str | None:
    """The one code within :data:`MAX_NEAR_DISTANCE` of ``heard`` and nearer than any other.

    None when none is that near, when two are equally near (the caller must say it again), or
    when fewer than :data:`MIN_HEARD` symbols were heard.
    """
    if len(normalise(heard)) < MIN_HEARD:
        return None
    ranked = sorted((spoken_distance(heard, code), code) for code in set(codes))
    if not ranked or ranked[0][0] > MAX_NEAR_DISTANCE:
        return None
    if len(ranked) > 1 and ranked[1][0] == ranked[0][0]:
        return None
    return ranked[0][1]
