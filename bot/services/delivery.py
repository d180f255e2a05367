"""The delivery worker: drains the outbox under Telegram's limits.

It claims due rows in small batches and holds each until its chat may receive again (1 s for a
private chat, 20 a minute for a group or channel; a row that would wait longer than a moment
goes back to the outbox with its due time, so a busy group never clogs the queue for others).
It then takes a free request slot, and sends in evenly spaced global slots at
``broadcast_rate``. A 429 makes that chat wait its retry_after and the lane pause briefly.
Readers' replies go through python-telegram-bot and share the same budget ahead of broadcasts
(``bot.rate_limit``), so they are never stuck behind a broadcast. Every outcome is written back
as soon as it is known, so after a crash only the sends that were in flight can go out twice.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot import i18n, log_context, metrics
from bot.config import Settings
from bot.rendering import digest, push
from bot.rendering.push import Prepared
from bot.sender import (
    OUTCOME_NAMES,
    Blocked,
    BroadcastSender,
    Gone,
    Migrated,
    NotModified,
    Outcome,
    Rejected,
    RetryAfter,
    Sent,
    Transient,
    Unknown,
)
from bot.services import preferences, schedule
from bot.services.fanout import BREAKING
from bot.services.fleet_budget import FleetBudget
from bot.services.pacing import ChatPacer, GlobalPacer
from bot.services.reading import ArticleView
from bot.services.related import related_ids
from bot.services.sent_batch import SentBatch
from storage import articles, chat_settings, chats, outbox
from storage.chat_settings import ChatSettings
from storage.db import BusyError, Database
from storage.outbox import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # with back-off doubling to 60 s: a Telegram outage of ~4 minutes is ridden out
MAX_BUFFER = 2_000  # claimed rows held in memory at most: memory stays flat at any audience
HOLD_IN_MEMORY = 2.0  # seconds a row may wait in memory for its chat; longer goes back to disk
IDLE_POLL = 1.0  # seconds between looks at the outbox when nothing woke the worker
DB_RETRY = 1.0  # seconds to wait when the database is busy (another process writing)
PAYLOAD_CACHE = 256
LANE_HOLD_CAP = 5.0  # seconds a 429 holds the whole broadcast lane at most
PREFS_REFRESH = 10.0  # seconds between looks for chat settings changed elsewhere
RECOVERED_WAIT = 2.0  # seconds rows left in flight by a dead sender wait before going again
PAYLOADS_REFRESH = 2.0  # seconds between looks for articles corrected by another instance
AUDIENCES_REFRESH = 2.0  # seconds between looks for broadcasts published by another instance
AHEAD_CHUNKS = 2  # audience chunks kept queued ahead of sending, so sends never wait for them


class DeliveryWorker:
    """One per process. ``wake()`` after writing the outbox; ``run()`` until ``stop`` is set."""

    def __init__(
        self,
        db: Database,
        sender: BroadcastSender,
        settings: Settings,
        pacer: GlobalPacer,
        chat_pacer: ChatPacer,
        clock: Callable[[], float] = time.time,
        fleet: FleetBudget | None = None,
    ) -> None:
        self._db = db
        self._fleet = fleet or FleetBudget(settings.message_rate)  # unattached: local only
        self._sent = SentBatch(db)
        self.clock = clock  # wall time (outbox times, quiet hours); tests set their own
        self._prefs: dict[int, ChatSettings] = {}  # chats with settings of their own
        self._prefs_seen: tuple[int, int] | None = None
        self._prefs_checked = 0.0
        self._sender = sender
        self._resend_unknown = settings.resend_unknown
        self._grace = settings.send_timeout + 5
        self._global = pacer
        self._chats = chat_pacer
        self._slots = asyncio.Semaphore(settings.send_concurrency)
        self._claim_size = max(50, min(MAX_BUFFER, int(settings.broadcast_rate * 2)))
        self._ready: deque[Delivery] = deque()
        self._waiting: list[tuple[float, int, int, Delivery]] = []  # (due, -priority, id, row)
        self._payloads: OrderedDict[tuple[int, str], Prepared | None] = OrderedDict()
        self._payloads_checked = (0.0, 0)  # (loop time, wall second) of the last look
        self._prefetch: asyncio.Task[list[Delivery]] | None = None  # the next batch, claiming
        self._more = False  # the last claim was full
        self._versions: dict[int, int] = {}  # bumped by forget(): a render racing it is dropped
        self._changing: set[tuple[int, int]] = set()  # (chat, article) edits in flight
        self._retract_deletes = settings.retract_deletes
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._urgent = False
        # Lazy fan-out: audiences (broadcasts not all queued) are expanded in the background.
        self._expanding: asyncio.Task[int] | None = None
        self._audiences = True  # one may remain: look (after a wake, and every few seconds)
        self._audiences_checked = 0.0
        self._stopping = False
        self._pruned = 0.0
        # Article id → the Mini App's direct link to it (set at start-up when Herald has one).
        self.app_link: Callable[[int], str | None] = lambda article_id: None
        self.sent = 0  # counters for logs and benchmarks
        self.expanded = 0  # rows queued from audiences
        self.retried_after_429 = 0

    def wake(self, *, urgent: bool = False) -> None:
        """Look at the outbox now. ``urgent``: breaking news or corrections were queued, so
        they are claimed at once and go ahead of the rows this worker already holds."""
        self._urgent = self._urgent or urgent
        self._audiences = True  # a publish may have left an audience to expand
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``; a busy or failing database pauses the worker, never ends it."""
        while not stop.is_set():
            try:
                now = self.clock()
                # Those copies may have reached their chats a moment ago, from a process whose
                # spacing per chat this one never saw: they wait out a chat's interval first.
                recovered = await outbox.recover_in_flight(
                    self._db, int(now), now + RECOVERED_WAIT
                )
                break
            except BusyError as exc:
                log.warning("outbox not readable yet (%s); retrying", exc)
                await _sleep_or_stop(stop, DB_RETRY)
        else:
            return
        if recovered:
            log.warning("resuming %d deliveries that were in flight when Herald stopped", recovered)
        try:
            while not stop.is_set():
                try:
                    await self._step(stop)
                except BusyError as exc:
                    log.warning("database busy (%s); delivery pauses for %.0f s", exc, DB_RETRY)
                    await _sleep_or_stop(stop, DB_RETRY)
        finally:
            await self._shutdown()

    async def _step(self, stop: asyncio.Event) -> None:
        """Send one row when one is due: slot first, then pacing, then the request."""
        loop = asyncio.get_running_loop()
        await self._slots.acquire()
        try:
            delivery = await self._next(stop)
        except BaseException:
            self._slots.release()
            raise
        if delivery is None:
            self._slots.release()
            return
        private = _private(delivery)
        slot = self._global.reserve(loop.time())
        slot = max(slot, self._chats.ready_at(delivery.chat_id, private, slot))
        self._chats.record(delivery.chat_id, private, slot)
        if slot > loop.time():
            await asyncio.sleep(slot - loop.time())
        task = asyncio.create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _shutdown(self) -> None:
        """Let sends in flight finish and record their outcome; give back the rest."""
        self._stopping = True  # an expansion ends after its chunk (each chunk commits whole)
        if self._expanding is not None:
            await asyncio.gather(self._expanding, return_exceptions=True)
        if self._prefetch is not None:  # never cancelled mid-claim: its rows are given back
            task, self._prefetch = self._prefetch, None
            (prefetched,) = await asyncio.gather(task, return_exceptions=True)
            if isinstance(prefetched, list):
                self._ready.extend(prefetched)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self._grace)
        for task in list(self._tasks):
            task.cancel()
        held = [d.id for d in self._ready] + [w[3].id for w in self._waiting]
        if held:
            await outbox.release(self._db, held, int(self.clock()))
        self._ready.clear()
        self._waiting.clear()

    async def _next(self, stop: asyncio.Event) -> Delivery | None:
        """The next row whose chat may receive now, or None after waiting a while."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._urgent:
            await self._jump_the_queue()
        while self._waiting and self._waiting[0][0] <= now:
            self._ready.append(heapq.heappop(self._waiting)[3])
        if now - self._prefs_checked > PREFS_REFRESH:
            await self._refresh_prefs()
        if now - self._payloads_checked[0] > PAYLOADS_REFRESH:
            await self._refresh_payloads(now)
        if now - self._audiences_checked > AUDIENCES_REFRESH:
            self._audiences = True  # another instance may have published a broadcast
            self._audiences_checked = now
        while self._ready:
            delivery = self._ready.popleft()
            if await self._held_back(delivery):
                continue
            if (
                delivery.kind != outbox.NEW
                and (delivery.chat_id, delivery.article_id) in self._changing
            ):
                # One change of a copy at a time, so an older edit can never land last.
                heapq.heappush(
                    self._waiting, (now + 0.5, -delivery.priority, delivery.id, delivery)
                )
                continue
            due = self._chats.ready_at(delivery.chat_id, _private(delivery), now)
            if due <= now:
                self._prefetch_soon()
                return delivery
            if due - now > HOLD_IN_MEMORY:
                await outbox.retry_later(
                    self._db,
                    delivery.id,
                    self.clock() + (due - now),
                    None,
                    int(self.clock()),
                    count_attempt=False,
                )
            else:
                heapq.heappush(self._waiting, (due, -delivery.priority, delivery.id, delivery))
        if now - self._pruned > 30:
            self._chats.forget_before(now - 120)
            self._pruned = now
        if self._prefetch is not None:
            task, self._prefetch = self._prefetch, None
            claimed = await task
            self._ready.extend(claimed)
            if claimed:
                return None
        held = len(self._waiting) + len(self._tasks)
        if held < MAX_BUFFER:
            claimed = await self._claim(min(self._claim_size, MAX_BUFFER - held))
            if claimed:
                self._ready.extend(claimed)
                return None
        timeout = IDLE_POLL
        if self._waiting:
            timeout = min(timeout, max(self._waiting[0][0] - now, 0.0))
        self._wake.clear()
        await _sleep_or_stop(stop, timeout, self._wake)
        return None

    async def _claim(self, limit: int) -> list[Delivery]:
        claimed = await outbox.claim(self._db, limit, self.clock())
        if len(claimed) < limit and self._audiences and await self._expand_now():
            # Short while an audience remained: its next chunk was queued now, not after a nap.
            claimed += await outbox.claim(self._db, limit - len(claimed), self.clock())
        self._more = len(claimed) == limit  # a full batch: the outbox likely holds more
        self._expand_soon()
        return claimed

    def _expand_soon(self) -> asyncio.Task[int] | None:
        """Expand audiences in the background (one expansion at a time); the running one."""
        idle = self._expanding is None or self._expanding.done()
        if idle and self._audiences and not self._stopping:
            self._expanding = asyncio.create_task(self._expand_ahead())
            self._expanding.add_done_callback(self._expanded)
        return self._expanding

    async def _expand_now(self) -> int:
        """Rows queued by the expansion running or started now (waited for, never cancelled
        by the wait: a chunk commits whole)."""
        task = self._expand_soon()
        return 0 if task is None else await asyncio.shield(task)

    def _expanded(self, task: asyncio.Task[int]) -> None:
        if self._expanding is task:
            self._expanding = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("audience expansion failed (%s); trying again", task.exception())

    async def _expand_ahead(self) -> int:
        """Queue audience chunks (most urgent first) until ``AHEAD_CHUNKS`` chunks of rows of
        the next audience's priority or above are due to be claimed, or no audience remains;
        rows queued. Sending at 1000/s drains a chunk of 5,000 in 5 s; a chunk was queued in at
        most 0.85 s at 1M subscriptions on PostgreSQL, 0.1 s on SQLite (docs/benchmarks.md)."""
        chunk = outbox.FANOUT_CHUNK
        ahead = AHEAD_CHUNKS * chunk
        total = 0
        while not self._stopping:
            priority = await outbox.most_urgent_audience(self._db)
            if priority is None:
                self._audiences = False
                break
            if await outbox.queued_ahead(self._db, self.clock(), ahead, priority) >= ahead:
                break
            written = await outbox.expand(self._db, int(self.clock()), chunk)
            if written is None:
                self._audiences = False
                break
            total += written
            self.expanded += written
        return total

    def _prefetch_soon(self) -> None:
        """While a broadcast is going, claim the next batch before this one runs out, so the
        lane never stops for a claim (a claim of 2,000 rows takes a while on a busy machine)."""
        if self._prefetch is not None or not self._more:
            return
        if len(self._ready) > self._claim_size // 4:
            return
        held = len(self._ready) + len(self._waiting) + len(self._tasks)
        if held + self._claim_size <= MAX_BUFFER:
            self._prefetch = asyncio.create_task(self._claim(self._claim_size))

    def settings_changed(self, settings: ChatSettings) -> None:
        """A chat changed its settings: deliver by them from now on (and look at held rows)."""
        self._prefs[settings.chat_id] = settings
        self.wake(urgent=True)

    async def _refresh_prefs(self) -> None:
        """Reload chats' settings when the table changed (a language reported, another process)."""
        self._prefs_checked = asyncio.get_running_loop().time()
        seen = await chat_settings.version(self._db)
        if seen != self._prefs_seen:
            self._prefs = {s.chat_id: s for s in await chat_settings.customised(self._db)}
            self._prefs_seen = seen

    async def _refresh_payloads(self, now: float) -> None:
        """Forget rendered articles changed since the last look: a correction made on another
        instance reaches this worker only through the database."""
        _, since = self._payloads_checked
        self._payloads_checked = (now, int(self.clock()))
        cached = {article_id for article_id, _ in self._payloads}
        if cached and since:
            for article_id in await articles.changed_since(self._db, sorted(cached), since - 1):
                self.forget(article_id)

    async def _held_back(self, delivery: Delivery) -> bool:
        """Hold a new article for a chat in quiet hours or waiting for its digest."""
        prefs = self._prefs.get(delivery.chat_id)
        if delivery.kind != outbox.NEW or prefs is None or not preferences.waits(prefs):
            return False
        now = self.clock()
        if delivery.held and 0 < delivery.not_before <= now:
            return False  # its window opened: it goes out now (with the chat's other held rows)
        release = schedule.release_at(
            preferences.plan_of(prefs),
            datetime.fromtimestamp(now, UTC),
            breaking=delivery.priority >= BREAKING,
            breaking_respects_quiet=prefs.breaking_respects_quiet,
        ).timestamp()
        if release <= now:
            return False
        await outbox.hold(self._db, delivery.id, release, int(now))
        return True

    async def _jump_the_queue(self) -> None:
        """Claim what was just queued and put the most urgent rows first in memory too."""
        self._urgent = False
        room = MAX_BUFFER - len(self._ready) - len(self._waiting) - len(self._tasks)
        claimed = await outbox.claim(self._db, max(room, 0), self.clock()) if room > 0 else []
        rows = sorted([*claimed, *self._ready], key=lambda d: (-d.priority, d.id))
        self._ready = deque(rows)

    async def _deliver(self, delivery: Delivery) -> None:
        key = (delivery.chat_id, delivery.article_id)
        if delivery.kind == outbox.NEW:
            await self._deliver_one(delivery)
            return
        self._changing.add(key)
        try:
            await self._deliver_one(delivery)
        finally:
            self._changing.discard(key)

    async def _deliver_one(self, delivery: Delivery) -> None:
        log_context.CHAT_ID.set(delivery.chat_id)  # this send's own task: its log lines
        if delivery.held:
            together = self._held_siblings(delivery.chat_id)
            together += await outbox.claim_held(self._db, delivery.chat_id, self.clock())
            if together:
                await self._send_digest(sorted([delivery, *together], key=lambda d: d.id))
                return
        request = await self._request(delivery)
        if isinstance(request, tuple):
            await self._admit()
            outcome = await self._sender.call(*request)
            outcome = await self._after(delivery, request, outcome)
        else:
            outcome = request
        for attempt in range(5):  # the outcome must be written: retry a busy database
            try:
                await self._settle(delivery, outcome)
                return
            except BusyError as exc:
                log.warning("could not record delivery %s (%s); retrying", delivery.id, exc)
                await asyncio.sleep(DB_RETRY * (attempt + 1))
        log.error(
            "delivery %s to %s: outcome %s not recorded", delivery.id, delivery.chat_id, outcome
        )

    async def _admit(self) -> None:
        """The budget shared with other instances (if any), then this instance's window at
        the moment of sending: a wait for the shared budget cannot bunch sends."""
        await self._fleet.take()
        await self._global.admit()

    async def _send_digest(self, rows: list[Delivery]) -> None:
        """Several held articles for one chat: one digest (in parts if long), paced per chat."""
        first, loop = rows[0], asyncio.get_running_loop()
        found = await articles.headlines(self._db, [d.article_id for d in rows])
        with i18n.use(self._language(first.chat_id)):
            parts = digest.calls(found)
        outcome: Outcome = Rejected("every article was withdrawn before the digest")
        for number, part in enumerate(parts):
            if number:  # the first part already waited for its slot
                slot = max(
                    self._global.reserve(loop.time()),
                    self._chats.ready_at(first.chat_id, _private(first), loop.time()),
                )
                self._chats.record(first.chat_id, _private(first), slot)
                await asyncio.sleep(max(0.0, slot - loop.time()))
            await self._admit()
            method, params = part
            params = {"chat_id": first.chat_id} | params
            outcome = await self._sender.call(method, self._for_chat(first, params))
            if not isinstance(outcome, Sent):
                break
        if isinstance(outcome, Sent):
            await outbox.mark_digest_sent(self._db, [d.id for d in rows], int(self.clock()))
            metrics.DELIVERIES.labels("sent").inc(len(rows))
            self.sent += len(rows)
            return
        for row in rows:  # the digest failed: each row's outcome as if sent alone
            await self._settle(row, outcome)

    def _held_siblings(self, chat_id: int) -> list[Delivery]:
        """Take the chat's other released rows this worker already holds: one digest for all."""

        def sibling(d: Delivery) -> bool:
            return d.chat_id == chat_id and d.held and d.kind == outbox.NEW

        found = [d for d in self._ready if sibling(d)] + [
            w[3] for w in self._waiting if sibling(w[3])
        ]
        if found:
            self._ready = deque(d for d in self._ready if not sibling(d))
            self._waiting = [w for w in self._waiting if not sibling(w[3])]
            heapq.heapify(self._waiting)
        return found

    def _language(self, chat_id: int) -> str:
        """The language pushes to a chat are rendered in."""
        prefs = self._prefs.get(chat_id)
        return preferences.language_of(prefs) if prefs else i18n.DEFAULT

    def _for_chat(self, delivery: Delivery, params: dict[str, Any]) -> dict[str, Any]:
        """A chat's own settings on a call: no link previews, its forum topic."""
        prefs = self._prefs.get(delivery.chat_id)
        if prefs is None:
            return params
        if not prefs.previews and "link_preview_options" in params:
            params = params | {"link_preview_options": push.NO_PREVIEW}
        if prefs.thread_id and delivery.kind == outbox.NEW:
            params = params | {"message_thread_id": prefs.thread_id}
        return params

    async def _request(self, delivery: Delivery) -> tuple[str, dict[str, Any]] | Outcome:
        """The Bot API call for a row, or the outcome that makes a call pointless."""
        prepared = await self._prepared(delivery.article_id, self._language(delivery.chat_id))
        chat = {"chat_id": delivery.chat_id}
        if delivery.kind == outbox.NEW:
            if prepared is None or prepared.retracted:
                return Rejected(outbox.WITHDRAWN)
            return prepared.send[0], self._for_chat(delivery, chat | prepared.send[1])
        if delivery.target_message_id is None:
            if delivery.target_status in (outbox.PENDING, outbox.SENDING):
                return Transient("the copy to change is not delivered yet")
            return Rejected("there is no delivered copy to change")
        if prepared is None:
            return Rejected("article deleted")
        target = chat | {"message_id": delivery.target_message_id}
        if delivery.kind == outbox.EDIT:
            if prepared.retracted:
                return Rejected("article retracted: the retraction replaces the copy")
            return prepared.edit[0], self._for_chat(delivery, target | prepared.edit[1])
        if self._retract_deletes or prepared.photo:
            return "deleteMessage", target
        return prepared.retract[0], target | prepared.retract[1]

    async def _after(
        self, delivery: Delivery, request: tuple[str, dict[str, Any]], outcome: Outcome
    ) -> Outcome:
        """Edits that change nothing succeeded; a copy Telegram will not delete gets the notice."""
        if delivery.kind == outbox.NEW or not isinstance(outcome, Rejected):
            return outcome
        if isinstance(outcome, NotModified):
            return Sent(delivery.target_message_id or 0)
        if request[0] == "deleteMessage" and not isinstance(outcome, Gone):
            prepared = await self._prepared(delivery.article_id, self._language(delivery.chat_id))
            if prepared is not None:
                method, params = prepared.retract
                target = {"chat_id": delivery.chat_id, "message_id": delivery.target_message_id}
                await self._admit()
                return await self._sender.call(method, target | params)
        return outcome

    def forget(self, article_id: int) -> None:
        """An article changed (a correction, a retraction): render it afresh."""
        self._versions[article_id] = self._versions.get(article_id, 0) + 1
        for language in i18n.LANGUAGES:
            self._payloads.pop((article_id, language), None)

    async def _prepared(self, article_id: int, language: str) -> Prepared | None:
        """The calls for an article in a language: rendered once, sent to every such chat."""
        key = (article_id, language)
        if key in self._payloads:
            self._payloads.move_to_end(key)
            return self._payloads[key]
        for _attempt in range(3):
            version = self._versions.get(article_id, 0)
            with i18n.use(language):
                prepared = await prepare(
                    self._db, article_id, int(self.clock()), self.app_link(article_id)
                )
            if self._versions.get(article_id, 0) == version:
                break  # no correction landed while it was read: safe to keep
        else:
            return prepared  # changing as we read: use it once, cache nothing
        self._payloads[key] = prepared
        if len(self._payloads) > PAYLOAD_CACHE:
            self._payloads.popitem(last=False)
        return prepared

    async def _settle(self, delivery: Delivery, outcome: Outcome) -> None:
        """Write what happened to the outbox (and to the chat, for blocks and migrations)."""
        db, now = self._db, int(self.clock())
        metrics.DELIVERIES.labels(OUTCOME_NAMES[type(outcome)]).inc()
        match outcome:
            case Sent(message_id):
                await self._sent.record(delivery.id, message_id, now)
                self.sent += 1
            case RetryAfter(seconds):
                # Telegram does not say which limit was hit. The chat waits the whole
                # retry_after; the lane as a whole only briefly, so one busy group cannot
                # hold up every other chat for a minute (a global flood answers again).
                self.retried_after_429 += 1
                loop_now = asyncio.get_running_loop().time()
                log.warning("429 for chat %s: retry after %.0f s", delivery.chat_id, seconds)
                self._global.hold_until(loop_now + min(seconds, LANE_HOLD_CAP))
                self._chats.block(delivery.chat_id, loop_now + seconds)
                await self._fleet.pause(seconds)  # every instance waits too
                await outbox.retry_later(
                    db, delivery.id, self.clock() + seconds, "429", now, count_attempt=False
                )
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
                    moved_to = await outbox.chat_of(db, delivery.id)
                # Merged into a chat that already had this article queued: that row delivers.
                if moved_to is not None and delivery.kind == outbox.NEW:
                    self._ready.append(replace(delivery, chat_id=moved_to, chat_kind="supergroup"))
            case Transient(reason) if delivery.attempts + 1 < MAX_ATTEMPTS:
                delay = min(60.0, 2.0**delivery.attempts) * random.uniform(0.8, 1.2)
                log.warning("delivery %s failed, retry in %.0f s: %s", delivery.id, delay, reason)
                await outbox.retry_later(db, delivery.id, self.clock() + delay, reason, now)
            case Unknown(reason) if self._resend_unknown and delivery.attempts + 1 < MAX_ATTEMPTS:
                await outbox.retry_later(db, delivery.id, self.clock(), reason, now)
            case Unknown(reason):
                await outbox.mark_done(db, delivery.id, outbox.UNKNOWN, reason, now)
            case Transient(reason) | Rejected(reason):
                log.info("delivery %s to chat %s failed: %s", delivery.id, delivery.chat_id, reason)
                await outbox.mark_done(db, delivery.id, outbox.FAILED, reason, now)

    def _forget_chat(self, chat_id: int) -> None:
        """Drop a paused chat's rows held in memory (the outbox already marked them failed)."""
        self._ready = deque(d for d in self._ready if d.chat_id != chat_id)
        self._waiting = [w for w in self._waiting if w[3].chat_id != chat_id]
        heapq.heapify(self._waiting)


async def prepare(
    db: Database, article_id: int, now: int, app_link: str | None = None
) -> Prepared | None:
    """The calls that send, correct or retract the push of ``article_id``, rendered once."""
    article = await articles.get_article(db, article_id)
    if article is None:
        return None
    view = ArticleView(article, await articles.headlines(db, await related_ids(db, article_id)))
    return push.prepared(view, article.updated_at or now, app_link)


def _private(delivery: Delivery) -> bool:
    return delivery.chat_kind == chats.PRIVATE


async def _sleep_or_stop(
    stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None
) -> None:
    """Sleep up to ``seconds``; return early when ``stop`` (or ``wake``) is set."""
    waiters = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.create_task(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
