"""Import articles from a JSON Lines file (``python -m bot import FILE``).

One JSON object per line. Accepted fields (first match wins; only a title is required):

=================  ==========================================================================
article field      accepted keys
=================  ==========================================================================
title              ``title``, ``headline``
summary            ``summary``, ``short_description``, ``description``, ``lead``
body               ``body``, ``text``, ``content``
link               ``url``, ``link``
authors            ``authors``, ``author`` (a list, or names separated by ``,`` / `` and ``)
topics             ``topics``, ``tags``, ``categories``, ``category`` (a list or one name)
source             ``source`` (else the link's host, else the file name)
image              ``image_url``, ``image``
published          ``published_at``, ``published``, ``date`` (ISO 8601 or unix seconds)
source id          ``id``, ``guid`` (re-importing the same id from the same source adds nothing)
=================  ==========================================================================

This covers the BBC (id, category, title, body) and HuffPost (link, headline, category,
short_description, authors, date) files as well as Herald's own sample articles. A bad line
is reported with its number and skipped; the rest is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import multiprocessing
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.services.ingest import ArticleInput, InvalidArticle, ingest, normalise
from bot.services.related import (
    Document,
    ImportPostings,
    PackedCounts,
    pack_counts,
    term_counts,
    unpack_counts,
)
from storage.articles import NewArticle
from storage.db import Database

log = logging.getLogger(__name__)

BATCH = 5000  # an archive import's articles per transaction (a few seconds of the write lock)
PUSH_BATCH = 20
PARALLEL_FROM_BYTES = 20_000_000  # a file this large is decoded in a worker process
MAX_LINE = 2_000_000
LISTED_PROBLEMS = 20  # rejected lines the summary lists; the rest are counted (and logged)

_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "summary": ("summary", "short_description", "description", "lead"),
    "body": ("body", "text", "content"),
    "url": ("url", "link"),
    "authors": ("authors", "author"),
    "topics": ("topics", "tags", "categories", "category"),
    "source": ("source",),
    "image_url": ("image_url", "image"),
    "published_at": ("published_at", "published", "date"),
    "external_id": ("id", "guid"),
}


@dataclass(slots=True)
class ImportSummary:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)  # "line N: why", the first few
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.added / self.seconds if self.seconds else 0.0


def _first(record: dict[str, Any], name: str) -> Any:
    for key in _FIELDS[name]:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidArticle(f"{what} must be text")


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in re.split(r",|\band\b", value) if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidArticle(f"{what} must be a name or a list of names")


def parse_time(value: Any) -> int | None:
    """Unix seconds from an ISO 8601 date/time or a number; naive times are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArticle(f"unreadable date {value[:40]!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    raise InvalidArticle("the date must be ISO 8601 text or unix seconds")


def parse_record(record: Any, default_source: str) -> ArticleInput:
    """Map one decoded JSON line onto an ``ArticleInput``."""
    if not isinstance(record, dict):
        raise InvalidArticle("each line must be a JSON object")
    url = _text(_first(record, "url"), "the link") or None
    source = _text(_first(record, "source"), "source")
    if not source and url:
        source = urlsplit(url).hostname or ""
    external = _first(record, "external_id")
    return ArticleInput(
        title=_text(_first(record, "title"), "the title"),
        summary=_text(_first(record, "summary"), "the summary"),
        body=_text(_first(record, "body"), "the body"),
        url=url,
        authors=_names(_first(record, "authors"), "authors"),
        source=source or default_source,
        topics=_names(_first(record, "topics"), "topics"),
        image_url=_text(_first(record, "image_url"), "the image") or None,
        published_at=parse_time(_first(record, "published_at")),
        external_id=None if external is None else _text(external, "the id"),
    )


# One line's outcome from ``_prepare``: its number, and the article with its packed term
# counts (``pack_counts``; None where they were not counted), or why it was rejected.
Prepared = tuple[int, tuple[NewArticle, PackedCounts | None] | str]


def _prepare(
    lines: list[tuple[int, str]], default_source: str, now: int, count_terms: bool = False
) -> list[Prepared]:
    """Decode and normalise numbered lines, and with ``count_terms`` count each article's
    terms for the related index: the part of an import that needs no database, so a large
    file runs it in a worker process while the previous batch is written. The counts come
    back packed: pickling a ``Counter`` per article cost more than counting saved."""
    prepared: list[Prepared] = []
    for number, line in lines:
        try:
            if len(line) > MAX_LINE:
                raise InvalidArticle(f"line longer than {MAX_LINE:,} characters")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidArticle(f"not valid JSON ({exc.msg})") from None
            article = normalise(parse_record(record, default_source), now)
            counts = (
                pack_counts(term_counts(Document(0, article.title, article.summary, article.body)))
                if count_terms
                else None
            )
            prepared.append((number, (article, counts)))
        except InvalidArticle as exc:
            prepared.append((number, str(exc)))
    return prepared


def _numbered_lines(path: Path, summary: ImportSummary) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines with their numbers, each counted as read."""
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                summary.read += 1
                yield number, line


@dataclass(slots=True)
class Batch:
    """A batch's good articles and, where the worker counted them, their term counts."""

    articles: list[NewArticle] = field(default_factory=list)
    counts: list[dict[str, int]] | None = None


def _take(path: Path, summary: ImportSummary, prepared: list[Prepared]) -> Batch:
    """The good articles of ``prepared``; the bad lines counted and recorded."""
    batch = Batch()
    counted: list[dict[str, int]] = []
    for number, outcome in prepared:
        if isinstance(outcome, str):
            summary.rejected += 1
            problem = f"line {number}: {outcome}"
            # The summary lists the first few; the log has every one, at DEBUG so that a
            # terminal does not show the same line twice.
            log.debug("import %s: %s", path.name, problem)
            if len(summary.problems) < LISTED_PROBLEMS:
                summary.problems.append(problem)
        else:
            article, packed = outcome
            batch.articles.append(article)
            if packed is not None:
                counted.append(unpack_counts(packed))
    if counted and len(counted) == len(batch.articles):
        batch.counts = counted
    return batch


def read_articles(path: Path, summary: ImportSummary, now: int) -> Iterator[tuple[int, NewArticle]]:
    """Yield (line number, article) for each good line; count and record the bad ones."""
    for number, line in _numbered_lines(path, summary):
        for article in _take(path, summary, _prepare([(number, line)], path.stem, now)).articles:
            yield number, article


def _exit_with_parent(parent: int) -> None:
    """In the worker: end when the importing process does, even killed (a forked worker
    holds its own end of the task pipe, so it would otherwise wait there for ever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _worker(path: Path) -> ProcessPoolExecutor | None:
    """A process to decode ``path`` in, when it is large enough to be worth one."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        return None
    try:
        return ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
    except (OSError, ValueError):  # no processes here: decode in this one
        log.info("import: no worker process, decoding in this one", exc_info=True)
        return None


async def _batches(
    path: Path, summary: ImportSummary, now: int, size: int
) -> AsyncIterator[tuple[Batch, int]]:
    """(batch, lines read so far) per ``size`` lines of ``path``.

    A large file is decoded and normalised, and its terms counted, in a worker process, one
    batch ahead of the writer, so that work runs on the other core. A small one (or where no
    process can start) is decoded here, which is quicker than starting a process.
    """
    lines = _numbered_lines(path, summary)
    default_source = path.stem
    pool = _worker(path)
    try:
        if pool is None:
            while chunk := list(itertools.islice(lines, size)):
                yield _take(path, summary, _prepare(chunk, default_source, now)), summary.read
            return
        loop = asyncio.get_running_loop()

        def decode(chunk: list[tuple[int, str]]) -> asyncio.Future[list[Prepared]] | None:
            if not chunk:
                return None
            return loop.run_in_executor(pool, _prepare, chunk, default_source, now, True)

        pending = decode(list(itertools.islice(lines, size)))
        while pending is not None:
            prepared = await pending
            read = summary.read
            # The next batch decodes while the caller writes this one.
            pending = decode(list(itertools.islice(lines, size)))
            yield _take(path, summary, prepared), read
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


async def import_file(
    db: Database,
    path: Path,
    progress: Callable[[int], None] | None = None,
    *,
    push: bool = False,
) -> ImportSummary:
    """Import ``path`` in batches of ``BATCH`` articles, each batch one transaction.

    An archive import does not push; with ``push`` new articles also go to their subscribers.
    """
    summary = ImportSummary()
    started = time.perf_counter()
    now = int(time.time())
    # A pushing import writes subscribers' outbox rows too: smaller transactions, so a running
    # Herald (another process, same file) never waits long for the write lock.
    size = PUSH_BATCH if push else BATCH
    postings = ImportPostings()  # matching reads memory, not one statement per article
    reported = 0  # lines passed to ``progress``: rejected lines count too, so a bar ends full
    async with contextlib.AsyncExitStack() as stack:
        if not push:  # a pushing import keeps a running Herald's settings
            await stack.enter_async_context(db.bulk_writes())
        batches = await stack.enter_async_context(
            contextlib.aclosing(_batches(path, summary, now, size))
        )
        async for batch, read in batches:
            if batch.articles:
                result = await ingest(
                    db, batch.articles, now, push=push, postings=postings, counts=batch.counts
                )
                summary.added += len(result.added)
                summary.duplicates += result.duplicates
            if progress and read > reported:
                progress(read - reported)
                reported = read
    if progress and summary.read > reported:
        progress(summary.read - reported)
    summary.seconds = time.perf_counter() - started
    return summary
