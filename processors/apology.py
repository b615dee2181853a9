"""The words and the audio of the apology a caller hears when an engine fails.

The clip must play when the failing engine is the TTS itself, so nothing is synthesised at the
moment of failure. Instead:

1. **Spoken clip (preferred).** When the caller first speaks on a call, the apology is
   synthesised with the business's own TTS voice (while that engine is healthy) and kept in
   :data:`CLIPS`, a process-wide cache keyed by business, language, voice, sample rate and text.
   Later calls of the same business and language reuse it without touching the network. Waiting
   for the caller's first words keeps the one-off request away from the greeting (when the TTS
   is busy and latency matters) and off calls where nobody ever speaks; a failure can only leave
   a caller waiting after they have spoken, and a TTS answers in well under a turn's length.
2. **Built-in chime (last resort).** If no spoken clip exists (the TTS has not answered once for
   this business and language since the process started, e.g. it fails from the greeting on),
   a short, soft two-note chime generated here in code plays instead: no words, but proof that
   the line is alive, followed by whatever the next turn brings. It is not a beep: gentle sine
   notes under a smooth envelope, well below full scale.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from loguru import logger

Synthesise = Callable[[str], Awaitable[bytes]]
"""Text to mono PCM16 at the clip's sample rate (a one-off request to the call's TTS)."""

APOLOGIES: Mapping[str, str] = MappingProxyType(
    {
        "en": (
            "Sorry, I'm having some trouble on my side right now. Could you say that again, "
            "or shall I have the restaurant call you back?"
        ),
        "hi": (
            "Maaf kijiye, abhi mere system mein thodi dikkat aa rahi hai. Kya aap dobara "
            "bolenge, ya main restaurant se aapko call back karwa doon?"
        ),
    }
)
"""The apology per call language: it says sorry and offers a call back from the restaurant."""

MIN_CLIP_SECS = 0.5
"""A synthesised clip shorter than this is treated as a failed synthesis."""


def apology_text(language: str) -> str:
    """The apology in ``language``, or in English when there is none for it."""
    return APOLOGIES.get(language, APOLOGIES["en"])


@dataclass(frozen=True)
class ClipKey:
    """Which spoken clip: one per business, language, voice, rate and wording."""

    business: str
    language: str
    voice: str
    sample_rate: int
    text: str


class ApologyClips:
    """A process's spoken apology clips (PCM16 mono), synthesised once and kept in memory."""

    def __init__(self) -> None:
        self._clips: dict[ClipKey, bytes] = {}

    def get(self, key: ClipKey) -> bytes | None:
        """The clip for ``key``, if one has been synthesised."""
        return self._clips.get(key)

    def put(self, key: ClipKey, pcm: bytes) -> None:
        """Keep a clip (at least :data:`MIN_CLIP_SECS` of whole 16-bit samples)."""
        if len(pcm) % 2 or len(pcm) < MIN_CLIP_SECS * key.sample_rate * 2:
            raise ValueError(f"not a usable clip: {len(pcm)} bytes at {key.sample_rate} Hz")
        self._clips[key] = pcm

    async def ensure(self, key: ClipKey, synthesise: Synthesise) -> bytes:
        """The clip for ``key``, synthesising it first if it is missing.

        Concurrent first calls of one business may both synthesise it; the last one wins, which
        is harmless (a second short TTS request) and avoids sharing locks across event loops.

        Raises:
            Exception: Whatever the synthesis raised, or ``ValueError`` for unusable audio.
        """
        clip = self._clips.get(key)
        if clip is None:
            pcm = await synthesise(key.text)
            self.put(key, pcm)
            clip = pcm
        return clip

    def clear(self) -> None:
        """Forget every clip (for tests, or after a voice change)."""
        self._clips.clear()

    def __len__(self) -> int:
        return len(self._clips)


CLIPS = ApologyClips()
"""The process-wide cache that calls share."""


@lru_cache(maxsize=4)
def chime(sample_rate: int) -> bytes:
    """A soft two-note chime (0.75 s of PCM16 mono), the fallback when no clip exists."""
    notes = ((523.25, 0.05, 0.28), (659.25, 0.36, 0.34))  # C5 then E5: (Hz, start, length)
    samples = [0.0] * round(0.75 * sample_rate)
    for frequency, start, length in notes:
        first, count = round(start * sample_rate), round(length * sample_rate)
        step = 2 * math.pi * frequency / sample_rate
        for i in range(count):
            envelope = math.sin(math.pi * i / count) ** 2  # smooth rise and fall: no click
            samples[first + i] += envelope * math.exp(-3.0 * i / count) * math.sin(step * i)
    peak = 0.18 * 32767  # well below full scale
    return b"".join(
        max(-32768, min(32767, round(s * peak))).to_bytes(2, "little", signed=True) for s in samples
    )


@dataclass
class Apology:
    """The apology one call plays: its words, and where its audio comes from.

    Args:
        text: What the apology says (also written to the conversation and the transcript).
        sample_rate: Rate of the audio to play (the pipeline's output rate).
        key: Which cached spoken clip to use; ``None`` means the chime only.
        synthesise: How to make the spoken clip when it is missing (``None``: never).
        clips: The cache to read and fill.
    """

    text: str
    sample_rate: int
    key: ClipKey | None = None
    synthesise: Synthesise | None = None
    clips: ApologyClips = field(default_factory=lambda: CLIPS)

    async def prepare(self) -> bool:
        """Make sure the spoken clip is cached (a network request the first time only).

        Returns:
            Whether a spoken clip is available. Failures are logged, not raised: the chime
            remains the fallback, and the call goes on.
        """
        if self.key is None:
            return False
        if self.clips.get(self.key) is not None:
            return True
        if self.synthesise is None:
            return False
        started = time.monotonic()
        try:
            pcm = await self.clips.ensure(self.key, self.synthesise)
        except Exception as exc:
            logger.warning("apology clip not synthesised ({}): {}", type(exc).__name__, exc)
            return False
        logger.debug(
            "apology clip for {}/{} ready: {:.1f} s of audio in {:.2f} s",
            self.key.business,
            self.key.language,
            len(pcm) / 2 / self.sample_rate,
            time.monotonic() - started,
        )
        return True

    def audio(self) -> tuple[bytes, str]:
        """The PCM16 to play now and what it is (``"spoken clip"`` or ``"chime"``)."""
        clip = self.clips.get(self.key) if self.key is not None else None
        if clip is not None:
            return clip, "spoken clip"
        return chime(self.sample_rate), "chime"
