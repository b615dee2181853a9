"""Call-log persistence for the phone path: open a call, claim its audio stream, record hangup.

Everything here goes through :class:`~store.db.Database`, so it holds across server processes:
the answer webhook may reach one process, the audio websocket another, the hangup a third.
Phone numbers arrive already normalised, masked and hashed by the caller; ``store`` knows no
phone rules.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.models import CallerPreferences, CallLog, CallOutcome, WebhookNonce, utcnow

NONCE_KEEP_SECS = 900
"""How long an accepted webhook nonce is remembered by default."""

PRUNE_ONE_IN = 64
"""On average one :func:`remember_nonce` call in this many also deletes expired nonces."""


async def open_call(
    db: Database,
    *,
    call_uuid: str,
    business_id: str | None,
    caller_number: str | None,
    to_number: str | None,
    direction: str,
    stream_nonce: str | None,
    caller_masked: str | None,
    caller_hash: str | None,
    outcome: CallOutcome = CallOutcome.IN_PROGRESS,
) -> CallLog:
    """Create the call's log row, or refresh it when Plivo repeats the answer webhook.

    A repeat for a call that is still live takes the new ``stream_nonce`` (only the latest
    answer's XML is acted on) but keeps ``stream_opened_at``: once a stream has opened, no
    token can open another. A repeat for a call that has already ended changes nothing; the
    caller sees ``ended_at`` set on the returned row.

    Args:
        db: The database.
        call_uuid: Plivo's ``CallUUID``.
        business_id: The slug of the business called, ``None`` for an unknown number.
        caller_number: The caller's E.164 number, kept only until the call ends.
        to_number: The dialled E.164 number.
        direction: ``inbound`` or ``outbound``.
        stream_nonce: The nonce of the audio websocket's token, ``None`` if none was issued.
        caller_masked: The caller's number as shown in logs and the admin API.
        caller_hash: The caller's number as a lookup key.
        outcome: The starting outcome (``rejected`` for a number no business has).

    Returns:
        The row as stored.
    """
    values: dict[str, Any] = {
        "business_id": business_id,
        "caller_number": caller_number,
        "to_number": to_number,
        "direction": direction,
        "stream_nonce": stream_nonce,
        "caller_masked": caller_masked,
        "caller_hash": caller_hash,
        "outcome": outcome,
    }
    try:
        return await _upsert_call(db, call_uuid, values)
    except IntegrityError:
        # Another writer inserted the call between this one's read and insert (the lock key
        # makes that unlikely, not impossible); a second pass finds and refreshes its row.
        return await _upsert_call(db, call_uuid, values)


async def _upsert_call(db: Database, call_uuid: str, values: dict[str, Any]) -> CallLog:
    async with db.write(f"call:{call_uuid}") as session:
        found = await session.scalar(select(CallLog).where(CallLog.call_uuid == call_uuid))
        if found is None:
            call = CallLog(call_uuid=call_uuid, **values)
            session.add(call)
            await session.flush()
            return call
        if found.ended_at is None:
            for name, value in values.items():
                setattr(found, name, value)
        return found


async def claim_stream(db: Database, call_uuid: str, nonce: str) -> bool:
    """Use up the call's stream token: true for exactly one websocket per call.

    Args:
        db: The database.
        call_uuid: The call the websocket is for.
        nonce: The nonce from the verified token.

    Returns:
        Whether this claim took the stream: the nonce is the call's latest, no stream has
        opened for the call yet, and the call has not ended.
    """
    statement = (
        update(CallLog)
        .where(
            CallLog.call_uuid == call_uuid,
            CallLog.stream_nonce == nonce,
            CallLog.stream_opened_at.is_(None),
            CallLog.ended_at.is_(None),
        )
        .values(stream_opened_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    async with db.write(f"call:{call_uuid}") as session:
        result = await session.execute(statement)
    return _rowcount(result) == 1


async def record_hangup(
    db: Database,
    call_uuid: str,
    *,
    duration_secs: int | None,
    hangup_cause: str | None,
    ended_at: dt.datetime,
) -> bool:
    """Record how the call ended and forget the caller's number.

    Repeats are harmless: the first ``ended_at`` is kept, later values fill gaps only. A call
    whose stream never opened (the caller gave up while it rang) that is still
    ``in_progress`` becomes ``abandoned``; otherwise the outcome belongs to the call's
    recorder and is left alone.

    Args:
        db: The database.
        call_uuid: Plivo's ``CallUUID``.
        duration_secs: Plivo's ``Duration``.
        hangup_cause: Plivo's ``HangupCause``.
        ended_at: When the hangup was reported.

    Returns:
        Whether the call was known; an unknown call creates nothing.
    """
    async with db.write(f"call:{call_uuid}") as session:
        call = await session.scalar(select(CallLog).where(CallLog.call_uuid == call_uuid))
        if call is None:
            return False
        call.caller_number = None
        call.ended_at = call.ended_at or ended_at
        if duration_secs is not None:
            call.duration_secs = duration_secs
        if hangup_cause:
            call.hangup_cause = hangup_cause
        if call.outcome is CallOutcome.IN_PROGRESS and call.stream_opened_at is None:
            call.outcome = CallOutcome.ABANDONED
    return True


async def remember_nonce(
    db: Database, nonce: str, now: dt.datetime, keep_secs: float = NONCE_KEEP_SECS
) -> bool:
    """Note a webhook nonce as seen, refusing one seen before.

    Args:
        db: The database.
        nonce: The request's ``X-Plivo-Signature-V3-Nonce``.
        now: The current instant (timezone-aware).
        keep_secs: How long nonces are kept; a replay older than this is not detected.

    Returns:
        Whether the nonce is new.
    """
    dialect = sqlite if db.is_sqlite else postgresql
    statement = (
        dialect.insert(WebhookNonce)
        .values(nonce=nonce, seen_at=now)
        .on_conflict_do_nothing(index_elements=[WebhookNonce.nonce])
    )
    async with db.write("webhook-nonces") as session:
        result = await session.execute(statement)
        if secrets.randbelow(PRUNE_ONE_IN) == 0:
            await _prune(session, now - dt.timedelta(seconds=keep_secs))
    return _rowcount(result) == 1


async def prune_nonces(db: Database, before: dt.datetime) -> int:
    """Delete the nonces seen before ``before``; returns how many went."""
    async with db.write("webhook-nonces") as session:
        return await _prune(session, before)


async def get_call(db: Database, call_uuid: str) -> CallLog | None:
    """The call's log row, or ``None``."""
    async with db.read() as session:
        return await session.scalar(select(CallLog).where(CallLog.call_uuid == call_uuid))


async def _prune(session: AsyncSession, before: dt.datetime) -> int:
    result = await session.execute(
        delete(WebhookNonce)
        .where(WebhookNonce.seen_at < before)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE, DELETE or INSERT changed."""
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What the call's recorder saw, to be written to its ``CallLog``.

    Attributes:
        outcome: How the call ended for the business.
        transcript: User and bot turns with offsets and interruptions.
        tool_calls: Tool calls with their arguments and results.
        turn_latencies: Per turn, caller-stopped to bot-audio-out, and services' TTFB.
        errors: What failed, with offsets.
    """

    outcome: CallOutcome
    transcript: list[Any]
    tool_calls: list[Any]
    turn_latencies: list[Any]
    errors: list[Any]


async def finish_call(
    db: Database, call_uuid: str, summary: CallSummary, *, ended_at: dt.datetime
) -> bool:
    """Write the record of a call however it ended, and forget the caller's number.

    Safe to run before or after the hangup webhook: the first ``ended_at`` is kept.

    Returns:
        Whether the call was known.
    """
    async with db.write(f"call:{call_uuid}") as session:
        call = await session.scalar(select(CallLog).where(CallLog.call_uuid == call_uuid))
        if call is None:
            return False
        call.outcome = summary.outcome
        call.transcript = summary.transcript
        call.tool_calls = summary.tool_calls
        call.turn_latencies = summary.turn_latencies
        call.errors = summary.errors
        call.ended_at = call.ended_at or ended_at
        call.caller_number = None
    return True


async def caller_preferences(
    db: Database, business_id: str, caller_hash: str
) -> CallerPreferences | None:
    """What is remembered about a caller of a business, if anything."""
    async with db.read() as session:
        found = await session.scalar(
            select(CallerPreferences).where(
                CallerPreferences.business_id == business_id,
                CallerPreferences.caller_hash == caller_hash,
            )
        )
        return found


async def remember_caller(
    db: Database,
    *,
    business_id: str,
    caller_hash: str,
    caller_masked: str,
    at: dt.datetime,
    name: str | None = None,
    language: str | None = None,
    party_size: int | None = None,
) -> None:
    """Note a call from a caller: count it, and keep any name, language or party size learnt."""
    async with db.write(f"caller:{business_id}") as session:
        known = await session.scalar(
            select(CallerPreferences).where(
                CallerPreferences.business_id == business_id,
                CallerPreferences.caller_hash == caller_hash,
            )
        )
        if known is None:
            known = CallerPreferences(
                business_id=business_id, caller_hash=caller_hash, call_count=0
            )
            session.add(known)
        known.caller_masked = caller_masked
        known.call_count = (known.call_count or 0) + 1
        known.last_call_at = at
        known.name = name or known.name
        known.preferred_language = language or known.preferred_language
        known.usual_party_size = party_size or known.usual_party_size
