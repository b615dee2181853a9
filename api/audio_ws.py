"""Plivo's audio websocket: check and burn the one-time token, read ``start``, run the call.

Everything that can refuse a stream does so before the upgrade, with a 403 JSON answer: the
token (signature, call, expiry), the call's row and business, and the single use of the token.
Only then is the socket prepared, Plivo's ``start`` event read and checked against the call,
and the socket handed to the registered :class:`~bot.call_runner.CallRunner`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from loguru import logger

from api.keys import BUSINESSES, CALL_RUNNER, DATABASE, STREAM_TOKENS
from bot.call_runner import CallSetup
from bot.config import Business
from bot.stream_token import InvalidStreamToken
from store.calls import claim_stream, get_call
from store.errors import VartalaapError

MAX_MESSAGE_BYTES = 64 * 1024
"""Largest frame accepted; Plivo's 20 ms media frames are well under 1 KiB."""

START_TIMEOUT_SECS = 10.0
"""How long Plivo has to send ``start`` after the upgrade."""

HEARTBEAT_SECS = 30.0
"""Ping interval while the stream is quiet; any frame received counts as alive."""

routes = web.RouteTableDef()


class StreamRefusedError(VartalaapError):
    """A websocket request that may not open a call's audio stream."""

    code = "stream_refused"
    status = 403


class _ProtocolViolation(Exception):
    """The peer broke Plivo's stream protocol before ``start``; the message says how."""


class _PeerClosed(Exception):
    """The socket closed before ``start``."""


@dataclass(frozen=True, slots=True)
class _Admission:
    """What admission learnt about the call, for its :class:`CallSetup`."""

    business: Business
    caller_number: str | None
    call_log_id: int


@routes.get(r"/ws/audio/{call_uuid:[A-Za-z0-9-]{1,64}}")
async def audio_stream(request: web.Request) -> web.StreamResponse:
    """Plivo's bidirectional audio stream of one call, opened with a one-time token."""
    call_uuid = request.match_info["call_uuid"]
    log = logger.bind(call=call_uuid)
    ws = web.WebSocketResponse(
        max_msg_size=MAX_MESSAGE_BYTES, compress=False, heartbeat=HEARTBEAT_SECS
    )
    setup = await _admit(request, ws, call_uuid)

    await ws.prepare(request)
    try:
        async with asyncio.timeout(START_TIMEOUT_SECS):
            start, stream_id = await _read_start(ws, call_uuid)
    except _ProtocolViolation as exc:
        log.warning("Audio stream closed: {}", exc)
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"protocol violation")
        return ws
    except TimeoutError:
        log.warning("Audio stream closed: no start event within {:g}s", START_TIMEOUT_SECS)
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no start event")
        return ws
    except _PeerClosed:
        log.info("Audio stream closed by Plivo before it started")
        return ws

    call = CallSetup(
        call_uuid=call_uuid,
        stream_id=stream_id,
        business=setup.business,
        caller_number=setup.caller_number,
        call_log_id=setup.call_log_id,
        start_event=start,
    )
    await _run(request, ws, call)
    return ws


async def _admit(request: web.Request, ws: web.WebSocketResponse, call_uuid: str) -> _Admission:
    """Every check that can refuse the stream, ending with the token's single use.

    Raises:
        StreamRefusedError: No token, not an upgrade request, no such call, or the token
            already used; nothing has been upgraded.
        InvalidStreamToken: The token is malformed, forged, expired, or for another call.
    """
    log = logger.bind(call=call_uuid)
    token = request.query.get("token", "")
    if not token:
        log.warning("Audio stream refused: no token")
        raise StreamRefusedError("Stream refused: no token")
    try:
        nonce = request.app[STREAM_TOKENS].verify(token, call_uuid)
    except InvalidStreamToken as exc:
        log.warning("Audio stream refused: token {}", exc.reason)
        raise

    if not ws.can_prepare(request).ok:
        log.warning("Audio stream refused: not a websocket upgrade request")
        raise StreamRefusedError("Expected a websocket upgrade")
    call = await get_call(request.app[DATABASE], call_uuid)
    business = None
    if call is not None and call.business_id is not None:
        business = request.app[BUSINESSES].current.by_slug(call.business_id)
    if call is None or business is None:
        log.warning("Audio stream refused: no open call for a configured business")
        raise StreamRefusedError("Stream refused: unknown call")
    if not await claim_stream(request.app[DATABASE], call_uuid, nonce):
        log.warning("Audio stream refused: token already used, replaced, or call ended")
        raise StreamRefusedError("Stream refused: token already used")
    return _Admission(business, call.caller_number, call.id)


async def _read_start(ws: web.WebSocketResponse, call_uuid: str) -> tuple[dict[str, Any], str]:
    """Read frames until Plivo's ``start``; other events before it are skipped.

    Returns:
        The parsed ``start`` event and its stream id.

    Raises:
        _ProtocolViolation: A frame is not JSON, or ``start`` is for another call or has no
            stream id.
        _PeerClosed: The socket closed first.
    """
    skipped = 0
    while True:
        message = await ws.receive()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise _PeerClosed()
        if message.type is WSMsgType.ERROR:
            raise _ProtocolViolation(f"websocket error before start: {ws.exception()!r}")
        if message.type is not WSMsgType.TEXT:
            raise _ProtocolViolation(f"{message.type.name.lower()} frame before start")
        try:
            event = json.loads(message.data)
        except ValueError:
            raise _ProtocolViolation("frame before start is not JSON") from None
        if not isinstance(event, dict):
            raise _ProtocolViolation("frame before start is not a JSON object")
        if event.get("event") != "start":
            skipped += 1
            continue
        start = event.get("start")
        if not isinstance(start, dict) or start.get("callId") != call_uuid:
            raise _ProtocolViolation("start event is for another call")
        stream_id = start.get("streamId")
        if not isinstance(stream_id, str) or not stream_id:
            raise _ProtocolViolation("start event has no streamId")
        if skipped:
            logger.bind(call=call_uuid).debug("Skipped {} events before start", skipped)
        return event, stream_id


async def _run(request: web.Request, ws: web.WebSocketResponse, call: CallSetup) -> None:
    """Hand the started stream to the call runner; close the socket whatever happens."""
    log = logger.bind(call=call.call_uuid)
    runner = request.app.get(CALL_RUNNER)
    if runner is None:
        log.error("No call runner is registered; closing the audio stream")
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"no call runner")
        return
    log.debug("Audio stream {} started", call.stream_id)
    try:
        await runner(ws, call)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("Call runner failed")
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
    finally:
        if not ws.closed:
            await ws.close()
