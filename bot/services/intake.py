"""Webhook intake: take stored updates under a lease and hand them to the handlers.

The web route (``bot.web.webhook``) stores each update before answering Telegram, so an
acknowledged update is never only in memory. ``IntakeWorker`` claims the oldest pending update
of each chat (``storage.intake.claim``: one in flight per chat, so a chat's updates are handled
in order), processes it, marks it done. A row stays claimed for ``lease`` seconds: should this
process die, any instance claims it again once the lease has run out (at-least-once for updates
in flight at a crash). On stop it lets what is in flight finish for a grace period and hands
back the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from storage import intake
from storage.db import Database

log = logging.getLogger(__name__)

POLL = 0.3  # seconds between looks for rows stored by other instances or whose lease ran out
DB_RETRY = 1.0
KEEP_DONE = 86_400  # handled rows kept this long: Telegram's repeats of them are recognised
PRUNE_EVERY = 3_600

Process = Callable[[dict[str, Any]], Awaitable[None]]


def chat_key(update: dict[str, Any]) -> int:
    """What orders an update: its chat, else its user (inline queries), else 0 (all together)."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        for holder in (value, value.get("message") or {}):
            chat = holder.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return chat["id"]
        user = value.get("from") or value.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return user["id"]
    return 0


def worker_name() -> str:
    """This process's name on its claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class IntakeWorker:
    """The claim loop (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        process: Process,
        *,
        lease: float,
        concurrency: int = 8,
        grace: float = 4.0,  # SIGTERM → exit within 10 s, with time for the rest of shutdown
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._process = process
        self._lease = lease
        self._concurrency = concurrency
        self._grace = grace
        self._clock = clock
        self.name = worker_name()
        self.running = False
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], int] = {}  # in flight → its update_id
        self._pruned = 0.0
        self._renewed = 0.0

    def wake(self) -> None:
        """An update was stored or finished: look for work now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and process until ``stop``; then finish or hand back what was claimed."""
        self.running = True
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._renew()
                    await self._claim()
                    await self._prune()
                    wait = POLL
                except Exception as exc:  # a database failure pauses intake, never ends it
                    log.warning("intake paused %.0f s: %s", DB_RETRY, exc)
                    wait = DB_RETRY
                await _first_of(stop, self._wake, wait)
        finally:
            self.running = False
            await self._shutdown()

    async def _claim(self) -> None:
        room = self._concurrency - len(self._tasks)
        if room <= 0:
            return
        claimed = await intake.claim(self._db, self.name, room, self._clock(), self._lease)
        for row in claimed:
            task = asyncio.create_task(self._handle(row), name=f"intake-{row.update_id}")
            self._tasks[task] = row.update_id
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _renew(self) -> None:
        """Every third of a lease, extend the leases of what is still being handled."""
        now = self._clock()
        if self._tasks and now - self._renewed >= self._lease / 3:
            self._renewed = now
            await intake.extend(self._db, self.name, list(self._tasks.values()), now + self._lease)

    async def _handle(self, row: intake.Claimed) -> None:
        try:
            await self._process(json.loads(row.payload))
        except Exception:  # PTB reports handler errors itself; this is a broken update
            log.exception("update %s could not be processed", row.update_id)
        for attempt in range(5):  # handled: it must be recorded, or it is handled again
            try:
                await intake.mark_done(self._db, row.update_id, self.name, self._clock())
                break
            except Exception as exc:
                log.warning("could not mark update %s done (%s); retrying", row.update_id, exc)
                await asyncio.sleep(DB_RETRY * (attempt + 1))
        self.wake()  # the chat's next update may be claimed now

    async def _prune(self) -> None:
        now = self._clock()
        if now - self._pruned > PRUNE_EVERY:
            self._pruned = now
            await intake.forget_done(self._db, now - KEEP_DONE)

    async def _shutdown(self) -> None:
        """Let updates in flight finish for ``grace`` seconds; hand back the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            released = await intake.release(self._db, self.name)
        except Exception as exc:
            log.warning("could not hand back claimed updates (%s): their lease runs out", exc)
            return
        if released:
            log.info("handed back %d updates for another instance", released)


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait until ``stop`` or ``wake`` is set, or ``seconds`` pass."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
