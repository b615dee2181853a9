import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, func, inspect, select

from store import calls
from store.calls import (
    claim_stream,
    get_call,
    open_call,
    prune_nonces,
    record_hangup,
    remember_nonce,
)
from store.db import Database
from store.migrate import alembic_config, current_revision, upgrade
from store.models import CallLog, CallOutcome, WebhookNonce

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
CALLER = {
    "caller_number": "+919876543210",
    "caller_masked": "+91******3210",
    "caller_hash": "a" * 64,
}


async def open_test_call(db: Database, call_uuid: str = "call-1", **changes: Any) -> CallLog:
    values: dict[str, Any] = {
        "call_uuid": call_uuid,
        "business_id": "himalayan-kitchen",
        "to_number": "+911140847730",
        "direction": "inbound",
        "stream_nonce": "0" * 32,
        **CALLER,
    }
    values.update(changes)
    return await open_call(db, **values)


async def count(db: Database, model: type[Any]) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_open_call_stores_the_call(db: Database):
    call = await open_test_call(db)
    stored = await get_call(db, "call-1")

    assert stored is not None and stored.id == call.id
    assert stored.business_id == "himalayan-kitchen"
    assert stored.caller_number == "+919876543210"
    assert stored.caller_masked == "+91******3210"
    assert stored.to_number == "+911140847730"
    assert stored.stream_nonce == "0" * 32
    assert stored.stream_opened_at is None and stored.ended_at is None
    assert stored.outcome is CallOutcome.IN_PROGRESS
    assert stored.started_at.tzinfo is not None


async def test_open_call_again_refreshes_the_row_and_keeps_an_opened_stream(db: Database):
    first = await open_test_call(db)
    assert await claim_stream(db, "call-1", "0" * 32)
    again = await open_test_call(db, stream_nonce="1" * 32)

    assert again.id == first.id
    assert await count(db, CallLog) == 1
    stored = await get_call(db, "call-1")
    assert stored is not None
    assert stored.stream_nonce == "1" * 32
    assert stored.stream_opened_at is not None
    assert not await claim_stream(db, "call-1", "1" * 32)  # one stream per call, ever


async def test_open_call_concurrently_makes_one_row(db: Database):
    rows = await asyncio.gather(*(open_test_call(db) for _ in range(5)))
    assert len({row.id for row in rows}) == 1
    assert await count(db, CallLog) == 1


async def test_open_call_after_the_end_changes_nothing(db: Database):
    await open_test_call(db)
    await record_hangup(db, "call-1", duration_secs=5, hangup_cause="NORMAL_CLEARING", ended_at=NOW)
    again = await open_test_call(db, stream_nonce="2" * 32, caller_number="+911111111111")

    assert again.ended_at is not None
    assert again.stream_nonce == "0" * 32
    assert again.caller_number is None


async def test_open_call_for_an_unknown_number_is_rejected(db: Database):
    call = await open_test_call(
        db, business_id=None, caller_number=None, stream_nonce=None, outcome=CallOutcome.REJECTED
    )
    assert call.outcome is CallOutcome.REJECTED
    assert not await claim_stream(db, "call-1", "0" * 32)


async def test_claim_stream_is_single_use(db: Database):
    await open_test_call(db)
    assert not await claim_stream(db, "call-1", "f" * 32)
    assert not await claim_stream(db, "no-such-call", "0" * 32)
    assert await claim_stream(db, "call-1", "0" * 32)
    assert not await claim_stream(db, "call-1", "0" * 32)
    stored = await get_call(db, "call-1")
    assert stored is not None and stored.stream_opened_at is not None


async def test_claim_stream_races_have_one_winner(db: Database):
    await open_test_call(db)
    results = await asyncio.gather(*(claim_stream(db, "call-1", "0" * 32) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_claim_stream_after_hangup_fails(db: Database):
    await open_test_call(db)
    await record_hangup(db, "call-1", duration_secs=0, hangup_cause=None, ended_at=NOW)
    assert not await claim_stream(db, "call-1", "0" * 32)


async def test_record_hangup_records_and_forgets_the_number(db: Database):
    await open_test_call(db)
    assert await claim_stream(db, "call-1", "0" * 32)

    known = await record_hangup(
        db, "call-1", duration_secs=73, hangup_cause="NORMAL_CLEARING", ended_at=NOW
    )

    assert known
    stored = await get_call(db, "call-1")
    assert stored is not None
    assert (stored.duration_secs, stored.hangup_cause, stored.ended_at) == (
        73,
        "NORMAL_CLEARING",
        NOW,
    )
    assert stored.caller_number is None
    assert stored.caller_masked == "+91******3210"
    assert stored.outcome is CallOutcome.IN_PROGRESS  # the call's recorder owns the outcome


async def test_record_hangup_twice_keeps_the_first_end(db: Database):
    await open_test_call(db)
    await record_hangup(
        db, "call-1", duration_secs=10, hangup_cause="NORMAL_CLEARING", ended_at=NOW
    )
    later = NOW + dt.timedelta(minutes=5)
    assert await record_hangup(db, "call-1", duration_secs=None, hangup_cause=None, ended_at=later)

    stored = await get_call(db, "call-1")
    assert stored is not None
    assert (stored.duration_secs, stored.hangup_cause, stored.ended_at) == (
        10,
        "NORMAL_CLEARING",
        NOW,
    )


async def test_record_hangup_before_the_stream_marks_the_call_abandoned(db: Database):
    await open_test_call(db)
    await record_hangup(
        db, "call-1", duration_secs=3, hangup_cause="ORIGINATOR_CANCEL", ended_at=NOW
    )
    stored = await get_call(db, "call-1")
    assert stored is not None and stored.outcome is CallOutcome.ABANDONED


async def test_record_hangup_leaves_a_rejected_outcome(db: Database):
    await open_test_call(db, business_id=None, stream_nonce=None, outcome=CallOutcome.REJECTED)
    await record_hangup(db, "call-1", duration_secs=4, hangup_cause="NORMAL_CLEARING", ended_at=NOW)
    stored = await get_call(db, "call-1")
    assert stored is not None and stored.outcome is CallOutcome.REJECTED


async def test_record_hangup_for_an_unknown_call_creates_nothing(db: Database):
    assert not await record_hangup(db, "nope", duration_secs=1, hangup_cause="X", ended_at=NOW)
    assert await count(db, CallLog) == 0


async def test_get_call_unknown_is_none(db: Database):
    assert await get_call(db, "nope") is None


async def test_remember_nonce_refuses_a_repeat(db: Database):
    assert await remember_nonce(db, "12345678901234567890", NOW)
    assert not await remember_nonce(db, "12345678901234567890", NOW + dt.timedelta(seconds=1))
    assert await remember_nonce(db, "12345678901234567891", NOW)


async def test_remember_nonce_concurrently_accepts_one(db: Database):
    results = await asyncio.gather(*(remember_nonce(db, "same", NOW) for _ in range(6)))
    assert sorted(results) == [False] * 5 + [True]


async def test_remember_nonce_prunes_expired_nonces(db: Database, monkeypatch: pytest.MonkeyPatch):
    await remember_nonce(db, "old", NOW)
    await remember_nonce(db, "recent", NOW + dt.timedelta(seconds=800))
    monkeypatch.setattr(calls, "PRUNE_ONE_IN", 1)

    assert await remember_nonce(db, "new", NOW + dt.timedelta(seconds=901))

    async with db.read() as session:
        kept = set(await session.scalars(select(WebhookNonce.nonce)))
    assert kept == {"recent", "new"}


async def test_prune_nonces_counts_what_it_deleted(db: Database):
    for index in range(3):
        await remember_nonce(db, f"n{index}", NOW + dt.timedelta(seconds=index))
    assert await prune_nonces(db, NOW + dt.timedelta(seconds=2)) == 2
    assert await count(db, WebhookNonce) == 1


async def test_migration_0002_downgrades_and_upgrades_again(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}")

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    def columns(connection: Connection) -> tuple[set[str], set[str]]:
        inspector = inspect(connection)
        call_columns = {column["name"] for column in inspector.get_columns("call_logs")}
        return call_columns, set(inspector.get_table_names())

    try:
        await upgrade(db)
        await open_test_call(db)
        async with db.engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert await current_revision(db) == "0001"
        async with db.engine.connect() as connection:
            call_columns, tables = await connection.run_sync(columns)
        assert "stream_nonce" not in call_columns and "webhook_nonces" not in tables

        await upgrade(db)
        assert await current_revision(db) == "0002"
        stored = await get_call(db, "call-1")
        assert stored is not None and stored.caller_number is None
    finally:
        await db.close()
