"""Who leads: the lock that lets exactly one instance run what must run once.

On PostgreSQL the leader holds a session advisory lock on a connection of its own. The lock
lives exactly as long as that session: when the leader is killed its socket closes and
PostgreSQL frees the lock at once; when the leader loses the database, its next ``check``
fails and it steps down (PostgreSQL frees the lock when it notices the session gone, which
TCP keepalives on the connection bound to seconds). A SQLite file has one instance, which
always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from storage.db import POSTGRESQL, Database

log = logging.getLogger(__name__)

# The advisory lock of leadership: "HELD" and the schema, so two Heralds that share a database
# in different schemas (a test run, a staging copy) each have a leader.
LOCK_KEY = 0x4845_4C44
CONNECT_TIMEOUT = 3  # seconds
# The server notices a vanished leader within idle + interval × count seconds.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 3,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}


class LeaderLock:
    """The lock for one database. ``acquire`` (non-blocking), ``check``, ``release``."""

    def __init__(self, db: Database) -> None:
        self._url = str(db.path) if db.backend == POSTGRESQL else None
        self._conn: Any = None
        self.held = False

    async def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this instance now leads."""
        if self._url is None:
            self.held = True
            return True
        if self._conn is None:
            from psycopg import AsyncConnection

            self._conn = await AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **KEEPALIVES
            )
        cursor = await self._conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (LOCK_KEY,)
        )
        row = await cursor.fetchone()
        self.held = bool(row and row[0])
        return self.held

    async def check(self, within: float) -> None:
        """Raise when the lock can no longer be trusted (its connection does not answer)."""
        if self._url is None:
            return
        if self._conn is None or self._conn.closed:
            raise ConnectionError("the leadership connection is closed")
        await asyncio.wait_for(self._conn.execute("SELECT 1"), within)

    async def release(self) -> None:
        """Give the lock up (closing the session frees it even when unlock cannot be sent)."""
        self.held = False
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                conn.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (LOCK_KEY,)
                ),
                timeout=1.0,
            )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=1.0)

    async def drop(self) -> None:
        """Forget a connection that failed, without waiting on it."""
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=1.0)
