"""Each user's budget of commands, button taps and inline queries (a token bucket).

One reader sending 300 searches in a burst used to cost 300 database queries and 300 replies,
and starved every other reader. A user may send ``burst`` at once and ``rate`` a second after
that. The first update over the budget is answered once with a short "slow down"; the rest
are dropped, with no database or Telegram work, until the budget has refilled a little.

Plain arithmetic on a clock, kept apart from Telegram so it is testable on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

FORGET_ABOVE = 10_000  # users remembered before the idle ones (full buckets) are forgotten


class Verdict(Enum):
    ALLOWED = "allowed"
    WARN = "warn"  # over the budget: say "slow down", this once
    DROP = "drop"  # over the budget and already told


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class UserBudget:
    """``take(user)`` for every counted update; see the module docstring."""

    def __init__(
        self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = rate
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def take(self, user_id: int) -> Verdict:
        """Spend one unit of ``user_id``'s budget, or say why not."""
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= FORGET_ABOVE:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Verdict.ALLOWED
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        """Users whose budget has refilled are as good as new: forget them."""
        full = [
            user
            for user, b in self._buckets.items()
            if b.tokens + (now - b.at) * self._rate >= self._burst
        ]
        for user in full:
            del self._buckets[user]
