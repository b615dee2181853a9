"""End a caller's turn on smart-turn's verdict, or on the words when they plainly finish it.

smart-turn v3 judges from the voice alone whether a caller has finished, and it judges from
prosody learnt on natural speech. On the recorded test lines (a synthetic Indian-English voice
on a phone line) it heard two of five finished sentences as unfinished, with probabilities of
0.02-0.16 ("I would like to book a table for four tomorrow at eight pm", "Thank you, bye"),
and those turns then waited its fallback: 0.8 s of dead air each.

:class:`WordedTurnStopStrategy` adds a second opinion from the final transcript. When the VAD has
stopped, the STT has finalized what the caller said, and the words end the way finished
sentences do, the turn ends at once even though smart-turn would wait. When the words leave
something hanging ("a table for", "I would like", "kal shaam ko", "um"), or are too few to tell
("Hello", "No"), smart-turn's verdict stands. The cost: a caller who pauses after a sentence
that could have been the whole request and then adds to it gets an answer started, which their
next words interrupt (barge-in hands the turn back and the LLM sees both parts).
"""

from __future__ import annotations

import re

from loguru import logger
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

HANGING_WORDS = frozenset(
    # English: articles, conjunctions, prepositions, possessives, auxiliaries and modals,
    # verbs that want an object, and the sounds of someone thinking.
    "a an the and or but so because cause if to for at on in of with from by about around "
    "into than my our your his her their its is are was were am be been will would can could "
    "should shall may might must want wanna need like um uh er erm hmm "
    # Romanised Hindi: conjunctions, postpositions and "one" (Hinglish's "a").
    "aur ya lekin magar par ke ka ko se mein toh agar kyunki matlab jo ek "
    # The same in Devanagari.
    "और या लेकिन मगर पर के का को से में तो अगर क्योंकि मतलब जो एक".split()
)
"""Words a finished sentence does not end on (lower case)."""
MIN_WORDS = 3
"""Fewer words than this are left to smart-turn: "Hello", "No", "Yes" and "Okay" are as often
the start of a sentence, said before a pause for breath, as the whole of it. In the demo call
the caller's "Hello, I would like to book..." and "No, goodbye." were each cut in two."""

_WORD = re.compile(r"[^\s.,!?;:\"“”‘’()\[\]।॥…–—-]+")
"""A word: anything between spaces and punctuation (Devanagari's vowel signs are not ``\\w``)."""
_TRAILING_PAUSE = re.compile(r"(,|-|–|—|…|\.\.\.)\s*$")


def words_finish_the_turn(text: str) -> bool:
    """Whether a transcript ends the way a finished sentence does.

    Args:
        text: What the STT heard, punctuated or not, in English, romanised Hindi or Devanagari.

    Returns:
        False for fewer than :data:`MIN_WORDS` words, a trailing comma, dash or ellipsis (the
        STT heard a pause mid-sentence), or a last word in :data:`HANGING_WORDS`; True otherwise.
    """
    if _TRAILING_PAUSE.search(text):
        return False
    words = _WORD.findall(text.lower())
    return len(words) >= MIN_WORDS and words[-1] not in HANGING_WORDS


class WordedTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """pipecat's turn-analyzer stop strategy, with the final transcript as a second opinion.

    The turn ends as pipecat's does (analyzer says complete, transcript in) or as soon as the
    VAD has stopped and a finalized transcript reads finished (:func:`words_finish_the_turn`).
    """

    async def _maybe_trigger_user_turn_stopped(self) -> None:
        if (
            not self._turn_complete
            and self._vad_stopped
            and self._transcript_finalized
            and words_finish_the_turn(self._text)
        ):
            logger.debug("Turn ended on its words; smart-turn heard it unfinished")
            self._turn_complete = True
        await super()._maybe_trigger_user_turn_stopped()
