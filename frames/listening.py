"""What the bot has just asked the caller for, sent back up to the speech recogniser.

A recogniser hears more reliably when it knows what is likely to be said next: after "For how
many people?" a number is likelier than a name. The local dialogue engine, which knows what it
asked, pushes a :class:`ListeningForFrame` upstream after each reply; a recogniser that can use
the hint (:class:`processors.local_stt.PocketsphinxSTTService`) weighs its language model
towards such answers for the caller's next utterance. Others let it pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame


@dataclass
class ListeningForFrame(SystemFrame):
    """The topic of the caller's next answer.

    A system frame, so an interruption does not drop it on its way upstream.

    Parameters:
        topic: What was asked for: ``"party"``, ``"date"``, ``"time"``, ``"date_time"``,
            ``"choice"``, ``"name"``, ``"phone"``, ``"code"`` or ``"yes_no"``; None when the
            question was open ("anything else?").
    """

    topic: str | None
