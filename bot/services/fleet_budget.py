"""One flood budget for every instance of one bot.

Telegram's limits are the bot's: three instances that each kept 30 messages a second would
send 90. So on PostgreSQL every message (a reader's reply on any instance, the leader's
broadcasts) is also taken from a token bucket in the database (``storage.flood``), refilled at
``HERALD_MESSAGE_RATE`` less a margin and holding at most ``burst`` tokens, so any one-second
window holds at most ``rate + burst`` (≤ ``HERALD_MESSAGE_RATE``) messages from all instances
together. A 429 seen by any
instance pauses the bucket, so every instance waits it out. The per-chat limits stay each
instance's own (``ChatPacer``): a chat's updates are handled by one instance at a time, and
broadcasts come from the leader alone.

On SQLite (one instance) the pacers in memory are the whole budget and this does nothing.
At high rates (paid broadcasts) tokens are taken a few at a time to spare round trips and
handed out at the bucket's pace; tokens not used soon are dropped, since a token kept for
later could bunch with new ones.
"""

from __future__ import annotations

import asyncio
import logging

from storage import flood
from storage.db import Database

log = logging.getLogger(__name__)

RATE_SHARE = 0.95  # of HERALD_MESSAGE_RATE: the margin covers sends' travel to Telegram
PAUSE_CAP = 5.0  # seconds a 429 holds every instance at most (a longer one is the chat's)
MAX_WAIT = 0.5  # seconds between two asks while the bucket is empty or paused
CHUNK_RATE = 40  # asks a second at most: above that, tokens are taken several at a time
# A token handed out late (the event loop sleeps in whole milliseconds and runs other tasks)
# lets the next ones catch up this far, or every late wake-up would be lost from the rate.
CATCH_UP = 0.002  # seconds


class FleetBudget:
    """``take()`` before each message; ``pause(seconds)`` after a 429 (see the module doc)."""

    def __init__(self, message_rate: float) -> None:
        self.rate = message_rate * RATE_SHARE
        self.chunk = max(1, int(self.rate // CHUNK_RATE))
        # Room for two asks' worth, so the bucket refills while an ask is on its way; never
        # more than what the margin leaves: a window holds at most rate + burst ≤ the limit.
        self.burst = max(1.0, min(2.0 * self.chunk, message_rate - self.rate))
        self._db: Database | None = None
        self._spare = 0
        self._spare_until = 0.0
        self._spare_at = 0.0  # when the last spare token was handed out
        self._asking: asyncio.Task[float | None] | None = None  # the next chunk, asked ahead
        self._void_ask = False
        self._lock = asyncio.Lock()
        self._failing = False

    def attach(self, db: Database) -> None:
        """Share the budget through ``db`` when several instances may use it."""
        self._db = db if flood.shared(db) else None

    @property
    def shared(self) -> bool:
        return self._db is not None

    async def take(self) -> None:
        """Wait until the fleet may send one more message, and count it."""
        if self._db is None:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:  # one ask at a time from this instance: asks stay in order
            while True:
                now = loop.time()
                if self._spare and now >= self._spare_until:
                    self._spare = 0  # held too long: dropped, they could bunch with new ones
                if not self._spare and self._asking is not None:
                    self._granted(await self._answer())
                    continue
                if self._spare:
                    # A chunk's tokens are spent at the bucket's pace, not all at once; the
                    # pace runs on from the last token, so a chunk asked ahead adds no gap.
                    self._spare -= 1
                    self._spare_at = max(self._spare_at + 1 / self.rate, now - CATCH_UP)
                    ahead = self.chunk > 1 and self._spare <= self.chunk // 2
                    if ahead and self._asking is None:
                        # The next ask's round trip overlaps this chunk's last tokens (at paid
                        # rates; at 30 a second a token is asked for when it is needed).
                        self._asking = asyncio.create_task(self._ask())
                    if self._spare_at > now:  # never ahead of the pace: 5 ms ahead gave 429s
                        await asyncio.sleep(self._spare_at - now)
                    return
                wait = await self._ask()
                if wait is None or wait <= 0:
                    self._granted(wait)
                    continue
                await asyncio.sleep(min(wait, MAX_WAIT))

    async def _ask(self) -> float | None:
        """One ask for a chunk: 0 when granted, seconds to wait, None when unreachable."""
        assert self._db is not None
        try:
            wait = await flood.take(self._db, self.chunk, self.rate, self.burst)
        except Exception as exc:  # the database is away: the local pacers still hold
            self._report(exc)
            return None
        self._failing = False
        return wait

    async def _answer(self) -> float | None:
        """The answer to the ask made ahead (and forget it)."""
        task, self._asking = self._asking, None
        assert task is not None
        wait = await task
        if self._void_ask:  # a 429 came while it was on its way
            self._void_ask = False
            return MAX_WAIT
        return wait

    def _granted(self, wait: float | None) -> None:
        """Count an ask's tokens (an unreachable budget lets one message go by the local
        pacers alone; a refused ask adds nothing and the next ask waits its turn)."""
        if wait is None:
            self._spare = 1
        elif wait <= 0:
            self._spare += self.chunk
        self._spare_until = asyncio.get_running_loop().time() + 2 * self.chunk / self.rate

    async def pause(self, seconds: float) -> None:
        """A 429: no instance sends for ``seconds`` (at most ``PAUSE_CAP``)."""
        self._spare = 0
        self._void_ask = self._asking is not None  # what an ask ahead brings is dropped too
        if self._db is None:
            return
        try:
            await flood.pause(self._db, min(seconds, PAUSE_CAP))
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("shared flood budget unreachable (%s): pacing by this instance only", exc)
        self._failing = True
