"""Telegram's flood limits as schedules: when may the next message go out?

Kept apart from the delivery worker so the limits are plain, testable arithmetic on times.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
GROUP_WINDOW = 60.0  # seconds
GROUP_PER_WINDOW = 20  # messages to one group or channel in that window
# Telegram counts on its side of the network, when a request arrives: a little slack so
# jitter in our connection pool never breaks a limit.
MARGIN = 0.05  # seconds added to per-chat intervals
RATE_MARGIN = 0.015  # share by which the global rate stays under the configured one
WINDOW_MARGIN = 0.015  # seconds: the last `rate` sends must span at least 1 s plus this
# Replies leave through python-telegram-bot, whose requests take longer and vary more from
# the moment they are counted to their arrival than the broadcast lane's: the shared window
# keeps about this many sends' worth of slack (0.1 s at 30 a second, WINDOW_MARGIN at 200+).
SHARED_SLACK = 3.0
# A broadcast slot taken late (the event loop sleeps in whole milliseconds and runs other
# tasks) lets the next ones catch up this far; ``admit``'s windows still bound every second.
CATCH_UP = 0.002  # seconds


class GlobalPacer:
    """One budget for every message the bot sends: readers' replies and broadcasts together.

    Telegram allows about ``total`` messages a second to all chats together (30; 1,000 with
    paid broadcasts). Broadcasts take evenly spaced slots at ``rate`` (``reserve``) and never
    more than ``rate`` in a second. Readers' replies go first and, with no broadcast going, may
    use the whole ``total``; while a broadcast is going they leave it at least ``floor``
    messages a second, so a crowd of readers (or one flooder) slows a broadcast but never
    stops it.

    Slots alone are not enough: after the event loop stalls (a busy machine), sends scheduled
    apart can leave together. So ``admit`` lets a send leave only while the sends of the last
    second (plus a margin) stay within each budget, counted at the moment they leave.
    """

    def __init__(self, rate: float, total: float | None = None, floor: float = 0.0) -> None:
        self.interval = (1.0 + RATE_MARGIN) / rate
        self._next = 0.0
        self._total = max(1, int(max(rate, total or rate)))
        self._broadcast_cap = max(1, int(rate))
        self._margin = max(WINDOW_MARGIN, SHARED_SLACK / self._total)
        # Replies' share of a window while a broadcast is going: what the floor leaves of the
        # rate the shared window really allows (its margin is wider than the replies').
        spare = self._total / (1.0 + self._margin) - min(floor, rate)
        self._reply_cap = max(1, math.floor(spare * (1.0 + WINDOW_MARGIN)))
        self._all: deque[float] = deque()
        self._broadcasts: deque[float] = deque()
        self._replies: deque[float] = deque()
        self._replies_waiting = 0
        self._broadcasts_waiting = 0

    def reserve(self, now: float) -> float:
        """Take the next broadcast slot; returns when it starts (``now`` or later)."""
        slot = max(now - CATCH_UP, self._next)
        self._next = slot + self.interval
        return max(slot, now)

    async def admit(self, *, reply: bool = False) -> None:
        """Wait until one more send keeps every one-second window within its budget.

        A reader's reply (``reply=True``) goes first: while one waits within its share,
        broadcasts do not take the slot it is waiting for.
        """
        loop = asyncio.get_running_loop()
        self._waiting(reply, +1)
        try:
            while True:
                if self.try_admit(reply=reply):
                    return
                await asyncio.sleep(self._wait(loop.time(), reply))
        finally:
            self._waiting(reply, -1)

    def try_admit(self, *, reply: bool = False) -> bool:
        """Count one send now if every budget has room (no waiting); whether it was."""
        now = asyncio.get_running_loop().time()
        self._forget(now)
        if not (self._may_reply() if reply else self._may_broadcast()):
            return False
        self._all.append(now)
        (self._replies if reply else self._broadcasts).append(now)
        return True

    def hold_until(self, moment: float) -> None:
        """No broadcast slot before ``moment`` (a 429 paused the lane)."""
        self._next = max(self._next, moment)

    def _waiting(self, reply: bool, change: int) -> None:
        if reply:
            self._replies_waiting += change
        else:
            self._broadcasts_waiting += change

    def _broadcasting(self) -> bool:
        return bool(self._broadcasts_waiting or self._broadcasts)

    def _may_reply(self) -> bool:
        if len(self._all) >= self._total:
            return False
        return not self._broadcasting() or len(self._replies) < self._reply_cap

    def _may_broadcast(self) -> bool:
        if len(self._all) >= self._total or len(self._broadcasts) >= self._broadcast_cap:
            return False
        return not (self._replies_waiting and self._may_reply())

    def _forget(self, now: float) -> None:
        """Drop sends that left the window (each at most once: amortised O(1) a send)."""
        while self._all and self._all[0] <= now - 1.0 - self._margin:
            self._all.popleft()
        edge = now - 1.0 - WINDOW_MARGIN
        for sent in (self._broadcasts, self._replies):
            while sent and sent[0] <= edge:
                sent.popleft()

    def _wait(self, now: float, reply: bool) -> float:
        """Until the oldest send of the budget that is full leaves the window, else a slot."""
        if len(self._all) >= self._total:
            return max(self._all[0] + 1.0 + self._margin - now, 0.001)
        if not reply and len(self._broadcasts) >= self._broadcast_cap:
            oldest = self._broadcasts[0]
        elif reply and len(self._replies) >= self._reply_cap:
            oldest = self._replies[0]
        else:  # waiting for a reply to go first
            return max(self.interval, 0.001)
        return max(oldest + 1.0 + WINDOW_MARGIN - now, 0.001)


class ChatPacer:
    """Per-chat limits: 1 a second to a private chat, 20 a minute to a group or channel."""

    def __init__(self) -> None:
        self._private: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._blocked_until: dict[int, float] = {}

    def ready_at(self, chat_id: int, private: bool, now: float) -> float:
        """The earliest time a message to this chat keeps its limit (``now`` if already)."""
        moment = self._blocked_until.get(chat_id, 0.0)
        if private:
            last = self._private.get(chat_id)
            if last is not None:
                moment = max(moment, last + PRIVATE_INTERVAL + MARGIN)
        else:
            sent = self._groups.get(chat_id)
            if sent is not None and len(sent) >= GROUP_PER_WINDOW:
                moment = max(moment, sent[0] + GROUP_WINDOW + MARGIN)
        return max(moment, now)

    def record(self, chat_id: int, private: bool, at: float) -> None:
        if private:
            self._private[chat_id] = at
            return
        sent = self._groups.setdefault(chat_id, deque(maxlen=GROUP_PER_WINDOW))
        sent.append(at)

    def block(self, chat_id: int, until: float) -> None:
        self._blocked_until[chat_id] = max(self._blocked_until.get(chat_id, 0.0), until)

    def forget_before(self, moment: float) -> None:
        """Drop what no longer limits anything, so memory follows recent chats only."""
        self._private = {c: t for c, t in self._private.items() if t + PRIVATE_INTERVAL > moment}
        self._groups = {
            c: q for c, q in self._groups.items() if q and q[-1] + GROUP_WINDOW > moment
        }
        self._blocked_until = {c: t for c, t in self._blocked_until.items() if t > moment}
