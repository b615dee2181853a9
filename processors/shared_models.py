"""Models loaded once per process and shared by every call in it.

pipecat's Silero VAD and smart-turn analyzers each load their ONNX model into a session of
their own, and a call makes one of each: 32 + 35 ms of loading per call, and 12 + 11 MB, plus
~20 MB more once smart-turn's session has run (2 cores, measured). ONNX Runtime sessions are
safe to run from several threads at once and keep no state between runs (Silero's recurrent
state is an input and output of each run, kept per call by the caller), so one session serves
all of a process's calls. :func:`shared` loads a model the first time any call asks for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_models: dict[str, Any] = {}
_lock = threading.Lock()


def shared(name: str, load: Callable[[], T]) -> T:
    """The process's one instance of a model, loaded by ``load`` on first use.

    Args:
        name: What the model is known by (one ``load`` per name).
        load: Loads it; called once per process, under a lock, whichever thread asks first.

    Returns:
        The model ``load`` returned the first time.
    """
    with _lock:
        if name not in _models:
            _models[name] = load()
        model: T = _models[name]
        return model
