"""JSON messages of Deepgram's listen v1 websocket, in the shapes the deepgram SDK parses.

See ``deepgram/listen/v1/types/listen_v1results.py`` and friends in the installed SDK.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

MODEL_UUID = "1ed36bac-f71c-4f3f-a31f-02fd6525c489"
MODEL_INFO = {"name": "general-nova-3", "version": "2025-01-01.0", "arch": "nova-3"}


def words_for(transcript: str, start: float, end: float, confidence: float) -> list[dict[str, Any]]:
    """Word objects spread evenly over ``[start, end]``, as Deepgram returns them."""
    tokens = transcript.split()
    if not tokens:
        return []
    step = max(end - start, 0.0) / len(tokens)
    words = []
    for i, token in enumerate(tokens):
        bare = re.sub(r"[^\w']", "", token).lower() or token.lower()
        words.append(
            {
                "word": bare,
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "confidence": confidence,
                "punctuated_word": token,
            }
        )
    return words


def results(
    *,
    transcript: str,
    start: float,
    duration: float,
    is_final: bool,
    speech_final: bool,
    from_finalize: bool,
    request_id: str,
    model: str,
    speech_span: tuple[float, float] | None = None,
    confidence: float = 0.98,
) -> dict[str, Any]:
    """A ``Results`` message (one channel, one alternative)."""
    span_start, span_end = speech_span or (start, start + duration)
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": round(duration, 3),
        "start": round(start, 3),
        "is_final": is_final,
        "speech_final": speech_final,
        "channel": {
            "alternatives": [
                {
                    "transcript": transcript,
                    "confidence": confidence if transcript else 0.0,
                    "words": words_for(transcript, span_start, span_end, confidence),
                }
            ]
        },
        "metadata": {
            "request_id": request_id,
            "model_info": {**MODEL_INFO, "name": model},
            "model_uuid": MODEL_UUID,
        },
        "from_finalize": from_finalize,
    }


def speech_started(timestamp: float) -> dict[str, Any]:
    """A ``SpeechStarted`` message (sent only with ``vad_events=true``)."""
    return {"type": "SpeechStarted", "channel": [0], "timestamp": round(timestamp, 3)}


def utterance_end(last_word_end: float) -> dict[str, Any]:
    """An ``UtteranceEnd`` message (sent only with ``utterance_end_ms``)."""
    return {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round(last_word_end, 3)}


def metadata(*, request_id: str, sha256: str, duration: float, channels: int) -> dict[str, Any]:
    """The ``Metadata`` message Deepgram sends after ``CloseStream``, before closing."""
    return {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": request_id,
        "sha256": sha256,
        "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "duration": round(duration, 3),
        "channels": channels,
        "models": [MODEL_UUID],
        "model_info": {MODEL_UUID: MODEL_INFO},
    }


def error_body(status: int, request_id: str) -> dict[str, Any]:
    """The JSON body of a refused handshake."""
    if status == 401:
        code, msg = "INVALID_AUTH", "Invalid credentials."
    elif status == 429:
        code, msg = "TOO_MANY_REQUESTS", "Too many requests. Please try again later."
    elif status == 400:
        code, msg = (
            "Bad Request",
            "Bad Request: failed to process audio: corrupt or unsupported data",
        )
    else:
        code, msg = "INTERNAL_SERVER_ERROR", "Internal server error."
    return {"err_code": code, "err_msg": msg, "request_id": request_id}
