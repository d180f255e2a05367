"""The message budget's arithmetic and each user's budget, without Telegram.

Counts within one moment (no waiting), so the outcomes do not depend on the machine's speed.
"""

from __future__ import annotations

from bot.services.budget import UserBudget, Verdict
from bot.services.pacing import GlobalPacer


async def test_replies_may_use_the_whole_budget_when_no_broadcast_runs() -> None:
    pacer = GlobalPacer(25, total=30, floor=22.5)
    admitted = [pacer.try_admit(reply=True) for _ in range(31)]
    assert admitted == [True] * 30 + [False], "30 a second, not the broadcast rate of 25"


async def test_a_running_broadcast_keeps_its_floor() -> None:
    pacer = GlobalPacer(25, total=30, floor=22.5)
    assert pacer.try_admit()  # a broadcast is going
    replies = sum(pacer.try_admit(reply=True) for _ in range(30))
    broadcasts = sum(pacer.try_admit() for _ in range(30))
    # 30 in 1.1 s (the shared window's slack) is 27.3 a second: 22.5 of it stays for the
    # broadcast, replies may have 4 in a (1.015 s) window of their own.
    assert replies == 4, "replies leave the broadcast its floor"
    assert 1 + broadcasts == 25, "which it may exceed, up to its rate, when replies are few"


async def test_broadcasts_alone_keep_their_own_rate() -> None:
    pacer = GlobalPacer(25, total=30)
    assert sum(pacer.try_admit() for _ in range(40)) == 25


def test_a_user_over_budget_is_warned_once_then_dropped_until_it_refills() -> None:
    now = [0.0]
    budget = UserBudget(burst=3, rate=0.5, clock=lambda: now[0])
    verdicts = [budget.take(1) for _ in range(6)]
    assert verdicts == [Verdict.ALLOWED] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert budget.take(2) is Verdict.ALLOWED, "another user has a budget of their own"
    now[0] = 2.0  # one unit back
    assert [budget.take(1) for _ in range(3)] == [Verdict.ALLOWED, Verdict.WARN, Verdict.DROP]
