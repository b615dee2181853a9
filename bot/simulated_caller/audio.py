"""PCM helpers of the simulated caller: G.711 μ-law, levels and resampling.

All PCM here is 16-bit signed little-endian mono ("linear16"), the format pipecat and Plivo's
``audio/x-l16`` use. The codec and the level are the standard library's ``audioop``, as in
pipecat's own serializers.
"""

from __future__ import annotations

import audioop

import numpy as np
import numpy.typing as npt

ULAW_SILENCE = 0xFF
"""μ-law code of a zero sample."""

Int16Array = npt.NDArray[np.int16]


def samples(pcm: bytes) -> Int16Array:
    """View little-endian PCM16 bytes as an int16 array (an odd trailing byte is dropped)."""
    return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)


def ulaw_decode(data: bytes) -> bytes:
    """Decode G.711 μ-law bytes to PCM16."""
    return audioop.ulaw2lin(data, 2)


def ulaw_encode(pcm: bytes) -> bytes:
    """Encode PCM16 to G.711 μ-law bytes."""
    return audioop.lin2ulaw(pcm[: len(pcm) // 2 * 2], 2)


def rms(pcm: bytes) -> float:
    """Root-mean-square level of PCM16 audio, in sample units (0 for empty audio)."""
    x = samples(pcm)
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM16 by linear interpolation, keeping the duration to the sample.

    Stateless, so any chunk can be converted on its own; good enough for a telephone line.
    """
    if from_rate == to_rate or not pcm:
        return pcm
    x = samples(pcm).astype(np.float64)
    n_out = round(x.size * to_rate / from_rate)
    positions = np.arange(n_out) * (from_rate / to_rate)
    y = np.interp(positions, np.arange(x.size), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()
