"""Re-render the utterance fixtures with espeak-ng and sox (developer tool, not used by tests).

Run from the repository root: ``.venv/bin/python -m tests.fakes.audio.generate``.
Needs ``apt-get install -y espeak-ng sox``.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests.fakes.audio import AUDIO_DIR, SAMPLE_RATE, UTTERANCES

VOICE = "en-us"
WORDS_PER_MINUTE = 150


def render(text: str, out: Path) -> None:
    """Speak ``text`` into ``out`` as an 8 kHz 16-bit mono WAV, trimmed and peak-normalised.

    Commas are dropped before speaking so that each utterance is one burst of speech without the
    200-300 ms comma pause espeak inserts, which a VAD or endpointer would split the turn on.
    """
    spoken = text.replace(",", "")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), spoken],
            check=True,
        )
        convert = ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed"]
        trim = ["silence", "1", "0.02", "0.5%"]  # drop leading silence (run twice, reversed)
        effects = [*trim, "reverse", *trim, "reverse", "gain", "-n", "-3"]
        subprocess.run([*convert, str(out), *effects], check=True)


def main() -> None:
    """Render every entry of ``UTTERANCES``."""
    for name, text in UTTERANCES.items():
        render(text, AUDIO_DIR / f"{name}.wav")
        print(f"{name}.wav  {text}")


if __name__ == "__main__":
    main()
