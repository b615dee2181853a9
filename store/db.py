"""The async engine and session factory, with SQLite tuned for a server and safe writes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """One database: its engine, its sessions, and the one way to write to it.

    Reads use :meth:`read`. Writes that must not race (bookings) use :meth:`write`, which on
    SQLite takes the database's write lock up front (``BEGIN IMMEDIATE``), so the check and the
    insert see the same rows even across server processes, and on PostgreSQL takes a
    transaction-scoped advisory lock per key. Within one process SQLite writers also queue on an
    ``asyncio.Lock`` rather than spin in SQLite's busy handler.

    Args:
        url: A SQLAlchemy async URL (``sqlite+aiosqlite:///./vartalaap.db``,
            ``postgresql+asyncpg://...``).
        echo: Log SQL statements (parameters are never logged).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: AsyncEngine = create_async_engine(
            self.url, echo=echo, hide_parameters=True, **self._engine_options()
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite_writer = asyncio.Lock()
        if self.is_sqlite:
            _tune_sqlite(self.engine)

    def _engine_options(self) -> dict[str, Any]:
        if not self.is_sqlite:
            return {"pool_pre_ping": True}
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; any changes made in it are discarded."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self, lock_key: str = "") -> AsyncIterator[AsyncSession]:
        """A serialised write transaction, committed when the block exits without an error.

        Args:
            lock_key: What the transaction serialises on besides the table (a business slug).
                SQLite serialises every writer regardless; PostgreSQL only writers with the
                same key.
        """
        if self.is_sqlite:
            async with self._sqlite_writer, self.sessions() as session:
                # Procuring the connection begins the transaction, with the option in place.
                await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
            return

        async with self.sessions() as session, session.begin():
            key = int.from_bytes(hashlib.blake2b(lock_key.encode(), digest_size=8).digest(), "big")
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)}
            )
            yield session

    async def ping(self) -> None:
        """Run a trivial query; raises if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN statements the store controls.

    pysqlite's own transaction handling issues a deferred ``BEGIN`` lazily, which lets two
    writers both read before either writes. Turning it off and emitting ``BEGIN`` ourselves makes
    ``BEGIN IMMEDIATE`` possible for writers.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())
