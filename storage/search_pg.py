"""Full-text search on PostgreSQL: the same reader syntax, ranking and snippets as FTS5.

``bot.services.search`` turns what a reader types into a small, safe FTS5 expression (quoted
words, ``"word"*`` prefixes, quoted phrases, AND, OR, NOT and parentheses). Here that
expression becomes a ``tsquery`` for the ``herald`` text search configuration (English
stemming, diacritics removed, no stop words: what FTS5's porter unicode61 does), matched
against ``article_search`` (a weighted vector an article, GIN-indexed). Ranking is
``ts_rank`` with title ≫ summary > body weights (bm25's 10 : 4 : 1 on SQLite) and the same
freshness boost; snippets come from ``ts_headline`` with the same match marks.
"""

from __future__ import annotations

import re
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


async def has_matches(db: Database, fts_query: str, *, min_rowid: int, at_least: int) -> bool:
    found = await db.scalar(
        """
        SELECT count(*) FROM (SELECT 1 FROM article_search
                              WHERE vector @@ to_tsquery('herald', :q) AND article_id >= :lo
                              LIMIT :n) AS m
        """,
        {"q": to_tsquery(fts_query), "lo": min_rowid, "n": at_least},
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
    boost: float,
) -> list[tuple[Any, ...]]:
    """(id, title, published_at, source, snippet) of the best matches, best first."""
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
            WHERE s.vector @@ q.q AND s.article_id >= :lo
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
            "q": to_tsquery(fts_query),
            "lo": min_rowid,
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
