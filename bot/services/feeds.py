"""Feeds: the poller that turns followed RSS/Atom feeds into articles, and editors' feed list.

A poll runs two kinds of task. Up to ``concurrency`` workers fetch due feeds (conditional
GET) and parse them in a worker process; they never touch the database except to record a
failure. One writer stores what the workers hand it: everything that is ready when it looks
goes into ONE transaction through ``ingest``, the one way an article enters Herald. This
group commit matters: measured here, ``ingest`` costs about half as much per article in
batches of 500-1,000 as in batches of 50, and each commit costs tens of milliseconds. A
feed's items and its new validators are written together, so a crash never loses an item
behind a saved ETag. Reads elsewhere do not wait for these transactions (``Database`` reads
outside a transaction on its own connection); other writers wait about a second at most.

The same story is stored once: an item this feed carried before is skipped by its guid, and
a new item whose link or normalised title matches a stored story (or another feed's item in
the same batch) becomes one more source of that article, not a new article. A feed that fails
(slow, huge, broken, not a feed) backs off exponentially, never stops the others, and after
``notify_after`` failures in a row the editors are told once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit

import aiohttp

from bot import metrics
from bot.services import feed_caps
from bot.services.feed_fetch import (
    FeedEntry,
    FeedPolicy,
    FetchError,
    ParsedFeed,
    Parsers,
    fetch,
    open_session,
)
from bot.services.http_fetch import AddressGuard
from bot.services.ingest import ingest, topic_name
from storage import feeds as store
from storage.articles import NewArticle, ensure_topics
from storage.db import Database
from storage.feeds import Feed, FeedItem, FetchOutcome

log = logging.getLogger(__name__)

LOOK_AGAIN = 30.0  # seconds between looks for due feeds at most
POLLER_KEY = "herald.feeds"  # where ``bot.app`` keeps the poller in ``bot_data``
Notify = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class PollReport:
    """What one poll did, for logs, tests and the benchmark."""

    feeds: int = 0
    fetched: int = 0  # bodies parsed
    not_modified: int = 0  # 304, or the same bytes as last time
    failed: int = 0
    added: int = 0  # new articles
    merged: int = 0  # new items that were a stored story: one more source, no new article
    seen: int = 0  # items this feed had carried before (or repeated within the document)
    rejected: int = 0  # items that cannot be an article
    held: int = 0  # new items stored but not pushed: over a feed's hourly push cap
    cut: int = 0  # items not read: past a document's first ``max_items``
    batches: int = 0  # transactions the writer committed
    seconds: float = 0.0
    write_seconds: float = 0.0  # the writer's transactions, commits included
    ingest_seconds: float = 0.0  # of which in ``ingest`` (and finding the ids it stored)

    def absorb(self, other: PollReport) -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One feed's fetch, ready for the writer; ``parsed`` is None when nothing changed."""

    feed: Feed
    outcome: FetchOutcome
    parsed: ParsedFeed | None = None

    @property
    def size(self) -> int:
        return len(self.parsed.entries) if self.parsed else 1


# One row to record: the entry, and the article it is (stored already, or index into news).
_Row = tuple[FeedEntry, int | None, int | None]
# One feed's part of a batch: its fetch, its new entries, and what of them may be pushed.
_Fresh = tuple[_Fetched, list[FeedEntry], feed_caps.Allowance]


class FeedPoller:
    """Polls feeds on their interval; ``poll_once`` for one round, ``run`` until stopped."""

    def __init__(
        self,
        db: Database,
        policy: FeedPolicy | None = None,
        *,
        on_new: Callable[[], None] | None = None,
        notify: Notify | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``on_new`` wakes delivery after articles were queued; ``notify`` tells editors."""
        self.db = db
        self.policy = policy or FeedPolicy()
        self._on_new = on_new or (lambda: None)
        self._notify = notify
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._parsers = Parsers(self.policy.parse_processes)
        self._wakeup = asyncio.Event()

    async def __aenter__(self) -> FeedPoller:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def wake(self) -> None:
        """Look for due feeds now (a feed was just added) rather than at the next timer."""
        self._wakeup.set()

    async def close(self) -> None:
        self._parsers.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due feeds until ``stop`` is set; a failed round is logged, never fatal.

        ``stop`` interrupts a poll in progress: its open transaction rolls back and the
        feeds' validators are not saved, so the next start fetches those items again.
        """
        try:
            while not stop.is_set():
                self._wakeup.clear()
                wait = 60.0
                try:
                    report = await _unless_stopped(stop, self.poll_once())
                    if report is not None:
                        metrics.FeedPolls.finished()
                    if report is not None and report.feeds:
                        log.info("feeds polled: %s", report)
                    wait = await self._seconds_to_next()
                except Exception:
                    log.exception("feed poll failed; retrying in a minute")
                await _first_of(stop, self._wakeup, wait)
        finally:
            await self.close()

    async def poll_once(self, now: int | None = None, *, force: bool = False) -> PollReport:
        """Fetch every due feed (every feed with ``force``) once and store what is new."""
        now = int(self._clock()) if now is None else now
        feeds = await (store.list_feeds(self.db) if force else store.due_feeds(self.db, now))
        report = PollReport(feeds=len(feeds))
        started = time.perf_counter()
        if self._session is None:
            self._session = open_session(self.policy)
        pending = iter(feeds)
        ready: asyncio.Queue[_Fetched | None] = asyncio.Queue(max(self.policy.concurrency, 1))

        async def worker() -> None:
            for feed in pending:  # one shared iterator: each feed is taken by one worker
                try:
                    fetched = await self._fetch(feed, now, report)
                except Exception:  # even the failure bookkeeping failed: log, go on
                    log.exception("feed %s: poll failed", feed.url)
                    continue
                if fetched is not None:
                    await ready.put(fetched)

        count = min(self.policy.concurrency, len(feeds))
        workers = [asyncio.create_task(worker()) for _ in range(count)]
        writer = asyncio.create_task(self._write(ready, now, report))
        try:
            await asyncio.gather(*workers)
            await ready.put(None)
            await writer
        except BaseException:  # cancelled (Herald stops): an open transaction rolls back
            for task in (*workers, writer):
                task.cancel()
            await asyncio.gather(*workers, writer, return_exceptions=True)
            raise
        report.seconds = time.perf_counter() - started
        return report

    async def _fetch(self, feed: Feed, now: int, report: PollReport) -> _Fetched | None:
        """Fetch and parse one feed; None when it failed (the failure is recorded)."""
        assert self._session is not None
        policy = self.policy
        try:
            got = await fetch(
                self._session, feed.url, policy, etag=feed.etag, last_modified=feed.last_modified
            )
            if got is None:
                report.not_modified += 1
                metrics.FEED_FETCHES.labels("not_modified").inc()
                return _Fetched(feed, FetchOutcome(now, now + policy.interval))
            digest = hashlib.sha256(got.body).hexdigest()
            outcome = FetchOutcome(now, now + policy.interval, got.etag, got.last_modified, digest)
            if digest == feed.body_hash:  # a server without validators sent the same bytes
                report.not_modified += 1
                metrics.FEED_FETCHES.labels("not_modified").inc()
                return _Fetched(feed, outcome)
            source = feed.title or urlsplit(got.url).hostname or got.url
            parsed = await self._parsers.read(
                got.body, got.url, got.content_type, feed.topic, now, source, policy.max_items
            )
        except FetchError as exc:
            await self._failed(feed, now, str(exc), report)
            return None
        except Exception as exc:  # a bug met on hostile input must not stop other feeds
            log.exception("feed %s: unexpected error", feed.url)
            await self._failed(feed, now, f"internal error ({type(exc).__name__})", report)
            return None
        report.fetched += 1
        metrics.FEED_FETCHES.labels("fetched").inc()
        return _Fetched(feed, replace(outcome, title=parsed.title or None), parsed)

    async def _write(
        self, ready: asyncio.Queue[_Fetched | None], now: int, report: PollReport
    ) -> None:
        """The one writer: whatever is ready goes into one transaction, until the sentinel."""
        finished = False
        while not finished:
            batch = [await ready.get()]
            size = batch[0].size if batch[0] else 0
            while batch[-1] is not None and size < self.policy.batch_items and not ready.empty():
                batch.append(ready.get_nowait())
                size += batch[-1].size if batch[-1] else 0
            finished = batch[-1] is None
            results = [b for b in batch if b is not None]
            if results:
                try:
                    await self._store(results, now, report)
                except Exception:
                    log.exception("storing %d feeds failed", len(results))

    async def _store(self, batch: list[_Fetched], now: int, report: PollReport) -> None:
        """Commit a batch; should it fail, commit its feeds one by one to isolate the culprit."""
        try:
            await self._commit(batch, now, report)
            return
        except Exception:
            if len(batch) == 1:
                raise
            log.exception("a batch of %d feeds failed; storing them one by one", len(batch))
        for one in batch:
            try:
                await self._commit([one], now, report)
            except Exception as exc:
                log.exception("feed %s: storing failed", one.feed.url)
                await self._failed(one.feed, now, f"internal error ({type(exc).__name__})", report)

    async def _commit(self, batch: list[_Fetched], now: int, report: PollReport) -> None:
        """Items and feed states of ``batch`` in one transaction; counts only what committed."""
        delta = PollReport(batches=1)
        started = time.perf_counter()
        notices: list[str] = []
        async with self.db.transaction():
            fresh: list[_Fresh] = []
            for b in batch:
                if b.parsed:
                    entries = await self._fresh(b, delta)
                    allowed = feed_caps.allowance(b.feed, entries, self.policy, now)
                    fresh.append((b, entries, allowed))
            pushed = await self._ingest(fresh, now, delta)
            for b, _, allowed in fresh:
                await self._count_pushes(b, allowed, pushed.get(b.feed.id, 0), now, notices, delta)
            for b in batch:
                await store.record_success(self.db, b.feed.id, b.outcome)
        delta.write_seconds = time.perf_counter() - started
        report.absorb(delta)
        for b in batch:
            if b.feed.notified:
                await self._tell(f"✅ The feed {_name(b.feed)} works again.")
        for notice in notices:
            await self._tell(notice)
        if delta.added:
            self._on_new()

    async def _count_pushes(
        self,
        fetched: _Fetched,
        allowed: feed_caps.Allowance,
        pushed: int,
        now: int,
        notices: list[str],
        report: PollReport,
    ) -> None:
        """Keep the feed's hourly push count; a poll over a cap is noted (and told once)."""
        feed, parsed = fetched.feed, fetched.parsed
        assert parsed is not None
        if pushed or allowed.hour_at != feed.push_hour_at:
            await store.record_pushes(self.db, feed.id, allowed.hour_at, allowed.used + pushed)
        report.held += allowed.held
        report.cut += max(parsed.total - len(parsed.entries), 0)
        if not allowed.held and parsed.total <= self.policy.max_items:
            return
        if feed_caps.should_tell(feed, now):
            url = html.escape(feed.url)
            text = feed_caps.capped_text(_name(feed), url, parsed.total, allowed.held, self.policy)
            notices.append(text)
            log.warning(
                "feed %s is over its caps: %d items listed, %d held",
                feed.url,
                parsed.total,
                allowed.held,
            )
        await store.record_capped(self.db, feed.id, now)

    async def _fresh(self, fetched: _Fetched, report: PollReport) -> list[FeedEntry]:
        """Entries this feed has not carried before, once each."""
        assert fetched.parsed is not None
        entries = _unique(fetched.parsed.entries)
        unseen = await store.unseen_guids(self.db, fetched.feed.id, [e.guid for e in entries])
        fresh = [e for e in entries if e.guid in unseen]
        report.seen += len(fetched.parsed.entries) - len(fresh)
        return fresh

    async def _ingest(self, fresh: list[_Fresh], now: int, report: PollReport) -> dict[int, int]:
        """Link entries to stored or batch-mates' stories, ingest the rest, record all.

        Returns how many new stories each feed had pushed (by feed id).
        """
        known = await self._known_stories([e for _, entries, _ in fresh for e in entries], now)
        news, pushes, plans = _plan(fresh, known)
        added_before = report.added
        ids = await self._ingest_news(news, pushes, now, report)
        linked = 0  # entries that are an article, new or stored
        pushed: dict[int, int] = {}
        for feed_id, rows in plans:
            items = [_item(e, s if s is not None else (ids[i] if i is not None else None))
                     for e, s, i in rows]  # fmt: skip
            linked += sum(1 for item in items if item.article_id is not None)
            report.rejected += sum(1 for item in items if item.article_id is None)
            pushed[feed_id] = sum(1 for _, s, i in rows if i is not None and pushes[i])
            await store.record_items(self.db, feed_id, items, now)
        report.merged += linked - (report.added - added_before)
        return pushed

    async def _ingest_news(
        self, news: list[NewArticle], pushes: list[bool], now: int, report: PollReport
    ) -> list[int | None]:
        """``ingest`` the new stories, pushing those ``feed_caps`` allowed."""
        if not news:
            return []
        started = time.perf_counter()
        for push in (False, True):
            batch = [a for a, p in zip(news, pushes, strict=True) if p == push]
            if batch:
                report.added += len((await ingest(self.db, batch, now, push=push)).added)
        ids = await store.resolve_articles(self.db, news)
        report.ingest_seconds += time.perf_counter() - started
        return ids

    async def _known_stories(self, entries: Sequence[FeedEntry], now: int) -> dict[str, int]:
        """Stored articles by link and by recent normalised title, for ``entries``."""
        links = [e.article.url for e in entries if e.article.url]
        keys = [e.title_key for e in entries if e.title_key]
        known = await store.articles_by_link(self.db, links)
        since = now - self.policy.title_window
        known.update(await store.articles_by_title_key(self.db, keys, since))
        return known

    async def _failed(self, feed: Feed, now: int, error: str, report: PollReport) -> None:
        """Count the failure, back off exponentially, tell the editors once at the threshold."""
        report.failed += 1
        metrics.FEED_FETCHES.labels("failed").inc()
        errors = feed.errors + 1
        log.warning("feed %s failed (%d in a row): %s", feed.url, errors, error)
        await store.record_failure(self.db, feed.id, errors, error, now, self._backoff(now, errors))
        if errors >= self.policy.notify_after and not feed.notified:
            await self._tell(
                f"⚠️ The feed {_name(feed)} failed {errors} times in a row: "
                f"{html.escape(error)}\nHerald keeps trying, less often. "
                f"<code>/feeds remove {html.escape(feed.url)}</code> stops it."
            )
            await store.mark_notified(self.db, feed.id)

    async def _tell(self, text: str) -> None:
        if self._notify is None:
            return
        try:
            await self._notify(text)
        except Exception:
            log.exception("could not notify the editors")

    def _backoff(self, now: int, errors: int) -> int:
        """interval × 2^errors, at most ``max_backoff`` (never less than the interval)."""
        delay = min(self.policy.interval * 2 ** min(errors, 20), self.policy.max_backoff)
        return now + max(delay, self.policy.interval)

    async def _seconds_to_next(self) -> float:
        """Until the next feed is due, but at most ``LOOK_AGAIN``: a feed added on another
        instance (``/feeds add`` wakes only the poller of the instance that took it) is due
        at once, and the leader's poller sees it within that."""
        due = await store.next_due(self.db)
        if due is None:
            return LOOK_AGAIN
        return float(min(max(due - self._clock(), 1.0), LOOK_AGAIN))


def _plan(
    fresh: list[_Fresh], known: dict[str, int]
) -> tuple[list[NewArticle], list[bool], list[tuple[int, list[_Row]]]]:
    """Which entries are stored stories, which are new (once per batch), which are neither,
    and which new stories are pushed (the allowance of the entry that brought it).

    An entry whose link or title key matches a stored article is that article; one that
    matches an earlier entry of the batch (another feed's) shares its new article.
    """
    news: list[NewArticle] = []
    pushes: list[bool] = []
    claimed: dict[str, int] = {}  # link or title key -> index in news
    plans: list[tuple[int, list[_Row]]] = []
    for fetched, entries, allowed in fresh:
        rows: list[_Row] = []
        for entry, push in zip(entries, allowed.push, strict=True):
            keys = [k for k in (entry.article.url, entry.title_key) if k]
            stored = next((known[k] for k in keys if k in known), None)
            index = next((claimed[k] for k in keys if k in claimed), None)
            if stored is None and index is None and entry.new is not None:
                news.append(entry.new)
                pushes.append(push)
                index = len(news) - 1
                claimed.update(dict.fromkeys(keys, index))
            rows.append((entry, stored, None if stored is not None else index))
        plans.append((fetched.feed.id, rows))
    return news, pushes, plans


def _unique(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """The first of the entries that share a guid, a link or a title key within one document."""
    guids: set[str] = set()
    keys: set[str] = set()
    out = []
    for entry in entries:
        link, title = entry.article.url, entry.title_key
        if entry.guid in guids or (link and link in keys) or (title and title in keys):
            continue
        guids.add(entry.guid)
        keys.update(k for k in (link, title) if k)
        out.append(entry)
    return out


def _item(entry: FeedEntry, article_id: int | None) -> FeedItem:
    return FeedItem(entry.guid, entry.article.url, entry.title_key, article_id)


def _name(feed: Feed) -> str:
    return f"<b>{html.escape((feed.title or feed.url)[:200])}</b>"


async def _unless_stopped(stop: asyncio.Event, work: Awaitable[PollReport]) -> PollReport | None:
    """``work``'s result, or None when ``stop`` was set first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


async def _first_of(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until either event is set, whichever comes first."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


# --------------------------------------------------------------------- the editors' feed list


class FeedProblem(ValueError):
    """An editor's request cannot be done; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Added:
    feed: Feed
    new: bool  # False: the feed was followed already (nothing changed)


def check_url(text: str, guard: AddressGuard | None = None) -> str:
    """A feed URL as typed, or ``FeedProblem``: http(s), a host, no spaces, not absurdly long,
    and (given the ``guard``) not an address that is internal on its face."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed [IPv6] or port
        raise FeedProblem("that does not look like a feed address") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FeedProblem("a feed address starts with http:// or https:// and names a host")
    if len(url) > 2_000 or any(ch.isspace() for ch in url):
        raise FeedProblem("that does not look like a feed address")
    if guard is not None and not guard.may_fetch(url):
        raise FeedProblem(
            f"{host} is an internal address, which Herald does not fetch "
            "(HERALD_FETCH_ALLOW_PRIVATE allows those)"
        )
    return url


async def add_feed(
    db: Database,
    url: str,
    topic: str | None,
    editor_id: int | None,
    title: str = "",
    *,
    guard: AddressGuard | None = None,
) -> Added:
    """Follow a feed; its topic is created now so readers can /subscribe before items come.

    Editors' requests pass the fetch ``guard``: an address that is internal on its face is
    refused here; any other is checked again at every fetch.
    """
    url = check_url(url, guard)
    name = topic_name(topic) if topic else ""
    if name:
        await ensure_topics(db, [name])
    feed = await store.add_feed(db, url, name or None, editor_id, int(time.time()), title=title)
    if feed is not None:
        return Added(feed, True)
    existing = await store.find_feed(db, url)
    assert existing is not None, "the insert conflicted on this url"
    return Added(existing, False)


async def list_feeds(db: Database) -> list[Feed]:
    return await store.list_feeds(db)


async def remove_feed(db: Database, which: str) -> Feed:
    """Stop following a feed given by its number in /feeds or by its URL."""
    which = which.strip()
    feeds = await store.list_feeds(db)
    if which.isascii() and which.isdigit():
        number = int(which)
        if not 1 <= number <= len(feeds):
            raise FeedProblem(f"there is no feed number {number}; /feeds lists them")
        feed = feeds[number - 1]
    else:
        found = [f for f in feeds if f.url == which]
        if not found:
            raise FeedProblem("no feed has that address; /feeds lists them")
        feed = found[0]
    await store.remove_feed(db, feed.id)
    return feed
