"""Small PCM helpers shared by the fakes: the simulated caller's codec and resampler, and silence.

All PCM here is 16-bit signed little-endian mono ("linear16"), the format pipecat and Deepgram use.
"""

from __future__ import annotations

from bot.simulated_caller.audio import (
    ULAW_SILENCE,
    resample,
    rms,
    samples,
    ulaw_decode,
    ulaw_encode,
)

__all__ = ["ULAW_SILENCE", "resample", "rms", "samples", "silence", "ulaw_decode", "ulaw_encode"]


def silence(seconds: float, sample_rate: int) -> bytes:
    """Digital silence of the given length as PCM16."""
    return b"\x00\x00" * round(seconds * sample_rate)
