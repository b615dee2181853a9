from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from store.db import Database
from store.migrate import current_revision, head_revision, upgrade
from store.models import Base


async def test_upgrade_brings_fresh_database_to_head_and_is_repeatable(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert await current_revision(db) is None
    await upgrade(db)
    await upgrade(db)
    assert await current_revision(db) == head_revision()
    await db.close()


async def test_migrations_match_models(db: Database):
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_sqlite_runs_in_wal_mode_with_busy_timeout(db: Database):
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_availability_query_uses_covering_index(db: Database):
    import datetime as dt

    from store.booking import holdings_query

    statement = holdings_query("x", dt.datetime(2026, 12, 2, 19), dt.datetime(2026, 12, 2, 21))
    compiled = statement.compile(db.engine.sync_engine, compile_kwargs={"literal_binds": True})
    async with db.read() as session:
        plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "COVERING INDEX ix_reservations_holding" in detail


async def test_write_rolls_back_on_error(db: Database):
    from store.models import AuditLog

    try:
        async with db.write("x") as session:
            session.add(AuditLog(actor="a", action="create", entity="t", entity_id="1"))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM audit_log"))).scalar() == 0


async def _audit_actors(db: Database) -> list[str]:
    async with db.read() as session:
        rows = await session.execute(text("SELECT actor FROM audit_log ORDER BY id"))
        return [row[0] for row in rows]


def _insert_audit(actor: str, fail: bool = False):
    def work(connection):
        connection.exec_driver_sql(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
            "VALUES ('2026-12-01 00:00:00', ?, 'create', 't', '1')",
            (actor,),
        )
        if fail:
            raise ValueError(f"{actor} refused")
        return actor

    return work


async def _batched(db: Database, *works) -> list:
    """Run ``works`` as one batch: queued while the writer thread is held by another write."""
    import asyncio
    import threading

    entered, release = threading.Event(), threading.Event()

    def gate(_connection):
        entered.set()
        release.wait(5)

    held = asyncio.ensure_future(db.run_write(gate))
    await asyncio.to_thread(entered.wait, 5)
    queued = [asyncio.ensure_future(db.run_write(work)) for work in works]
    await asyncio.sleep(0)  # every write is queued before the writer is let go
    release.set()
    await held
    return await asyncio.gather(*queued, return_exceptions=True)


async def test_writes_queued_together_share_a_commit_but_fail_alone(db: Database):
    import pytest

    # Queued in one go, the three run in one transaction; the middle one's failure undoes its
    # own row only, and each caller gets its own answer.
    results = await _batched(
        db, _insert_audit("first"), _insert_audit("middle", fail=True), _insert_audit("last")
    )
    assert results[0] == "first" and results[2] == "last"
    assert isinstance(results[1], ValueError) and str(results[1]) == "middle refused"
    assert await _audit_actors(db) == ["first", "last"]

    # A lone failing write rolls back like any transaction.
    with pytest.raises(ValueError, match="alone refused"):
        await db.run_write(_insert_audit("alone", fail=True))
    assert await _audit_actors(db) == ["first", "last"]


async def test_a_failed_commit_fails_every_write_of_its_batch(db: Database):
    import pytest

    def breaks_the_transaction(connection):
        # A deferred foreign key is only checked at COMMIT, which then fails for the batch.
        connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        connection.exec_driver_sql(
            "INSERT INTO whatsapp_followups (reservation_id, template, parameters, status, "
            "attempts, created_at, updated_at) VALUES (424242, 't', '{}', 'pending', 0, "
            "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
        )
        return "sneaky"

    results = await _batched(db, _insert_audit("one"), breaks_the_transaction)
    assert all(isinstance(result, Exception) for result in results), results
    assert "FOREIGN KEY" in str(results[0])
    assert await _audit_actors(db) == []
    with pytest.raises(ValueError):
        await db.run_write(_insert_audit("after", fail=True))
    assert await db.run_write(_insert_audit("still writes")) == "still writes"
    assert await _audit_actors(db) == ["still writes"]


async def test_prepared_statements_convert_types_like_sqlalchemy(db: Database):
    import datetime as dt

    from sqlalchemy import bindparam, insert, select

    from store.db import Prepared
    from store.models import AuditLog

    table = Base.metadata.tables["audit_log"]
    at = dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.UTC)
    add = Prepared(
        insert(table).returning(table.c.id, table.c.at),
        column_keys=["at", "actor", "action", "entity", "entity_id", "after"],
    )
    values = {
        "at": at,
        "actor": "api",
        "action": "create",
        "entity": "t",
        "entity_id": "7",
        "after": {"party_size": 4},
    }
    rows = await db.run_write(lambda connection: add.rows(connection, values))
    assert len(rows) == 1 and rows[0][1] == at
    find = Prepared(select(table.c.at, table.c.after).where(table.c.actor == bindparam("who")))
    assert await db.run_read(lambda c: find.rows(c, {"who": "api"})) == [(at, {"party_size": 4})]
    async with db.read() as session:
        stored = (await session.execute(select(AuditLog))).scalar_one()
    assert stored.at == at and stored.after == {"party_size": 4}


async def test_select_rows_reuses_a_shape_with_each_statements_own_values(db: Database):
    from sqlalchemy import bindparam, select

    from store.db import select_rows

    for actor in ("ana", "bo", "cy"):
        await db.run_write(_insert_audit(actor))
    table = Base.metadata.tables["audit_log"]

    def named(first: str, *more: str):
        statement = select(table.c.actor).where(table.c.actor >= first).order_by(table.c.id)
        if more:  # IN (a list) takes the ordinary path, with the same answer
            statement = statement.where(table.c.actor.in_(more))
        return db.run_read(lambda c: [row["actor"] for row in select_rows(c, statement)])

    assert await named("b") == ["bo", "cy"]
    assert await named("c") == ["cy"]  # same shape, another value
    assert await named("a", "ana", "cy") == ["ana", "cy"]
    assert await named("b", "ana", "cy") == ["cy"]
    by_actor = select(table.c.id, table.c.at).where(table.c.actor == bindparam("who"))
    rows = await db.run_read(lambda c: select_rows(c, by_actor, {"who": "bo"}))
    assert [row["id"] for row in rows] == [2] and rows[0]["at"].tzinfo is not None
