"""How loud a stretch of caller audio is next to the speech just before it.

Silero's verdict on a window of audio carries over from the windows before it: over the
recorded test lines (8 kHz) it stayed above the VAD's 0.7 confidence for one to three 32 ms
windows of pure digital silence after the last word, depending on how the windows fell, which
delayed the VAD's stop by up to ~100 ms. A window's own level says at once that the caller has
gone quiet. :class:`QuietMeter` judges that relative to the caller's recent speech, so it holds
for a loud line and a soft one, and on a noisy line (where nothing is far below the speech) it
never calls audio quiet, which leaves the decision to the model as before.
"""

from __future__ import annotations

import numpy as np

QUIET_RATIO = 0.05
"""Audio is quiet below this fraction of the recent speech peak (RMS): -26 dB."""
QUIET_FLOOR_RMS = 40.0
"""...and always when its RMS is below this (16-bit samples, about -58 dBFS)."""
PEAK_HALF_LIFE_SECS = 1.0
"""How fast the remembered peak fades, so one loud cough does not make later speech quiet."""


def rms(samples: np.ndarray) -> float:
    """Root mean square of 16-bit samples (0.0 for none)."""
    if not samples.size:
        return 0.0
    wide = samples.astype(np.float32)
    return float(np.sqrt(np.mean(wide * wide)))


class QuietMeter:
    """Says whether each stretch of audio is quiet next to the loudest recent one.

    Args:
        sample_rate: Rate of the audio it is given.
    """

    def __init__(self, sample_rate: int) -> None:
        self._sample_rate = sample_rate
        self._peak = 0.0

    def is_quiet(self, audio: bytes | np.ndarray) -> bool:
        """Take the next stretch of 16-bit mono audio and say whether it is quiet.

        Args:
            audio: The samples, as bytes or an int16 array.

        Returns:
            True when its RMS is under :data:`QUIET_FLOOR_RMS` or :data:`QUIET_RATIO` of the
            remembered peak.
        """
        samples = np.frombuffer(audio, dtype=np.int16) if isinstance(audio, bytes) else audio
        level = rms(samples)
        fade = 0.5 ** (samples.size / self._sample_rate / PEAK_HALF_LIFE_SECS)
        self._peak = max(level, self._peak * fade)
        return level < max(QUIET_FLOOR_RMS, self._peak * QUIET_RATIO)

    def reset(self) -> None:
        """Forget the peak (a new turn starts)."""
        self._peak = 0.0
