"""The delivery worker: drains the outbox under Telegram's limits.

It claims due rows in small batches, holds each until its chat may receive again (1 s for a
private chat, 20 a minute for a group or channel), then sends in evenly spaced global slots at
``broadcast_rate`` with up to ``send_concurrency`` requests in flight. A 429 pauses this lane
for its retry_after; readers' replies go through python-telegram-bot, never through here, so
they are never stuck behind a broadcast. Every outcome is written back to the outbox as soon as
it is known, so after a crash only the sends that were in flight can go out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections import OrderedDict, deque
from dataclasses import replace
from typing import Any

from bot import rendering
from bot.config import Settings
from bot.sender import (
    Blocked,
    BroadcastSender,
    Migrated,
    Outcome,
    Rejected,
    RetryAfter,
    Sent,
    Transient,
    Unknown,
)
from bot.services.pacing import ChatPacer, GlobalPacer
from bot.services.reading import open_article
from storage import chats, outbox
from storage.db import Database
from storage.outbox import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_BUFFER = 2_000  # claimed rows held in memory at most: memory stays flat at any audience
IDLE_POLL = 1.0  # seconds between looks at the outbox when nothing woke the worker
PAYLOAD_CACHE = 256
LANE_HOLD_CAP = 5.0  # seconds a 429 holds the whole broadcast lane at most


class DeliveryWorker:
    """One per process. ``wake()`` after writing the outbox; ``run()`` until ``stop`` is set."""

    def __init__(self, db: Database, sender: BroadcastSender, settings: Settings) -> None:
        self._db = db
        self._sender = sender
        self._resend_unknown = settings.resend_unknown
        self._global = GlobalPacer(settings.broadcast_rate)
        self._chats = ChatPacer()
        self._slots = asyncio.Semaphore(settings.send_concurrency)
        self._claim_size = max(50, min(MAX_BUFFER, int(settings.broadcast_rate * 2)))
        self._ready: deque[Delivery] = deque()
        self._waiting: list[tuple[float, int, Delivery]] = []  # (due, id, row): a heap
        self._payloads: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.sent = 0  # counters for logs and benchmarks
        self.retried_after_429 = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        recovered = await outbox.recover_in_flight(self._db, int(time.time()))
        if recovered:
            log.warning("resuming %d deliveries that were in flight when Herald stopped", recovered)
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                delivery = await self._next(stop)
                if delivery is None:
                    continue
                slot = self._global.reserve(loop.time())
                self._chats.record(delivery.chat_id, _private(delivery), slot)
                if slot > loop.time():
                    await asyncio.sleep(slot - loop.time())
                await self._slots.acquire()
                task = asyncio.create_task(self._deliver(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._finished)
        finally:
            await self._shutdown()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _shutdown(self) -> None:
        """Let sends in flight finish (briefly); give back what was claimed but not sent."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for task in list(self._tasks):
            task.cancel()
        held = [d.id for d in self._ready] + [d.id for _, _, d in self._waiting]
        if held:
            await outbox.release(self._db, held, int(time.time()))
        self._ready.clear()
        self._waiting.clear()

    async def _next(self, stop: asyncio.Event) -> Delivery | None:
        """The next row that may be sent now, or None after waiting a while."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._waiting and self._waiting[0][0] <= now:
            self._ready.append(heapq.heappop(self._waiting)[2])
        while self._ready:
            delivery = self._ready.popleft()
            due = self._chats.ready_at(delivery.chat_id, _private(delivery), now)
            if due <= now:
                return delivery
            heapq.heappush(self._waiting, (due, delivery.id, delivery))
        held = len(self._waiting) + len(self._tasks)
        if held < MAX_BUFFER:
            claimed = await outbox.claim(
                self._db, min(self._claim_size, MAX_BUFFER - held), time.time()
            )
            if claimed:
                self._ready.extend(claimed)
                return None
        timeout = IDLE_POLL
        if self._waiting:
            timeout = min(timeout, max(self._waiting[0][0] - now, 0.0))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(self._wake, stop), timeout)
        self._chats.forget_before(loop.time() - 120)
        return None

    def _forget_chat(self, chat_id: int) -> None:
        """Drop a paused chat's rows held in memory (the outbox already marked them failed)."""
        self._ready = deque(d for d in self._ready if d.chat_id != chat_id)
        self._waiting = [w for w in self._waiting if w[2].chat_id != chat_id]
        heapq.heapify(self._waiting)

    async def _deliver(self, delivery: Delivery) -> None:
        payload = await self._payload(delivery.article_id)
        if payload is None:
            await self._settle(delivery, Rejected("article withdrawn before delivery"))
            return
        outcome = await self._sender.call("sendMessage", {"chat_id": delivery.chat_id, **payload})
        await self._settle(delivery, outcome)

    async def _payload(self, article_id: int) -> dict[str, Any] | None:
        """The prepared message for an article: rendered once, sent to every chat."""
        if article_id in self._payloads:
            self._payloads.move_to_end(article_id)
            return self._payloads[article_id]
        view = await open_article(self._db, article_id)
        payload = None
        if view is not None:
            message = rendering.push(view)
            payload = {
                "text": message.text,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
                "reply_markup": message.keyboard.to_dict() if message.keyboard else None,
            }
        self._payloads[article_id] = payload
        if len(self._payloads) > PAYLOAD_CACHE:
            self._payloads.popitem(last=False)
        return payload

    async def _settle(self, delivery: Delivery, outcome: Outcome) -> None:
        """Write what happened to the outbox (and to the chat, for blocks and migrations)."""
        db, now = self._db, int(time.time())
        match outcome:
            case Sent(message_id):
                self.sent += 1
                await outbox.mark_sent(db, delivery.id, message_id, now)
            case RetryAfter(seconds):
                # Telegram does not say which limit was hit. The chat waits the whole
                # retry_after; the lane as a whole only briefly, so one busy group cannot
                # hold up every other chat for a minute (a global flood answers again).
                self.retried_after_429 += 1
                loop_now = asyncio.get_running_loop().time()
                log.warning("429 for chat %s: retry after %.0f s", delivery.chat_id, seconds)
                self._global.hold_until(loop_now + min(seconds, LANE_HOLD_CAP))
                self._chats.block(delivery.chat_id, loop_now + seconds)
                heapq.heappush(self._waiting, (loop_now + seconds, delivery.id, delivery))
            case Blocked(reason):
                log.info("chat %s paused: %s", delivery.chat_id, reason)
                async with db.transaction():
                    await chats.set_paused(db, delivery.chat_id, True, reason, now)
                    await outbox.drop_pending_for_chat(db, delivery.chat_id, reason, now)
                await outbox.mark_done(db, delivery.id, outbox.FAILED, reason, now)
                self._forget_chat(delivery.chat_id)
            case Migrated(new_chat_id):
                log.info("chat %s moved to supergroup %s", delivery.chat_id, new_chat_id)
                async with db.transaction():
                    await chats.migrate_chat(db, delivery.chat_id, new_chat_id, now)
                self._ready.append(replace(delivery, chat_id=new_chat_id, chat_kind="supergroup"))
            case Transient(reason) if delivery.attempts + 1 < MAX_ATTEMPTS:
                delay = min(60.0, 2.0**delivery.attempts) * random.uniform(0.8, 1.2)
                await outbox.retry_later(db, delivery.id, time.time() + delay, reason, now)
            case Unknown(reason) if self._resend_unknown and delivery.attempts + 1 < MAX_ATTEMPTS:
                await outbox.retry_later(db, delivery.id, time.time(), reason, now)
            case Unknown(reason):
                await outbox.mark_done(db, delivery.id, outbox.UNKNOWN, reason, now)
            case Transient(reason) | Rejected(reason):
                log.info("delivery %s to chat %s failed: %s", delivery.id, delivery.chat_id, reason)
                await outbox.mark_done(db, delivery.id, outbox.FAILED, reason, now)


def _private(delivery: Delivery) -> bool:
    return delivery.chat_kind == chats.PRIVATE


async def _either(first: asyncio.Event, second: asyncio.Event) -> None:
    """Return when either event is set."""
    waiters = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
