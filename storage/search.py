"""Full-text search over articles (FTS5, bm25) and the saved searches that page buttons point at."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import sqlite3
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from storage import search_index, search_pg
from storage.db import POSTGRESQL, Database, in_transaction

log = logging.getLogger(__name__)

# Marks put around matched words by snippet(); control characters cannot occur in stored text
# that a renderer escapes, so rendering can swap them for <b></b> after escaping.
MATCH_START = "\x02"
MATCH_END = "\x03"

# bm25 column weights: title, summary, body.
_WEIGHTS = "10.0, 4.0, 1.0"
# Up to this share is added to a fresh article's relevance, fading over about a week: enough to
# put the newer of two near-equal matches first, never enough to lift a weak match over a good one.
FRESHNESS_BOOST = 0.05


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    title: str
    published_at: int
    source: str
    snippet: str  # body or summary text, MATCH_START/MATCH_END around matched words


@dataclass(frozen=True, slots=True)
class SavedSearch:
    id: int
    chat_id: int
    query: str
    min_rowid: int
    created_at: int  # also the "now" its pages rank freshness against, so pages stay stable


async def newest_rowid(db: Database) -> int:
    return int(await db.scalar("SELECT coalesce(max(id), 0) FROM articles"))


async def has_matches(db: Database, fts_query: str, *, min_rowid: int, at_least: int) -> bool:
    """Whether ``fts_query`` matches ``at_least`` articles with id ≥ ``min_rowid``.

    Unranked and stopped early, so it costs little even for a word in every article.
    """
    if db.backend == POSTGRESQL:
        return await search_pg.has_matches(
            db, fts_query, min_rowid=min_rowid, at_least=at_least
        )
    found = await db.scalar(
        """
        SELECT count(*) FROM (SELECT rowid FROM articles_fts
                              WHERE articles_fts MATCH :q AND rowid >= :lo LIMIT :n)
        """,
        {"q": fts_query, "lo": min_rowid, "n": at_least},
    )
    return int(found) >= at_least


async def search_articles(
    db: Database,
    fts_query: str,
    *,
    min_rowid: int,
    limit: int,
    offset: int,
    now: int,
    peek: bool = False,
) -> list[SearchHit]:
    """Published articles matching ``fts_query`` (FTS5 syntax, already made safe), best first.

    With ``peek`` the last of ``limit`` only tells the caller there is a next page: SQLite's
    index path skips its snippet.
    """
    if db.backend == POSTGRESQL:
        found = await search_pg.search_articles(
            db,
            fts_query,
            min_rowid=min_rowid,
            limit=limit,
            offset=offset,
            now=now,
            boost=FRESHNESS_BOOST,
        )
        return [SearchHit(*hit) for hit in found]
    index = await search_index.get(db)
    if index is not None and not index.behind:
        page = functools.partial(
            _indexed_page, index, fts_query, min_rowid, offset, limit, now, peek
        )
        reader = None if in_transaction() else index.reader

        async def read(settled: bool) -> list[SearchHit] | None:
            if reader is not None:  # in this thread: see search_index._loop_reader
                return page(reader, settled=settled)
            return await db.run_read(functools.partial(page, settled=settled))  # type: ignore[attr-defined]

        try:
            hits = await read(False)
            if hits is None:  # articles wait in the queue: apply them, or let FTS5 answer
                if await search_index.ready(db) is not None:
                    hits = await read(True)
            if hits is not None:
                return hits
        except search_index.Unavailable:
            pass  # FTS5 answers below
    rows = await db.fetchall(
        f"""
        SELECT a.id, a.title, a.published_at, a.source,
               snippet(articles_fts, 2, :start, :end, '…', 14),
               snippet(articles_fts, 1, :start, :end, '…', 14)
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        WHERE articles_fts MATCH :q AND articles_fts.rowid >= :lo AND a.status = 'published'
        ORDER BY bm25(articles_fts, {_WEIGHTS})
                 * (1.0 + :boost / (1.0 + max(:now - a.published_at, 0) / 604800.0)),
                 a.published_at DESC, a.id DESC
        LIMIT :limit OFFSET :offset
        """,
        {
            "q": fts_query,
            "lo": min_rowid,
            "limit": limit,
            "offset": offset,
            "now": now,
            "boost": FRESHNESS_BOOST,
            "start": MATCH_START,
            "end": MATCH_END,
        },
    )
    return [
        SearchHit(
            id=row[0],
            title=row[1],
            published_at=row[2],
            source=row[3],
            snippet=_pick_snippet(row[4] or "", row[5] or ""),
        )
        for row in rows
    ]


def _pick_snippet(body: str, summary: str) -> str:
    """The body's snippet if a searched word is in it, else the summary's if one is there."""
    if MATCH_START in body or MATCH_START not in summary:
        return body
    return summary


def _indexed_page(
    index: search_index.SearchIndex,
    fts_query: str,
    min_rowid: int,
    offset: int,
    limit: int,
    now: int,
    peek: bool,
    conn: sqlite3.Connection,
    *,
    settled: bool = False,
) -> list[SearchHit] | None:
    """In the read connection's thread: rank with the index, fetch the page in one statement,
    and cut the snippets (``search_index.Marker``). None when articles wait in the search
    queue (the index may lack them) unless ``settled``: the caller catches up and asks again.
    """
    try:
        query, marker = index.parse(fts_query)
        ids = [] if query is None else index.rank(
            query, min_rowid=min_rowid, offset=offset, limit=limit, now=now, boost=FRESHNESS_BOOST
        )
    except Exception as exc:  # tantivy refused the query: FTS5 still can answer
        log.warning("search index query failed for %r", fts_query, exc_info=True)
        raise search_index.Unavailable(str(exc)) from exc
    rows = conn.execute(
        """
        SELECT a.id, a.title, a.published_at, a.source, a.summary, a.body,
               (SELECT max(seq) FROM search_queue)
        FROM articles a
        WHERE a.id IN (SELECT value FROM json_each(?)) AND a.status = 'published'
        """,
        ("[" + ",".join(str(i) for i in ids) + "]",),
    ).fetchall()
    if rows:
        waiting = rows[0][6] is not None
    else:
        waiting = conn.execute("SELECT max(seq) FROM search_queue").fetchone()[0] is not None
    if waiting and not settled:
        return None
    by_id = {row[0]: row for row in rows}
    hits = []
    for row in (by_id[i] for i in ids if i in by_id):
        summary, body = row[4] or "", row[5] or ""
        snippet = "" if peek and len(hits) == limit - 1 else (
            marker.snippet(body, MATCH_START, MATCH_END)
            or marker.snippet(summary, MATCH_START, MATCH_END)
            or marker.snippet(body or summary, MATCH_START, MATCH_END, lead=True)
            or ""
        )
        hits.append(
            SearchHit(id=row[0], title=row[1], published_at=row[2], source=row[3], snippet=snippet)
        )
    return hits


async def save_search(db: Database, chat_id: int, query: str, min_rowid: int, now: int) -> int:
    """Save a search; its id, for the page buttons.

    On SQLite the id is taken from a counter in this process and the row is written behind
    the reply (``_write_search``): the INSERT and its commit were a third of a rare word's
    whole search, for a row nobody reads until a button is pressed seconds later.
    ``get_search`` waits for a write still on its way. Herald is one process per SQLite
    file; should the row still collide, its buttons answer "expired".
    """
    if db.backend == POSTGRESQL:
        return int(
            await db.scalar(
                "INSERT INTO searches (chat_id, query, min_rowid, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (chat_id, query, min_rowid, now),
            )
        )
    behind = _behind.get(db)
    if behind is None:
        newest = int(await db.scalar("SELECT coalesce(max(id), 0) FROM searches"))
        behind = _behind.get(db)  # another task may have started meanwhile
        if behind is None:
            behind = _Behind(itertools.count(newest + 1), {})
            _behind[db] = behind
            db.on_close(lambda: _drain(behind))
    search_id = next(behind.ids)
    task = asyncio.get_running_loop().create_task(
        _write_search(db, search_id, chat_id, query, min_rowid, now)
    )
    behind.writing[search_id] = task
    task.add_done_callback(lambda _: behind.writing.pop(search_id, None))
    return search_id


@dataclass(slots=True)
class _Behind:
    ids: Iterator[int]
    writing: dict[int, asyncio.Task[None]]


_behind: weakref.WeakKeyDictionary[Database, _Behind] = weakref.WeakKeyDictionary()


async def _write_search(
    db: Database, search_id: int, chat_id: int, query: str, min_rowid: int, now: int
) -> None:
    try:
        await db.execute(
            "INSERT INTO searches (id, chat_id, query, min_rowid, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (search_id, chat_id, query, min_rowid, now),
        )
    except Exception:  # a collision or a closed database: its buttons answer "expired"
        log.warning("saved search %d not written", search_id, exc_info=True)


async def _drain(behind: _Behind) -> None:
    """At close: the writes still on their way finish first."""
    if behind.writing:
        await asyncio.gather(*list(behind.writing.values()), return_exceptions=True)


async def get_search(db: Database, search_id: int) -> SavedSearch | None:
    behind = _behind.get(db)
    writing = behind.writing.get(search_id) if behind is not None else None
    if writing is not None:
        await asyncio.shield(writing)
    row = await db.fetchone_quick(
        "SELECT id, chat_id, query, min_rowid, created_at FROM searches WHERE id = ?",
        (search_id,),
    )
    return None if row is None else SavedSearch(row[0], row[1], row[2], row[3], row[4])


async def forget_searches_before(db: Database, created_before: int) -> int:
    """Drop saved searches older than a cut-off: their page buttons then answer "expired"."""
    behind = _behind.get(db)
    if behind is not None:
        await _drain(behind)
    return await db.execute_changes("DELETE FROM searches WHERE created_at < ?", (created_before,))
