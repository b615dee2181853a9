"""Small PCM helpers shared by the fakes: G.711 μ-law, levels, resampling, WAV reading.

All PCM here is 16-bit signed little-endian mono ("linear16"), the format pipecat and Deepgram use.
The μ-law codec follows ITU-T G.711 and is bit-exact with the stdlib ``audioop`` pipecat uses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_BIAS = 0x84
_CLIP14 = 8159
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
ULAW_SILENCE = 0xFF  # μ-law code of a zero sample

Int16Array = npt.NDArray[np.int16]


def _ulaw_decode_table() -> Int16Array:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_ULAW_TO_LINEAR = _ulaw_decode_table()


def samples(pcm: bytes) -> Int16Array:
    """View little-endian PCM16 bytes as an int16 array (an odd trailing byte is dropped)."""
    return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)


def ulaw_decode(data: bytes) -> bytes:
    """Decode G.711 μ-law bytes to PCM16."""
    codes = np.frombuffer(data, dtype=np.uint8)
    return _ULAW_TO_LINEAR[codes].astype("<i2").tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """Encode PCM16 to G.711 μ-law bytes (the 14-bit variant that ``audioop`` implements)."""
    v = samples(pcm).astype(np.int32) >> 2
    mask = np.where(v < 0, 0x7F, 0xFF)
    v = np.minimum(np.abs(v), _CLIP14) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, v)
    codes = np.where(segment > 7, 0x7F, (segment << 4) | ((v >> (segment + 1)) & 0x0F))
    return ((codes ^ mask) & 0xFF).astype(np.uint8).tobytes()


def rms(pcm: bytes) -> float:
    """Root-mean-square level of PCM16 audio, in sample units (0 for empty audio)."""
    x = samples(pcm)
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def duration_secs(pcm: bytes, sample_rate: int) -> float:
    """Duration of mono PCM16 audio."""
    return len(pcm) / 2 / sample_rate


def silence(seconds: float, sample_rate: int) -> bytes:
    """Digital silence of the given length as PCM16."""
    return b"\x00\x00" * round(seconds * sample_rate)


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM16 by linear interpolation (good enough for fixtures and fake voices)."""
    if from_rate == to_rate or not pcm:
        return pcm
    x = samples(pcm).astype(np.float64)
    n_out = round(x.size * to_rate / from_rate)
    positions = np.arange(n_out) * (from_rate / to_rate)
    y = np.interp(positions, np.arange(x.size), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()
