"""Figures for editors: who subscribes to what, and how deliveries went."""

from __future__ import annotations

import time
from dataclasses import dataclass

from storage import chats, outbox, subscriptions
from storage.db import Database
from storage.outbox import OutboxStats
from storage.subscriptions import SubscriberCount

DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class Stats:
    subscribers: list[SubscriberCount]
    deliveries: OutboxStats  # pending now; sent, failed and unknown over the last 24 hours
    paused_chats: int


async def collect(db: Database, now: int | None = None) -> Stats:
    now = int(time.time()) if now is None else now
    return Stats(
        subscribers=await subscriptions.subscriber_counts(db),
        deliveries=await outbox.stats_since(db, now - DAY),
        paused_chats=await chats.paused_chats(db),
    )
