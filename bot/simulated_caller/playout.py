"""A model of Plivo's playout buffer: bot audio plays at real time, in arrival order.

Used by the simulated caller to know when queued audio has finished playing (checkpoints), what a
``clearAudio`` cut off, how much audio a hang-up truncated, and where playout ran dry while the
bot was speaking (underruns).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BotAudio:
    """One ``playAudio`` chunk and when the simulated line plays it."""

    received_at: float
    pcm: bytes  # PCM16 at ``sample_rate``
    sample_rate: int
    play_start: float
    play_end: float
    cleared_at: float | None = None

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.pcm) / 2 / self.sample_rate


@dataclass
class Underrun:
    """Playout ran dry for ``gap`` seconds at ``at`` while the bot was mid-speech."""

    at: float
    gap: float


@dataclass
class Playout:
    """Real-time playout of bot audio.

    A gap between the end of buffered audio and the next chunk counts as an underrun when it is
    longer than ``underrun_threshold`` and at most ``max_gap`` (longer silences are pauses between
    bot turns), no ``clearAudio`` came in between, and the caller did not speak during or after
    the end of the buffered audio (then the next chunk is a new bot turn).
    """

    underrun_threshold: float = 0.04
    max_gap: float = 0.5
    chunks: list[BotAudio] = field(default_factory=list)
    underruns: list[Underrun] = field(default_factory=list)
    buffer_end: float = 0.0
    in_spurt: bool = False
    last_caller_voice: float = float("-inf")

    def add(self, pcm: bytes, sample_rate: int, now: float) -> BotAudio:
        """Queue a chunk received at ``now``; returns it with its playout times."""
        if self.in_spurt and self.last_caller_voice < self.buffer_end:
            gap = now - self.buffer_end
            if self.underrun_threshold < gap <= self.max_gap:
                self.underruns.append(Underrun(at=self.buffer_end, gap=gap))
        start = max(now, self.buffer_end)
        chunk = BotAudio(now, pcm, sample_rate, start, start + len(pcm) / 2 / sample_rate)
        self.chunks.append(chunk)
        self.buffer_end = chunk.play_end
        self.in_spurt = True
        return chunk

    def clear(self, now: float) -> float:
        """Drop everything not yet played; returns the seconds of audio discarded."""
        dropped = self.remaining(now)
        for chunk in self.chunks:
            if chunk.play_end > now and chunk.cleared_at is None:
                chunk.cleared_at = now
        self.buffer_end = min(self.buffer_end, now)
        self.in_spurt = False
        return dropped

    def caller_voice(self, now: float) -> None:
        """The caller sent voiced audio at ``now`` (bot audio after a gap is then a new turn)."""
        self.last_caller_voice = now

    def remaining(self, now: float) -> float:
        """Seconds of queued audio still to play at ``now``."""
        return max(0.0, self.buffer_end - now)

    def played_secs(self, now: float) -> float:
        """Seconds of bot audio the caller has heard by ``now``."""
        total = 0.0
        for chunk in self.chunks:
            end = min(chunk.play_end, now, chunk.cleared_at or chunk.play_end)
            total += max(0.0, end - chunk.play_start)
        return total
