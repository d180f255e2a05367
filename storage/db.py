"""The database Herald talks to: one interface, a SQLite and a PostgreSQL implementation.

Every query in Herald goes through a ``Database``. ``Database.open`` picks the backend from
``HERALD_DATABASE``: a file path is SQLite (the embedded default, through aiosqlite), a
``postgresql://`` URL is PostgreSQL (``storage.postgres``, psycopg 3 with a connection pool).
Both apply their numbered migrations at open, offer a ``transaction()`` so a multi-statement
write is all or nothing, and return rows that read by position or by column name. Storage
modules are plain async functions that take a ``Database``; they keep one SQL text where the
two dialects agree (``:name`` and ``?`` parameters work on both) and look at ``db.backend``
only where they differ.

The SQLite implementation lives here: it opens the file with the pragmas Herald relies on (WAL
so readers never wait for the writer, a busy timeout, foreign keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg

log = logging.getLogger(__name__)

Params = Mapping[str, Any] | Sequence[Any]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

# What a caller may catch when the database is busy, locked or briefly unreachable (SQLite:
# another process writing longer than the busy timeout; PostgreSQL: a lost connection, a pool
# that had no connection in time): storage's callers need not import a driver.
BusyError: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)
# A unique or foreign key constraint refused a write, on either backend.
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)

SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseUnavailable(Exception):
    """The database file cannot be opened or created; ``reason`` says why in a few words.

    Callers (the command line) turn it into one line naming the setting, instead of the
    traceback sqlite3 and aiosqlite's thread would print.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def check_database_path(path: Path | str) -> None:
    """Raise ``DatabaseUnavailable`` if ``path`` cannot hold Herald's database; leave nothing.

    A PostgreSQL URL is not a path: the server answers for it when Herald connects.

    Herald does not create missing folders: a mistyped folder is a mistake, not a request, and
    creating it would leave a stray database behind. The folder must be writable even when the
    file exists, because SQLite's WAL mode keeps two files beside the database. The checks try
    the real thing (create the file and remove it, open it for writing) rather than trusting
    permission bits, which say yes to root even in /proc.
    """
    if str(path) == ":memory:" or is_postgres_url(path):
        return
    path = Path(path)
    if path.is_dir():
        raise DatabaseUnavailable(path, "it is a folder; give a file name, e.g. herald.db")
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseUnavailable(path, _missing_folder(folder))
    exists = path.exists()
    try:
        if exists:
            with path.open("r+b") as file:
                head = file.read(len(SQLITE_HEADER))
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            path.unlink()
    except OSError as exc:
        doing = "open it for writing" if exists else "create a file there"
        raise DatabaseUnavailable(path, f"cannot {doing} ({exc.strerror or exc})") from None
    if exists and head and head != SQLITE_HEADER:
        raise DatabaseUnavailable(path, "it is not an SQLite database")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(path, f"no permission to write in the folder {folder}")


def _missing_folder(folder: Path) -> str:
    """Why ``folder`` is not there: a file stands in its way, or it does not exist."""
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            return f"{part} is a file, not a folder"
    return f"the folder {folder} does not exist (Herald does not create folders)"


# Set inside ``Database.transaction()`` for the task that owns it (and what it awaits).
_in_transaction: ContextVar[bool] = ContextVar("herald_in_transaction", default=False)


def in_transaction() -> bool:
    """Whether this task is inside ``Database.transaction()`` (its reads must see its writes)."""
    return _in_transaction.get()


def is_postgres_url(target: object) -> bool:
    """Whether ``HERALD_DATABASE`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Database(ABC):
    """An open database with Herald's schema applied (see the module docstring)."""

    backend: str
    path: Path | str  # the SQLite file, or the PostgreSQL URL it was opened with

    @classmethod
    async def open(cls, target: Path | str) -> Database:
        """Open and migrate ``target``: a ``postgresql://`` URL, else a SQLite file path."""
        if is_postgres_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.open(str(target))
        return await SqliteDatabase.open(target)

    @abstractmethod
    async def close(self) -> None: ...

    def on_close(self, hook: Callable[[], Any]) -> None:
        """Call ``hook`` when this database closes, before its connections do (an index kept
        beside it lets go; writes still on their way finish). An awaitable it returns is
        awaited."""
        self.__dict__.setdefault("_close_hooks", []).append(hook)

    async def _run_close_hooks(self) -> None:
        for hook in reversed(self.__dict__.pop("_close_hooks", [])):
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.warning("close hook failed", exc_info=True)

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All statements of this task inside the block commit together or not at all."""

    @asynccontextmanager
    async def bulk_writes(self) -> AsyncIterator[None]:
        """Settings for a long run of large transactions (an archive import), undone after.

        Nothing to change on a server database; SQLite overrides it.
        """
        yield

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (SQLite returns its ``lastrowid``; use ``RETURNING`` instead)."""

    @abstractmethod
    async def execute_changes(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return how many rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Any | None: ...

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetchone_quick(self, sql: str, params: Params = ()) -> Any | None:
        """``fetchone`` for a small read by key on a reader's hot path (a chat's settings, an
        article, a page of /latest): a few rows through an index, well under a millisecond.

        SQLite runs it in the event loop's thread (see ``SqliteDatabase``); a server database
        has no cheaper path than its usual one.
        """
        return await self.fetchone(sql, params)

    async def fetchall_quick(self, sql: str, params: Params = ()) -> list[Any]:
        """``fetchall`` for a small read by key (see ``fetchone_quick``)."""
        return await self.fetchall(sql, params)


class SqliteDatabase(Database):
    """An open SQLite database with Herald's schema applied."""

    backend = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        # Reads outside a transaction use their own connection (and thread): WAL lets them
        # run while the writer works, so a reader's /latest never queues behind a fan-out.
        self._reader: aiosqlite.Connection | None = None
        # Small reads by key (``fetchone_quick``) use a third connection in the event loop's
        # own thread: a hand-off to the reader's thread and back costs more CPU than they do.
        self._loop_reader: sqlite3.Connection | None = None
        self.path = path
        # One connection serves every task (replies, the delivery worker, ingest). A statement
        # from another task must not land inside someone's open transaction, so transactions
        # hold this lock and lone statements wait for it.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteDatabase:  # type: ignore[override]
        """Open (creating the file if needed) and migrate the database at ``path``.

        Raises ``DatabaseUnavailable`` when the path cannot be used (see ``check_database_path``)
        or SQLite refuses the file; nothing is left open then.
        """
        path = Path(path)
        check_database_path(path)
        # sqlite3 opens the file first, in a worker thread: when aiosqlite's own connect fails,
        # its thread outlives the event loop and prints a second traceback at exit.
        try:
            await asyncio.to_thread(_probe, path)
            db = cls(await _connect(path), path)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(path, str(exc)) from exc
        try:
            await db._migrate()
            if str(path) != ":memory:":
                db._reader = await _connect(path, read_only=True)
                db._loop_reader = _connect_in_loop(path)
        except sqlite3.Error as exc:
            await db.close()
            raise DatabaseUnavailable(path, str(exc)) from exc
        return db

    async def close(self) -> None:
        await self._run_close_hooks()
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None
        if self._reader is not None:
            await self._reader.close()
        await self._conn.close()

    async def _migrate(self) -> None:
        """Apply ``storage/migrations/NNNN_*.sql`` newer than ``PRAGMA user_version``, in order."""
        current = await self.scalar("PRAGMA user_version")
        for version, name, sql in _migrations():
            if version <= current:
                continue
            log.info("applying migration %s", name)
            async with self.transaction():
                for statement in _split_sql(sql):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version = {version:d}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception.

        Statements of the task that opened it run inside it; other tasks' statements wait.
        """
        if _in_transaction.get():
            yield  # already inside one: nested blocks join it
            return
        async with self._lock:
            token = _in_transaction.set(True)
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise
                await self._conn.execute("COMMIT")
            finally:
                _in_transaction.reset(token)

    @asynccontextmanager
    async def bulk_writes(self) -> AsyncIterator[None]:
        """A larger writer cache and rarer checkpoints while an archive import runs.

        At a million articles the keyword and term indexes outgrow the 128 MiB cache, and a
        checkpoint every ~40 MB of WAL copies the same hot pages back again and again; the
        WAL may grow to ~400 MB meanwhile (truncated again by ``journal_size_limit``).
        """
        await self.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB:d}")
        await self.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES:d}")
        try:
            yield
        finally:
            for pragma in _WRITER_PRAGMAS:
                if pragma.startswith(("PRAGMA cache_size", "PRAGMA wal_autocheckpoint")):
                    await self.execute(pragma)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait for any other task's transaction to end (no wait inside one's own)."""
        if _in_transaction.get():
            yield
        else:
            async with self._lock:
                yield

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return its ``lastrowid`` (useful after an INSERT)."""
        async with self._turn():
            rowid, _ = await _one_hop(self._conn, _run, sql, params)
        return rowid

    async def execute_changes(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return how many rows it changed."""
        async with self._turn():
            _, changed = await _one_hop(self._conn, _run, sql, params)
        return changed

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._turn():
            await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        reader = self._reader_for(sql)
        if reader is not None:
            return list(await reader.execute_fetchall(sql, params))
        async with self._turn():
            return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        reader = self._reader_for(sql)
        async with contextlib.nullcontext() if reader is not None else self._turn():
            return await _one_hop(reader or self._conn, _run_fetchone, sql, params)

    async def fetchone_quick(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """In the event loop's thread, outside a transaction (see ``Database.fetchone_quick``).

        Why not the reader's thread: the hand-off there and back (``call_soon_threadsafe``, a
        future, two thread switches) costs ~0.12 ms of CPU, ten times a read of a few rows by
        key, and every update of a reader makes one to five of them. The read does not wait
        for the writer (WAL). Should SQLite be busy all the same (a checkpoint's brief lock),
        the reader's thread, with its long busy timeout, answers instead.
        """
        conn = self._quick_reader()
        if conn is not None:
            try:
                return _run_fetchone(conn, sql, params)
            except sqlite3.OperationalError:
                log.debug("quick read busy; the reader thread answers", exc_info=True)
        return await self.fetchone(sql, params)

    async def fetchall_quick(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """In the event loop's thread, outside a transaction (see ``fetchone_quick``)."""
        conn = self._quick_reader()
        if conn is not None:
            try:
                return _run_fetchall(conn, sql, params)
            except sqlite3.OperationalError:
                log.debug("quick read busy; the reader thread answers", exc_info=True)
        return await self.fetchall(sql, params)

    def _quick_reader(self) -> sqlite3.Connection | None:
        """The loop's read connection, unless a transaction must see its own writes."""
        return None if _in_transaction.get() else self._loop_reader

    async def run_read(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work(connection)`` in the read connection's thread, in one hand-off.

        For a read that mixes SQL with other blocking work (the search index ranks, then one
        statement fetches the page): one hop instead of one per step. Inside a transaction it
        runs on the writer, so it sees the transaction's own writes.
        """
        reader = None if _in_transaction.get() else self._reader
        async with contextlib.nullcontext() if reader is not None else self._turn():
            conn = reader or self._conn
            queue_work = getattr(conn, "_execute", None)
            raw = getattr(conn, "_connection", None)
            if queue_work is None or raw is None:  # aiosqlite internals gone: see _one_hop
                raise NotImplementedError("aiosqlite without _execute/_connection")
            return await queue_work(work, raw)

    def _reader_for(self, sql: str) -> aiosqlite.Connection | None:
        """The read connection for a plain SELECT outside a transaction, else None.

        Inside a transaction a read must see the transaction's own writes, so it stays on the
        writer; ``UPDATE … RETURNING`` and friends are writes whatever method runs them.
        """
        if self._reader is None or _in_transaction.get():
            return None
        head = sql.lstrip()[:6].upper()
        return self._reader if head in ("SELECT", "PRAGMA") else None



def _run(conn: sqlite3.Connection, sql: str, params: Params) -> tuple[int, int]:
    """In aiosqlite's thread: execute, read lastrowid and rowcount, close."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.lastrowid or 0, cursor.rowcount
    finally:
        cursor.close()


def _run_fetchone(conn: sqlite3.Connection, sql: str, params: Params) -> Any:
    """In aiosqlite's thread: execute, fetch one row, close."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def _run_fetchall(conn: sqlite3.Connection, sql: str, params: Params) -> list[Any]:
    """Execute, fetch every row, close."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


async def _one_hop(
    conn: aiosqlite.Connection,
    work: Callable[[sqlite3.Connection, str, Params], Any],
    sql: str,
    params: Params,
) -> Any:
    """Run ``work`` in the connection's thread in one hand-off instead of three.

    aiosqlite's public calls hand each step (execute, fetch, close) to its thread separately;
    at tens of thousands of statements a second those hand-offs were a quarter of the feed
    poll's writer time. ``_execute`` and ``_connection`` are aiosqlite internals (pinned
    below 1.0); should they ever go, the public three-step path is used instead.
    """
    queue_work = getattr(conn, "_execute", None)
    raw = getattr(conn, "_connection", None)
    if queue_work is None or raw is None:
        cursor = await conn.execute(sql, params)
        try:
            if work is _run_fetchone:
                return await cursor.fetchone()
            return cursor.lastrowid or 0, cursor.rowcount
        finally:
            await cursor.close()
    return await queue_work(work, raw, sql, params)


# The page caches are most of Herald's resident memory, and pages read through a memory map
# count as resident too. The writer (ingest, feeds, the outbox) is bounded by its cache alone:
# with no map, a 1,000-feed poll writing 50,000 articles peaks near 230 MB instead of 366 MB,
# and halving its cache from 256 MiB cost nothing measurable (the 100k import ran at the same
# rate). The reader keeps its map: /search and article opens read across the whole file, and
# mapped pages are the kernel's file cache, given back under memory pressure.
BULK_CACHE_KIB = 524_288  # 512 MiB: the writer's cache during an archive import
BULK_CHECKPOINT_PAGES = 100_000  # ~400 MB of WAL between checkpoints then
_WRITER_PRAGMAS = (
    "PRAGMA cache_size = -131072",  # KiB: 128 MiB
    "PRAGMA mmap_size = 0",
    # Bulk writes (a poll, an import) commit about once a second. Checkpointing every 1,000
    # WAL pages (the default) copies the same hot pages back again and again; 10,000 pages
    # (~40 MB) saved ~13% of the commit time in the feed benchmark. The size limit truncates
    # the WAL file after a checkpoint, so it does not stay at its largest.
    "PRAGMA wal_autocheckpoint = 10000",
    "PRAGMA journal_size_limit = 67108864",
)
_READER_PRAGMAS = (
    "PRAGMA cache_size = -65536",  # KiB: 64 MiB
    # Memory-mapped reads skip a copy (and a system call) per page. As much of the file as
    # SQLite maps (2 GiB less 64 KiB in common builds; a larger request is cut to it): a page
    # of search results reads six random articles of the archive, 0.23 ms at the median with
    # 1 GiB mapped of a 2.2 GB database, 0.05 ms with the whole of it.
    "PRAGMA mmap_size = 2147418112",
    "PRAGMA query_only = ON",
)


def _probe(path: Path) -> None:
    """Open ``path`` with plain sqlite3 and read its header: raises what SQLite refuses."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    finally:
        conn.close()


async def _connect(path: Path, *, read_only: bool = False) -> aiosqlite.Connection:
    """A connection with the pragmas Herald relies on (the reader refuses writes).

    Closed again if a pragma fails (a file that is not a database, a read-only folder).
    """
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    try:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 15000",
            "PRAGMA foreign_keys = ON",
            "PRAGMA temp_store = MEMORY",
            *(_READER_PRAGMAS if read_only else _WRITER_PRAGMAS),
        ):
            await conn.execute(pragma)
    except BaseException:
        await conn.close()
        raise
    return conn


def _connect_in_loop(path: Path) -> sqlite3.Connection:
    """The read-only connection ``fetchone_quick`` uses in the event loop's thread.

    It must never hold the loop long: a short busy timeout (the thread reader, with the long
    one, takes over), a small page cache (the memory map shares the kernel's file cache), and
    writes refused.
    """
    conn = sqlite3.connect(
        path.resolve().as_uri() + "?mode=ro",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.row_factory = sqlite3.Row
    try:
        for pragma in (
            "PRAGMA busy_timeout = 50",  # ms: then the thread reader answers
            "PRAGMA cache_size = -8192",  # KiB
            "PRAGMA mmap_size = 2147418112",
            "PRAGMA query_only = ON",
        ):
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrations() -> list[tuple[int, str, str]]:
    """The packaged migration files as (version, name, sql), sorted by version."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping ``CREATE TRIGGER … END;`` bodies whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
