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
