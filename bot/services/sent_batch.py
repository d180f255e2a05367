"""Deliveries recorded together: one statement for many ``sent`` outcomes.

At 1,000 sends a second, one UPDATE per delivery is a database round trip per send: on
PostgreSQL a third of the leader's CPU went to psycopg's per-statement work (py-spy,
docs/benchmarks.md). ``SentBatch.record`` waits until its row is written together with the
others that came within ``delay`` seconds (or ``size`` rows), so a send's task still ends only
once its outcome is stored: a crash loses no more than the sends in flight and the few
milliseconds of one batch, which are sent again, as before.
"""

from __future__ import annotations

import asyncio

from storage import outbox
from storage.db import Database

DELAY = 0.025  # seconds a sent row waits for others
SIZE = 200  # rows written at once at most


class SentBatch:
    def __init__(self, db: Database, *, delay: float = DELAY, size: int = SIZE) -> None:
        self._db = db
        self._delay = delay
        self._size = size
        self._rows: list[tuple[int, int | None]] = []
        self._now = 0
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def record(self, delivery_id: int, message_id: int | None, now: int) -> None:
        """Mark one delivery sent; returns once it is written (raises if the write failed)."""
        loop = asyncio.get_running_loop()
        if self._done is None:
            self._done = loop.create_future()
            self._timer = loop.call_later(self._delay, self._flush)
        done = self._done
        self._rows.append((delivery_id, message_id))
        self._now = max(self._now, now)
        if len(self._rows) >= self._size:
            self._flush()
        await asyncio.shield(done)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, done, now = self._rows, self._done, self._now
        self._rows, self._done = [], None
        if done is not None:
            asyncio.get_running_loop().create_task(self._write(rows, now, done))

    async def _write(
        self, rows: list[tuple[int, int | None]], now: int, done: asyncio.Future
    ) -> None:
        try:
            await outbox.mark_sent_many(self._db, rows, now)
        except Exception as exc:  # every waiter sees it and records its row again
            done.set_exception(exc)
            done.exception()  # retrieved here: no warning when no waiter is left
            return
        done.set_result(None)
