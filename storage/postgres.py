"""Herald's PostgreSQL backend: psycopg 3 with a psycopg-pool connection pool.

Statements outside a transaction take any pooled connection in autocommit mode, so many
readers and writers run at once (several Herald processes may share the database). A
``transaction()`` pins one connection to the task that opened it; the task's statements
(and nested ``transaction()`` blocks) run on it until it commits or rolls back.

Storage modules write SQL once for both backends with ``:name`` or ``?`` parameters; this
module turns them into psycopg's ``%(name)s`` / ``%s`` (and doubles any literal ``%``).
Booleans are passed as integers, as SQLite stores them, so the same columns serve both.

Migrations are ``storage/migrations_pg/NNNN_*.sql``, applied in order at open under an
advisory lock (two processes starting together migrate once) and recorded in
``schema_migrations``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from psycopg_pool import AsyncConnectionPool

from storage.db import POSTGRESQL, Database, Params

log = logging.getLogger(__name__)

POOL_MAX = 10  # connections per process: readers' replies, the delivery worker, ingest
POOL_TIMEOUT = 15.0  # seconds to wait for a free connection before BusyError
_MIGRATION_LOCK = 0x4845_5241  # "HERA": the advisory lock key migrations run under


class Row:
    """A result row read by position (``row[0]``) or by column name (``row["id"]``)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: AsyncCursor[Any]) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)

    return make


async def _configure(conn: AsyncConnection[Any]) -> None:
    """Plan every execution with its parameters. psycopg prepares a statement run five times;
    PostgreSQL then may switch to one generic plan, which for a search (a ``tsquery`` it cannot
    see) walks the id range instead of the GIN index (a one-hit search: 27 ms p50 instead of 11
    at 100k, docs/benchmarks.md)."""
    await conn.execute("SET plan_cache_mode = force_custom_plan")


@lru_cache(maxsize=2048)
def to_psycopg(sql: str) -> str:
    """``:name`` → ``%(name)s``, ``?`` → ``%s``, ``%`` → ``%%``; quotes, comments and ``::``
    casts left alone."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = sql.find(c, i + 1)
            end = n - 1 if end < 0 else end
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _params(params: Params) -> Params:
    """Booleans as 0/1 (Herald's flag columns are integers on both backends)."""
    if isinstance(params, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return [int(v) if isinstance(v, bool) else v for v in params]


class PostgresDatabase(Database):
    """An open PostgreSQL database (a pool of connections) with Herald's schema applied."""

    backend = POSTGRESQL

    def __init__(self, pool: AsyncConnectionPool, url: str) -> None:
        self._pool = pool
        self.path = url
        # The connection of this task's open transaction, if any (one variable per database,
        # so a copy between two PostgreSQL databases keeps their transactions apart).
        self._current: ContextVar[AsyncConnection[Any] | None] = ContextVar(
            f"herald_pg_{id(self)}", default=None
        )

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:  # type: ignore[override]
        """Connect to ``url`` and apply the migrations this database has not had yet."""
        pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            timeout=POOL_TIMEOUT,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            configure=_configure,
            open=False,
            name="herald",
        )
        await pool.open(wait=True, timeout=POOL_TIMEOUT)
        db = cls(pool, url)
        try:
            await db.migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    async def migrate(self) -> list[str]:
        """Apply ``storage/migrations_pg`` files not recorded yet; the names applied."""
        applied: list[str] = []
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            cursor = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cursor.fetchall()}
            for version, name, sql in migrations():
                if version in done:
                    continue
                log.info("applying migration %s", name)
                await conn.execute(sql.encode())  # bytes: a whole script, no parameters
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
                applied.append(name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN … COMMIT on one pooled connection, rolled back on any exception."""
        if self._current.get() is not None:
            yield  # already inside one: nested blocks join it
            return
        async with self._pool.connection() as conn, conn.transaction():
            token = self._current.set(conn)
            try:
                yield
            finally:
                self._current.reset(token)

    @asynccontextmanager
    async def _cursor(self) -> AsyncIterator[AsyncCursor[Any]]:
        """A cursor on this task's transaction, or on any free pooled connection."""
        conn = self._current.get()
        if conn is not None:
            async with conn.cursor() as cursor:
                yield cursor
            return
        async with self._pool.connection() as conn, conn.cursor() as cursor:
            yield cursor

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._cursor() as cursor:
            await cursor.execute(to_psycopg(sql), _params(params))
        return 0

    async def execute_changes(self, sql: str, params: Params = ()) -> int:
        async with self._cursor() as cursor:
            await cursor.execute(to_psycopg(sql), _params(params))
            return max(cursor.rowcount, 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [_params(row) for row in rows]
        if not batch:
            return
        async with self._cursor() as cursor:
            await cursor.executemany(to_psycopg(sql), batch)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._cursor() as cursor:
            await cursor.execute(to_psycopg(sql), _params(params))
            return await cursor.fetchall()

    async def fetchone(self, sql: str, params: Params = ()) -> Any | None:
        async with self._cursor() as cursor:
            await cursor.execute(to_psycopg(sql), _params(params))
            return await cursor.fetchone()


def database_url(server: str, name: str) -> str:
    """``server`` (a PostgreSQL URL) pointing at the database ``name`` instead."""
    head, _, tail = server.partition("?")
    base = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


def migrations() -> list[tuple[int, str, str]]:
    """The packaged PostgreSQL migrations as (version, name, sql), sorted by version."""
    found = []
    for entry in resources.files("storage.migrations_pg").iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)
