"""Full-text search on PostgreSQL: the same reader syntax, ranking and snippets as FTS5.

``bot.services.search`` turns what a reader types into a small, safe FTS5 expression (quoted
words, ``"word"*`` prefixes, quoted phrases, AND, OR, NOT and parentheses). Here that
expression becomes a ``tsquery`` for the ``herald`` text search configuration (English
stemming, diacritics removed, no stop words: what FTS5's porter unicode61 does), matched
against ``article_search`` (a weighted vector an article, GIN-indexed). Ranking is
``ts_rank`` with title ≫ summary > body weights (bm25's 10 : 4 : 1 on SQLite) and the same
freshness boost; snippets come from ``ts_headline`` with the same match marks, on the page's
rows only.

At a million articles how a query's matches are read decides its time, so ``newest_matches``
lets the data choose (see its constants): a word in thousands of recent articles ranks the
newest ``RANKED`` matches of its window, not all of them (docs/benchmarks.md, "PostgreSQL at
1M").
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from storage.db import Database

# ts_rank weights for {D, C, B, A}: body (D) 1, unused (C), summary (B) 4, title (A) 10.
_WEIGHTS = "{0.1, 0.0, 0.4, 1.0}"
# No length normalisation: the title weight already puts the article whose title it is first
# (the BBC known answers), and dividing by the length outweighed the freshness boost between
# two near-equal matches (bm25's length normalisation is much gentler).
_NORMALISATION = 0
_HEADLINE = (
    "StartSel=\x02, StopSel=\x03, MaxWords=18, MinWords=8, ShortWord=2, "
    "MaxFragments=1, FragmentDelimiter=…"
)

_TOKEN = re.compile(r'"([^"]*)"(\*?)|(\()|(\))|(AND|OR|NOT)')


def to_tsquery(fts5: str) -> str:
    """The ``to_tsquery`` text for an FTS5 expression built by ``build_fts_query``."""
    out: list[str] = []
    for match in _TOKEN.finditer(fts5):
        quoted, star, opening, closing, operator = match.groups()
        if quoted is not None:
            words = quoted.split()
            if not words:
                continue
            if len(words) > 1:
                out.append("(" + " <-> ".join(f"'{w}'" for w in words) + ")")
            else:
                out.append(f"'{words[0]}'" + (":*" if star else ""))
        elif opening:
            out.append("(")
        elif closing:
            out.append(")")
        else:
            out.append({"AND": "&", "OR": "|", "NOT": "& !"}[operator])
    return " ".join(out)


# A query's matches are read newest first. How depends on how dense they are, and the planner
# cannot tell (a rare word's frequency is a guess from ANALYZE's sample), so the data decides:
# SAMPLE newest rows of the window are tested first. Dense matches are then read on, newest
# first, through the primary key (a common word: a few thousand rows, no GIN posting list of
# hundreds of thousands of entries); sparse ones come from the GIN index intersected with the
# id range (a rare word: a few index pages, not a walk through the whole window).
SAMPLE = 1000
DENSE_ROWS = 16_000  # most rows read newest first before the GIN index is cheaper
# Broad queries rank the newest RANKED matches of their window, not all of them: ranking reads
# every candidate's vector and article (17 µs a row at 1M on 2 cores), and a common word
# matches ~7,000 of the newest 20,000 articles.
RANKED = 300
# GIN finds a phrase's articles by its words; each one is then read to check their positions.
# When the words are common and the phrase is not ("not that"), that is tens of thousands of
# reads (PostgreSQL reads them all, before testing the id range): when the sample says the
# whole archive holds more than ALL_RECHECKS such articles, the phrase is looked for in the
# newest PHRASE_ROWS articles first, and in its whole window only when they hold fewer than
# PHRASE_ENOUGH matches (a page and more).
ALL_RECHECKS = 4_000
PHRASE_ROWS = 20_000
PHRASE_ENOUGH = 10

_SAMPLE_SQL = """
    SELECT coalesce(array_agg(article_id ORDER BY article_id DESC)
                    FILTER (WHERE vector @@ to_tsquery('herald', :q)), '{}'),
           count(*), 0,
           count(*) FILTER (WHERE vector @@ to_tsquery('herald', :words))
    FROM (SELECT article_id, vector FROM article_search WHERE article_id >= :lo
          ORDER BY article_id DESC LIMIT :rows) AS newest
"""
_DENSE_SQL = """
    SELECT article_id
    FROM (SELECT article_id, vector FROM article_search WHERE article_id >= :lo
          ORDER BY article_id DESC LIMIT :rows) AS newest
    WHERE vector @@ to_tsquery('herald', :q)
    ORDER BY article_id DESC LIMIT :want
"""


async def _sparse(
    db: Database, tsquery: str, lo: int, want: int, ordered: bool, below: int | None = None
) -> list[int]:
    """Matches through the GIN index, by bitmap scans only (``herald_search_ids``, migration
    0009): the planner's other choice, walking the primary key and testing every row, reads
    a whole window for a word it wrongly guesses is common."""
    rows = await db.fetchall(
        "SELECT herald_search_ids(to_tsquery('herald', :q), CAST(:lo AS BIGINT),"
        " CAST(:below AS BIGINT), CAST(:want AS INTEGER), CAST(:ordered AS INTEGER) = 1)",
        {"q": tsquery, "lo": lo, "below": below, "want": want, "ordered": ordered},
    )
    return [int(r[0]) for r in rows]


# One /search asks about the same newest rows up to three times (a window of 20,000, then
# 200,000, then the ranking): what was found among the newest rows is kept for a few seconds,
# keyed by the newest article id, so a new article starts afresh.
MEMO_SIZE = 64
MEMO_SECONDS = 10.0
_memo: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()


async def _remembered(key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]]) -> Any:
    now = time.monotonic()
    kept = _memo.get(key)
    if kept is not None and now - kept[0] < MEMO_SECONDS:
        _memo.move_to_end(key)
        return kept[1]
    value = await compute()
    _memo[key] = (now, value)
    while len(_memo) > MEMO_SIZE:
        _memo.popitem(last=False)
    return value


async def _dense(db: Database, tsquery: str, lo: int, want: int, rows: int) -> list[int]:
    """The newest ``want`` matches among the newest ``rows`` rows, through the primary key."""
    found = await db.fetchall(_DENSE_SQL, {"q": tsquery, "lo": lo, "rows": rows, "want": want})
    return [int(r[0]) for r in found]


async def newest_matches(
    db: Database, tsquery: str, *, min_rowid: int, want: int, ordered: bool = True
) -> list[int]:
    """Ids of the newest ``want`` matches with ``id >= min_rowid``, newest first (any
    ``want`` matches when not ``ordered``); for a phrase of common words found often enough
    in the newest ``PHRASE_ROWS`` articles, of those only. ``want`` is at most ``RANKED``
    (what is kept between calls is the newest ``RANKED``)."""
    newest = int(await db.scalar("SELECT coalesce(max(article_id), 0) FROM article_search"))
    words = tsquery.replace("<->", "&")  # what GIN can tell without reading positions

    async def sample() -> Any:
        params = {"q": tsquery, "words": words, "lo": min_rowid, "rows": SAMPLE}
        return tuple(await db.fetchone(_SAMPLE_SQL, params))

    if min_rowid <= newest - SAMPLE + 1:  # the window holds all of the newest SAMPLE rows
        row = await _remembered((db.path, newest, tsquery, "sample"), sample)
    else:
        row = await sample()
    found = [int(i) for i in row[0] if i >= min_rowid]
    scanned, candidates = int(row[1]), int(row[3])
    if len(found) >= want or scanned < SAMPLE:  # enough, or the window has no more rows
        return found[:want]

    if words == tsquery:
        if found and RANKED * SAMPLE / len(found) <= DENSE_ROWS:
            # Dense enough that the newest DENSE_ROWS articles hold a ranking's worth: read
            # once, for the window's test and its ranking alike.
            dense = await _remembered(
                (db.path, newest, tsquery, "dense"),
                lambda: _dense(db, tsquery, 0, RANKED, DENSE_ROWS),
            )
            in_window = [i for i in dense if i >= min_rowid]
            if len(in_window) >= want:
                return in_window[:want]
        elif found and want * SAMPLE / len(found) <= DENSE_ROWS:
            dense = await _dense(db, tsquery, min_rowid, want, DENSE_ROWS)
            if len(dense) >= want:
                return dense
        return await _sparse(db, tsquery, min_rowid, want, ordered)
    # A phrase: GIN finds the articles with its words, and each one's positions must then be
    # read (its id is only tested after that), so for each way in, one pass is kept and
    # serves every window a search tries and its ranking (newest first: a window's matches
    # are a prefix). Rare words: the newest RANKED matches of the whole archive. Common words:
    # the newest PHRASE_ROWS articles, read newest first, then the window through GIN when
    # those hold fewer than PHRASE_ENOUGH matches.
    if candidates * newest / SAMPLE <= ALL_RECHECKS:
        every = await _remembered(
            (db.path, newest, tsquery, "all"), lambda: _sparse(db, tsquery, 0, RANKED, True)
        )
        return [i for i in every if i >= min_rowid][:want]
    recent_lo = max(newest - PHRASE_ROWS + 1, 0)
    recent = await _remembered(
        (db.path, newest, tsquery, "recent"),
        lambda: _dense(db, tsquery, recent_lo, RANKED, PHRASE_ROWS),
    )
    if min_rowid >= recent_lo or len(recent) >= min(want, PHRASE_ENOUGH):
        return [i for i in recent if i >= min_rowid][:want]
    window = await _remembered(
        (db.path, newest, tsquery, min_rowid),
        lambda: _sparse(db, tsquery, min_rowid, RANKED, True),
    )
    return list(window[:want])


async def has_matches(db: Database, fts_query: str, *, min_rowid: int, at_least: int) -> bool:
    found = await newest_matches(
        db, to_tsquery(fts_query), min_rowid=min_rowid, want=at_least, ordered=False
    )
    return len(found) >= at_least


async def search_articles(
    db: Database,
    fts_query: str,
    *,
    min_rowid: int,
    limit: int,
    offset: int,
    now: int,
    boost: float,
) -> list[tuple[Any, ...]]:
    """(id, title, published_at, source, snippet) of the best matches, best first.

    The ranked set is the newest ``RANKED`` matches of the window (all of them, for all but
    broad words); ``ts_headline`` runs on the page's rows only.
    """
    tsquery = to_tsquery(fts_query)
    ids = await newest_matches(db, tsquery, min_rowid=min_rowid, want=RANKED)
    if not ids:
        return []
    rows = await db.fetchall(
        f"""
        WITH q AS (SELECT to_tsquery('herald', :q) AS q),
        page AS (
            SELECT a.id, a.title, a.published_at, a.source, a.summary, a.body,
                   ts_rank('{_WEIGHTS}', s.vector, q.q, {_NORMALISATION})
                   * (1.0 + :boost / (1.0 + greatest(:now - a.published_at, 0) / 604800.0))
                   AS score
            FROM article_search s CROSS JOIN q
            JOIN articles a ON a.id = s.article_id AND a.status = 'published'
            WHERE s.article_id = ANY(:ids)
            ORDER BY score DESC, a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset)
        SELECT page.id, page.title, page.published_at, page.source,
               ts_headline('herald', page.body, q.q, :opts) AS body_snip,
               CASE WHEN page.summary = '' THEN ''
                    ELSE ts_headline('herald', page.summary, q.q, :opts) END AS summary_snip
        FROM page CROSS JOIN q
        ORDER BY page.score DESC, page.published_at DESC, page.id DESC
        """,
        {
            "q": tsquery,
            "ids": ids,
            "limit": limit,
            "offset": offset,
            "now": now,
            "boost": boost,
            "opts": _HEADLINE,
        },
    )
    hits = []
    for row in rows:
        body, summary = row[4] or "", row[5] or ""
        snippet = body if "\x02" in body or "\x02" not in summary else summary
        hits.append((row[0], row[1], row[2], row[3], snippet))
    return hits
