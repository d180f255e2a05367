"""Exactly one instance leads: it runs what must run once for the bot.

Several ``python -m bot`` processes may share one PostgreSQL database. Each takes updates
(webhook intake) and answers readers; only the leader runs the broadcast sender, feed polling,
digest release, hourly jobs and webhook registration (``bot.app.lead``), because two of them
would send every push twice and fetch every feed twice. Leadership is a lock in the database
(``storage.leader``): an instance that does not hold it asks again every ``every`` seconds, so
when the leader dies another leads about a second later; a leader checks its lock's
connection as often and steps down when it stops answering within ``timeout``.

Stepping down stops the duties first (sends in flight finish and are recorded, claimed rows
go back), then frees the lock, so the next leader never starts while this one still sends.
On SQLite the one instance leads from start to stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot import metrics
from storage.db import Database
from storage.leader import LeaderLock

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds between asks for the lock, and between checks of a held one
TIMEOUT = 2.0  # seconds the lock's connection has to answer a check

Duties = Callable[[asyncio.Event], Awaitable[None]]


class Leadership:
    """``run(stop)`` until stopped; ``duties(deposed)`` runs while this instance leads."""

    def __init__(
        self, db: Database, duties: Duties, *, every: float = EVERY, timeout: float = TIMEOUT
    ) -> None:
        self._lock = LeaderLock(db)
        self._duties = duties
        self._every = every
        self._timeout = timeout
        self.leading = False
        self.terms = 0  # how many times this instance was elected (logs, tests)
        self._unreachable = False

    async def run(self, stop: asyncio.Event) -> None:
        """Ask for the lock until ``stop``; lead whenever it is ours. A duty that fails
        (not a lost lock: a bug) ends this, and so the process, rather than hide."""
        try:
            while not stop.is_set():
                if not await self._acquire():
                    await _wait(stop, self._every)
                elif not await self._lead(stop):
                    # Lost the lock's connection: let a healthy instance take over first.
                    await _wait(stop, self._every * 3)
        finally:
            await self._lock.release()

    async def _acquire(self) -> bool:
        try:
            held = await self._lock.acquire()
        except Exception as exc:
            if not self._unreachable:
                log.warning("cannot reach the database to elect a leader (%s); retrying", exc)
            self._unreachable = True
            await self._lock.drop()
            return False
        self._unreachable = False
        return held

    async def _lead(self, stop: asyncio.Event) -> bool:
        """Run the duties until stopped or the lock is lost; False when it was lost."""
        self.leading, self.terms = True, self.terms + 1
        metrics.LEADER.set(1)
        log.info("leading: this instance runs broadcasts, feeds, digests and hourly jobs")
        deposed = asyncio.Event()
        duties = asyncio.create_task(self._duties(deposed), name="leader-duties")
        lost = False
        try:
            while not stop.is_set() and not duties.done():
                await _wait(stop, self._every, duties)
                if stop.is_set() or duties.done():
                    break
                try:
                    await self._lock.check(self._timeout)
                except Exception as exc:
                    log.warning("lost the leadership lock's connection (%s): stepping down", exc)
                    lost = True
                    break
        finally:
            deposed.set()
            try:
                await duties  # a failed duty raises here
            finally:
                self.leading = False
                metrics.LEADER.set(0)
                if lost:
                    await self._lock.drop()
                else:
                    await self._lock.release()
                if not stop.is_set():
                    log.info("no longer leading")
        return not lost


async def _wait(stop: asyncio.Event, seconds: float, task: asyncio.Task | None = None) -> None:
    """Until ``stop`` is set, ``task`` ends, or ``seconds`` pass."""
    waiters: set[asyncio.Future] = {asyncio.ensure_future(stop.wait())}
    if task is not None:
        waiters.add(task)
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            if waiter is not task:
                waiter.cancel()
