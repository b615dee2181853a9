"""Playout checkpoints: mark a point in the bot's outgoing audio, hear back once it has played.

The phone provider buffers the audio we send and plays it at real time, so "sent" is not
"heard". A :class:`PlayoutCheckpointFrame` travels downstream behind the audio it follows; the
output transport turns it into the provider's checkpoint message (Plivo: ``checkpoint``). When
everything queued before that mark has been played to the caller, the provider says so (Plivo:
``playedStream``) and the input transport pushes a :class:`PlayoutCompleteFrame` with the same
checkpoint name.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import ControlFrame, SystemFrame


@dataclass
class PlayoutCheckpointFrame(ControlFrame):
    """Marks this point of the outgoing audio; answered by a :class:`PlayoutCompleteFrame`.

    It is a control frame, so it stays in order with the audio and is dropped, like the audio
    before it, by an interruption.

    Parameters:
        checkpoint: The checkpoint's name, echoed back in the matching ``PlayoutCompleteFrame``.
            (Not ``name``: every frame already has a ``name``, its own.)
    """

    checkpoint: str

    def __str__(self) -> str:
        return f"{self.name}(checkpoint: {self.checkpoint!r})"


@dataclass
class PlayoutCompleteFrame(SystemFrame):
    """The caller has heard all bot audio sent before the checkpoint called ``name``.

    Parameters:
        checkpoint: The name of the checkpoint reached.
    """

    checkpoint: str

    def __str__(self) -> str:
        return f"{self.name}(checkpoint: {self.checkpoint!r})"
