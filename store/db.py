"""The async engine and session factory, with SQLite tuned for a server and safe writes."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import sqlite3
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, BinaryIO, Generic, TypeVar

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Insert,
    Select,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_READER_THREADS = 1
COUNT_CACHE_SIZE = 256
WRITE_KEY_BITS = 63
WRITE_BATCH_MAX = 64
"""Most writes one SQLite transaction carries (see :meth:`Database.run_write`)."""

T = TypeVar("T")


class Database:
    """One database: its engine, its sessions, and the one way to write to it.

    Reads use :meth:`read` (an ORM session) or, on hot paths, :meth:`run_read`. Writes that
    must not race (bookings) use :meth:`write`, which on SQLite takes the database's write lock
    up front (``BEGIN IMMEDIATE``), so the check and the insert see the same rows even across
    server processes, and on PostgreSQL takes a transaction-scoped advisory lock per key. Within
    one process SQLite writers also queue on an ``asyncio.Lock`` rather than spin in SQLite's
    busy handler.

    Args:
        url: A SQLAlchemy async URL (``sqlite+aiosqlite:///./vartalaap.db``,
            ``postgresql+asyncpg://...``). SQLite must be a file, not ``:memory:``.
        echo: Log SQL statements (parameters are never logged).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            if self.url.database in (None, "", ":memory:"):
                raise ValueError("the SQLite database must be a file, not in memory")
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite_writer = asyncio.Lock()
        self._sync_engine: Engine | None = None
        self._write_engine: Engine | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._write_queue: deque[_Write[Any]] = deque()
        self._write_drain_queued = False
        self._lock_path = f"{self.url.database}.writer-lock"
        self._lock_file: BinaryIO | None = None
        if self.is_sqlite:
            _tune_sqlite(self.engine.sync_engine)
            options["connect_args"] = {**options["connect_args"], "check_same_thread": False}
            sync_url = self.url.set(drivername="sqlite")
            self._sync_engine = create_engine(sync_url, **options)
            _tune_sqlite(self._sync_engine)
            # The writer waits for SQLite's lock itself, in small steps (see _take_write_lock).
            self._write_engine = create_engine(sync_url, pool_size=1, **options)
            _tune_sqlite(self._write_engine, busy_timeout_ms=0)
            self._readers = ThreadPoolExecutor(SQLITE_READER_THREADS, "sqlite-reader")
            self._writer = ThreadPoolExecutor(1, "sqlite-writer")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; any changes made in it are discarded."""
        async with self.sessions() as session:
            yield session

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """Run a synchronous read against a connection, for latency-critical reads.

        On SQLite the whole of ``work`` runs in a reader thread on a plain ``sqlite3``
        connection: one thread hop however many statements it runs, where aiosqlite costs a hop
        per cursor operation. Without an explicit ``BEGIN``, each statement is its own snapshot.
        Elsewhere it runs through the async engine.
        """
        if self._sync_engine is None or self._readers is None:
            async with self.engine.connect() as connection:
                return await connection.run_sync(work)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_in_thread, work)

    def _read_in_thread(self, work: Callable[[Connection], T]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as connection:
            return work(connection.execution_options(sqlite_begin="NONE"))

    async def run_write(self, work: Callable[[Connection], T], lock_key: str = "") -> T:
        """Run a synchronous write transaction; commits if ``work`` returns, else rolls back.

        On SQLite every write of the process runs in the one writer thread, and writes that
        queue up while it is busy share a transaction (group commit): one ``BEGIN IMMEDIATE``,
        each ``work`` inside a savepoint of its own, one ``COMMIT``. A ``work`` that raises rolls
        back to its savepoint and leaves the others in; none is answered before the ``COMMIT``
        that makes it durable, and a failed ``COMMIT`` fails them all. Elsewhere it runs through
        the async engine under a transaction-scoped advisory lock on ``lock_key``.
        """
        if self._sync_engine is None or self._writer is None:
            async with self.engine.begin() as connection:
                await connection.execute(_ADVISORY_LOCK, {"key": _lock_number(lock_key)})
                return await connection.run_sync(work)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._write_queue.append(_Write(work, answer))
        if not self._write_drain_queued:
            self._write_drain_queued = True
            self._writer.submit(self._write_batch, loop)
        return await answer

    def _write_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the writer thread: run the queued writes in one transaction, then answer them."""
        self._write_drain_queued = False
        batch: list[_Write[Any]] = []
        while self._write_queue and len(batch) < WRITE_BATCH_MAX:
            batch.append(self._write_queue.popleft())
        if self._write_queue:  # more than a batch: another drain follows this one
            self._write_drain_queued = True
            assert self._writer is not None
            self._writer.submit(self._write_batch, loop)
        if batch:
            self._write_in_thread(batch)
            loop.call_soon_threadsafe(_settle, batch)

    def _write_in_thread(self, batch: list[_Write[Any]]) -> None:
        assert self._write_engine is not None
        try:
            with self._write_engine.connect() as connection, self._writer_turn():
                driver: Any = connection.connection.driver_connection
                run = connection.execution_options(sqlite_begin="NONE")
                _take_write_lock(driver)
                try:
                    for write in batch:
                        write.run(run, driver, alone=len(batch) == 1)
                    driver.commit()
                except BaseException:
                    driver.rollback()
                    raise
        except BaseException as exc:  # the transaction as a whole failed: so did every write
            for write in batch:
                write.fail(exc)

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Hold this database's writer lock file: server processes take turns without polling.

        SQLite's own lock cannot be waited on, only retried; an ``flock`` on a file beside the
        database wakes the next process the moment the last one commits. Writers that do not
        take it (migrations, the ORM write path) are still kept out by ``BEGIN IMMEDIATE``.
        """
        if self._lock_file is None:
            self._lock_file = open(self._lock_path, "a+b")  # noqa: SIM115 - held for the process
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

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
            await session.execute(_ADVISORY_LOCK, {"key": _lock_number(lock_key)})
            yield session

    async def ping(self) -> None:
        """Run a trivial query; raises if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection and the reader threads."""
        await self.engine.dispose()
        for engine in (self._sync_engine, self._write_engine):
            if engine is not None:
                engine.dispose()
        for pool in (self._readers, self._writer):
            if pool is not None:
                pool.shutdown(wait=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def count_rows(connection: Connection, statement: Select[int], key: Hashable) -> int:
    """``SELECT count(*)`` answered from a per-connection cache while nothing has changed.

    Counting a large table is the dearest part of a list page on SQLite. ``PRAGMA
    data_version`` changes whenever another connection (another thread or another server
    process) commits, so a count cached on a reader connection, which never writes, stays exact
    for as long as the version holds. Other databases count every time.
    """
    if connection.dialect.name != "sqlite":
        return int(connection.execute(statement).scalar_one())
    version = connection.exec_driver_sql("PRAGMA data_version").scalar()
    cache: OrderedDict[Hashable, tuple[Any, int]] = connection.info.setdefault(
        "counts", OrderedDict()
    )
    cached = cache.get(key)
    if cached is not None and cached[0] == version:
        cache.move_to_end(key)
        return cached[1]
    total = int(connection.execute(statement).scalar_one())
    cache[key] = (version, total)
    if len(cache) > COUNT_CACHE_SIZE:
        cache.popitem(last=False)
    return total


class _Write(Generic[T]):
    """One queued write: its work, and the future its caller awaits."""

    __slots__ = ("answer", "error", "result", "work")

    def __init__(self, work: Callable[[Connection], T], answer: asyncio.Future[T]) -> None:
        self.work = work
        self.answer = answer
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self, connection: Connection, driver: Any, *, alone: bool) -> None:
        """Run inside the open transaction; a failure undoes this write only."""
        if alone:  # its failure is the transaction's: no savepoint needed
            try:
                self.result = self.work(connection)
            except Exception as exc:
                self.error = exc
                raise
            return
        driver.execute("SAVEPOINT write")
        try:
            self.result = self.work(connection)
        except Exception as exc:
            self.error = exc
            driver.execute("ROLLBACK TO write")
        driver.execute("RELEASE write")

    def fail(self, exc: BaseException) -> None:
        """The transaction did not commit: whatever this write did is undone."""
        if self.error is None:
            self.error = exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def _settle(batch: list[_Write[Any]]) -> None:
    """On the event loop: answer every write of a finished batch."""
    for write in batch:
        if write.answer.done():  # its caller was cancelled; the write stands or fell regardless
            continue
        if write.error is not None:
            write.answer.set_exception(write.error)
        else:
            write.answer.set_result(write.result)


class Prepared:
    """A Core statement compiled once and run straight on the SQLite driver's connection.

    On the booking path a transaction runs four small statements while it holds SQLite's only
    write lock, and SQLAlchemy's work around each one (execution context, result object, layers
    of type handling) costs more than SQLite's own. The SQL, the order of its parameters and the
    conversion of each value still come from SQLAlchemy, compiled once per statement; only the
    execution skips it. Other databases run the statement through SQLAlchemy as usual.

    Args:
        statement: A ``select``, or an ``insert`` (with ``returning`` if rows should come back).
        column_keys: For an ``insert``: the columns the parameters give values for.
    """

    def __init__(
        self,
        statement: Select[*tuple[Any, ...]] | Insert,
        *,
        column_keys: Sequence[str] | None = None,
    ) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._plan: tuple[str, list[tuple[str, Any]], list[Any]] | None = None

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with ``params``; the rows it returns, as tuples."""
        if connection.dialect.name != "sqlite":
            result = connection.execute(self.statement, dict(params))
            return [tuple(row) for row in result] if result.returns_rows else []
        sql, binds, results = self._plan or self._compile(connection.dialect)
        driver: Any = connection.connection.driver_connection
        values = [
            params[name] if process is None else process(params[name]) for name, process in binds
        ]
        rows: list[tuple[Any, ...]] = driver.execute(sql, values).fetchall()
        if any(results):
            rows = [
                tuple(v if p is None else p(v) for p, v in zip(results, row, strict=True))
                for row in rows
            ]
        return rows

    def _compile(self, dialect: Dialect) -> tuple[str, list[tuple[str, Any]], list[Any]]:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        names: Sequence[str] = compiled.positiontup or ()
        binds = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]
        columns = getattr(self.statement, "exported_columns", ())  # selected or returned
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self._plan = (str(compiled), binds, results)
        return self._plan


def select_rows(
    connection: Connection,
    statement: Select[*tuple[Any, ...]],
    params: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run a ``select`` built per request; its rows as dicts keyed by column name.

    ``params`` gives the values of bound parameters made without one (``bindparam("id")``).

    The hot list and detail pages build their statements per request, from the filters given.
    On SQLite the statement is compiled once per shape, found again by SQLAlchemy's own cache
    key, and run on the driver cursor with this request's parameter values, as
    :class:`Prepared` does for fixed statements. Elsewhere it runs through SQLAlchemy.
    """
    key = statement._generate_cache_key() if connection.dialect.name == "sqlite" else None
    plan = _SHAPES.get(key.key) if key is not None else None
    if plan is None and key is not None:
        plan = _SHAPES[key.key] = _Shape(statement, key, connection.dialect)
        if len(_SHAPES) > COUNT_CACHE_SIZE:
            _SHAPES.pop(next(iter(_SHAPES)))
    if plan is None or key is None or plan.expanding:  # IN (a list) is rendered per execution
        return [dict(row) for row in connection.execute(statement, params).mappings()]
    values = plan.compiled.construct_params(params, extracted_parameters=key.bindparams)
    driver: Any = connection.connection.driver_connection
    bound = [
        values[name] if process is None else process(values[name]) for name, process in plan.binds
    ]
    columns = plan.columns
    return [
        {name: v if p is None else p(v) for (name, p), v in zip(columns, row, strict=True)}
        for row in driver.execute(plan.sql, bound)
    ]


class _Shape:
    """A compiled select, its parameter order and conversions, and its column conversions."""

    __slots__ = ("binds", "columns", "compiled", "expanding", "sql")

    def __init__(self, statement: Select[*tuple[Any, ...]], key: Any, dialect: Dialect) -> None:
        # Compiled with its cache key, it can take the parameters of any statement of its shape.
        self.compiled: Any = statement.compile(dialect=dialect, cache_key=key)
        self.sql = str(self.compiled)
        self.expanding = "POSTCOMPILE" in self.sql
        self.binds = [
            (name, self.compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in self.compiled.positiontup or ()
        ]
        self.columns = [
            (str(c.key), c.type.dialect_impl(dialect).result_processor(dialect, None))
            for c in statement.selected_columns
        ]


_SHAPES: dict[Any, _Shape] = {}


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _lock_number(lock_key: str) -> int:
    """A signed 64-bit number for PostgreSQL's advisory locks, stable across processes."""
    digest = hashlib.blake2b(lock_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") - (1 << WRITE_KEY_BITS)


def _take_write_lock(driver: Any) -> None:
    """``BEGIN IMMEDIATE``, retried every few hundred microseconds while another writer holds it.

    SQLite's own busy handler backs off to sleeps of 25-100 ms, which turns a moment of
    contention between server processes into a long tail of slow bookings.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.0002
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 1.5, 0.004)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN statements the store controls.

    pysqlite's own transaction handling issues a deferred ``BEGIN`` lazily, which lets two
    writers both read before either writes. Turning it off and emitting ``BEGIN`` ourselves makes
    ``BEGIN IMMEDIATE`` possible for writers, and no ``BEGIN`` at all for one-statement reads.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        if mode != "NONE":
            conn.exec_driver_sql(f"BEGIN {mode}".strip())
