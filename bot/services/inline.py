"""Inline mode: the articles offered when a reader types ``@Herald words`` in any chat.

The same ranking as /search (the safe query builder, bm25 with the title first and freshness as
a tie-break, the same newest-articles window) and the same order as /latest for an empty query,
a page at a time. Nothing is saved per query: Telegram sends one inline query per pause in
typing, and a saved search per keystroke would only be clutter.

Paging goes through Telegram's ``offset``: the ``next_offset`` of one answer comes back as the
``offset`` of the next query. It is Herald's own string, at most 64 bytes:

  ""                           the first page
  "<skip>"                     the latest articles, after the first ``skip``
  "<skip>:<min_rowid>:<now>"   a search, after the first ``skip``, ranking the same window at
                               the same "now" as its first page, so pages neither repeat nor
                               skip articles when the clock moves on between them

A forged or garbled offset gives an empty last page, never an error.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.services import search
from storage import articles as store
from storage import search as search_store
from storage.articles import Article
from storage.db import Database

PAGE_SIZE = 20  # results a page: Telegram allows 50, fewer answer faster on a phone
MAX_RESULTS = 200  # how far a reader can scroll; deeper pages cost more and help nobody
CACHE_SECONDS = 30  # Telegram may reuse an answer this long; a retraction shows within it

_LATEST_OFFSET = re.compile(r"([0-9]{1,4})")
_SEARCH_OFFSET = re.compile(r"([0-9]{1,4}):([0-9]{1,18}):([0-9]{1,12})")  # fits SQLite ints


@dataclass(frozen=True, slots=True)
class InlineItem:
    article: Article
    snippet: str | None  # for a search: the matched text (match marks kept); None for latest


@dataclass(frozen=True, slots=True)
class InlinePage:
    query: str
    items: list[InlineItem]
    next_offset: str  # "" when there is nothing more


class BadOffset(ValueError):
    """An offset Herald did not write (forged, or from an older format)."""


async def find(
    db: Database, query: str, offset: str = "", page_size: int = PAGE_SIZE
) -> InlinePage:
    """One page of articles for an inline query; the latest ones when the query is empty.

    Text with nothing searchable in it (``*``, ``AND OR``, punctuation) finds nothing rather
    than everything: the reader typed something, and the latest articles would not match it.
    """
    text = query.strip()
    try:
        if not text:
            return await _latest(db, offset, page_size)
        return await _search(db, text, offset, page_size)
    except BadOffset:
        return InlinePage(text, [], "")


async def _latest(db: Database, offset: str, page_size: int) -> InlinePage:
    skip = 0
    if offset:
        match = _LATEST_OFFSET.fullmatch(offset)
        if match is None:
            raise BadOffset(offset)
        skip = int(match.group(1))
    limit = _page_limit(skip, page_size)
    headlines = await store.latest(db, limit=limit + 1, offset=skip) if limit else []
    items = [InlineItem(a, None) for a in await _articles(db, [h.id for h in headlines[:limit]])]
    more = len(headlines) > limit
    return InlinePage("", items, str(skip + limit) if more else "")


async def _search(db: Database, text: str, offset: str, page_size: int) -> InlinePage:
    fts = search.build_fts_query(text)
    if fts is None:
        return InlinePage(text, [], "")
    if offset:
        match = _SEARCH_OFFSET.fullmatch(offset)
        if match is None:
            raise BadOffset(offset)
        skip, min_rowid, now = (int(g) for g in match.groups())
    else:
        skip, min_rowid, now = 0, await search.choose_window(db, fts), int(time.time())
    limit = _page_limit(skip, page_size)
    hits = (
        await search_store.search_articles(
            db, fts, min_rowid=min_rowid, limit=limit + 1, offset=skip, now=now, peek=True
        )
        if limit
        else []
    )
    snippets = {hit.id: hit.snippet for hit in hits[:limit]}
    found = await _articles(db, list(snippets))
    items = [InlineItem(a, snippets[a.id]) for a in found]
    more = len(hits) > limit
    next_offset = f"{skip + limit}:{min_rowid}:{now}" if more else ""
    return InlinePage(text, items, next_offset)


def _page_limit(skip: int, page_size: int) -> int:
    """Results on the page after ``skip``, never past ``MAX_RESULTS`` nor Telegram's 50."""
    return max(min(page_size, 50, MAX_RESULTS - skip), 0)


async def _articles(db: Database, ids: list[int]) -> list[Article]:
    """The full articles (a result needs the lead, link and image), still published, in order.

    One read for the page; one retracted since the list was read is left out rather than
    offered.
    """
    return [a for a in await store.get_articles(db, ids) if a.status == store.PUBLISHED]
