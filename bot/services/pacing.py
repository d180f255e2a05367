"""Telegram's flood limits as schedules: when may the next message go out?

Kept apart from the delivery worker so the limits are plain, testable arithmetic on times.
"""

from __future__ import annotations

import asyncio
from collections import deque

PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
GROUP_WINDOW = 60.0  # seconds
GROUP_PER_WINDOW = 20  # messages to one group or channel in that window
# Telegram counts on its side of the network, when a request arrives: a little slack so
# jitter in our connection pool never breaks a limit.
MARGIN = 0.05  # seconds added to per-chat intervals
RATE_MARGIN = 0.015  # share by which the global rate stays under the configured one
WINDOW_MARGIN = 0.015  # seconds: the last `rate` sends must span at least 1 s plus this


class GlobalPacer:
    """Evenly spaced slots at ``rate`` a second, checked again at the moment a send leaves.

    Slots alone are not enough: after the event loop stalls (a busy machine), sends scheduled
    apart can leave together. So ``admit`` lets a send leave only while the last ``rate`` real
    sends span more than a second. Readers' replies go through ``admit`` too, ahead of
    broadcasts.
    """

    def __init__(self, rate: float) -> None:
        self.interval = (1.0 + RATE_MARGIN) / rate
        self._next = 0.0
        self._recent: deque[float] = deque(maxlen=max(1, int(rate)))
        self._replies_waiting = 0

    def reserve(self, now: float) -> float:
        """Take the next slot; returns when it starts (``now`` or later)."""
        slot = max(now, self._next)
        self._next = slot + self.interval
        return slot

    async def admit(self, *, reply: bool = False) -> None:
        """Wait until one more send keeps every one-second window within the rate.

        A reader's reply (``reply=True``) goes first: while one waits, broadcasts do not take
        the slot it is waiting for, so a reply waits at most for the window, never behind a
        broadcast.
        """
        loop = asyncio.get_running_loop()
        if reply:
            self._replies_waiting += 1
        try:
            while True:
                now = loop.time()
                full = len(self._recent) == self._recent.maxlen
                free = not full or now - self._recent[0] >= 1.0 + WINDOW_MARGIN
                if free and (reply or not self._replies_waiting):
                    self._recent.append(now)
                    if reply:
                        self._next = max(self._next, now) + self.interval
                    return
                wait = self._recent[0] + 1.0 + WINDOW_MARGIN - now if not free else self.interval
                await asyncio.sleep(max(wait, 0.001))
        finally:
            if reply:
                self._replies_waiting -= 1

    def hold_until(self, moment: float) -> None:
        """No slot before ``moment`` (a 429 paused the lane)."""
        self._next = max(self._next, moment)


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
