"""smart-turn v3, pipecat's end-of-turn model, ready for a call's first turn.

:class:`WarmSmartTurnAnalyzer` is pipecat's :class:`LocalSmartTurnAnalyzerV3` that runs its
model once on silence as soon as the call's pipeline is set up. ONNX Runtime's first run of a
session is slower than the next ones (it sizes its buffers then), and every call loads its own
session, so each call's first turn paid for it: over 15 calls, smart-turn took 36-183 ms
(median 53) on the first turn, against 30-50 ms on the next ones (2 cores). The warm-up runs in
the analyzer's own model thread, long before the caller has finished a sentence.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import numpy as np
from loguru import logger
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

WARM_UP_SECS = 1.0
"""Length of the silence the model is first run on (it pads any input to 8 s anyway)."""


class WarmSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """:class:`LocalSmartTurnAnalyzerV3` that warms its model up when its rate is set.

    The turn strategy sets the rate in its ``setup``, as the pipeline starts.
    """

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the audio rate, then run the model once in the background.

        Args:
            sample_rate: The pipeline's input rate.
        """
        super().set_sample_rate(sample_rate)
        silence = np.zeros(round(self.sample_rate * WARM_UP_SECS), dtype=np.float32)
        warm_up = self._model_executor.submit(self._predict_endpoint, silence)
        warm_up.add_done_callback(_log_failure)


def _log_failure(warm_up: Future[Any]) -> None:
    if not warm_up.cancelled() and (error := warm_up.exception()) is not None:
        logger.warning(f"smart-turn warm-up failed: {type(error).__name__}: {error}")
