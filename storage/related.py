"""The related-stories index: term statistics, each article's keywords, and its best matches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from storage.db import Database

# How many of a term's newest postings a candidate lookup reads: bounds the cost of a lookup at
# any corpus size while preferring recent stories, which is what "related" means for news.
POSTINGS_PER_TERM = 100
# How many more of the best-scored candidates than wanted have their status checked: a few
# retracted ones among the best still leave enough published ones.
STATUS_CHECKED_EXTRA = 8


async def add_document_frequencies(db: Database, df_delta: Mapping[str, int], docs: int) -> None:
    """Count ``docs`` more documents and add ``df_delta`` to the terms' document frequencies."""
    await db.executemany(
        "INSERT INTO term_df (term, df) VALUES (?, ?)"
        " ON CONFLICT (term) DO UPDATE SET df = term_df.df + excluded.df",
        list(df_delta.items()),
    )
    await db.execute("UPDATE corpus_stats SET value = value + ? WHERE name = 'documents'", (docs,))


async def document_frequencies(db: Database, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
    """The number of documents and the document frequency of each of ``terms``."""
    unique = list(set(terms))
    found: dict[str, int] = {}
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT term, df FROM term_df WHERE term IN ({marks})", chunk)
        found.update((row[0], row[1]) for row in rows)
    docs = await db.scalar("SELECT value FROM corpus_stats WHERE name = 'documents'")
    return int(docs), found


async def add_keywords(db: Database, rows: Iterable[tuple[str, int, float]]) -> None:
    """Store (term, article id, weight) rows for articles that have no keywords yet."""
    await db.executemany(
        "INSERT INTO article_keywords (term, article_id, weight) VALUES (?, ?, ?)", rows
    )


async def score_candidates(
    db: Database, weights: Mapping[str, float], *, exclude: int, limit: int
) -> list[tuple[int, float]]:
    """Published articles sharing keywords with ``weights``, best dot product first."""
    if not weights:
        return []
    checked = limit + STATUS_CHECKED_EXTRA
    parts: list[str] = []
    params = {"exclude": exclude, "limit": limit, "per_term": POSTINGS_PER_TERM, "checked": checked}
    for i, (term, weight) in enumerate(weights.items()):
        parts.append(
            f"SELECT * FROM (SELECT article_id, weight * :w{i} AS s FROM article_keywords"
            f" WHERE term = :t{i} ORDER BY article_id DESC LIMIT :per_term) AS p{i}"
        )
        params[f"t{i}"] = term
        params[f"w{i}"] = weight
    # Aggregate first, then check the status of the few best only (not of every posting).
    rows = await db.fetchall(
        f"""
        SELECT c.article_id, c.score FROM (
            SELECT article_id, sum(s) AS score FROM ({" UNION ALL ".join(parts)}) AS postings
            WHERE article_id != :exclude
            GROUP BY article_id ORDER BY score DESC, article_id DESC LIMIT :checked
        ) c JOIN articles a ON a.id = c.article_id AND a.status = 'published'
        ORDER BY c.score DESC, c.article_id DESC LIMIT :limit
        """,
        params,
    )
    return [(int(row[0]), float(row[1])) for row in rows]


async def newest_postings(db: Database, terms: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """Each term's newest ``POSTINGS_PER_TERM`` (article id, weight) postings, oldest first.

    The postings ``score_candidates`` reads for the term, for a caller that keeps them in
    memory (an archive import); a few statements for many terms.
    """
    found: dict[str, list[tuple[int, float]]] = {term: [] for term in terms}
    unique = list(found)
    for start in range(0, len(unique), 200):  # SQLite allows 500 parts in a compound SELECT
        chunk = unique[start : start + 200]
        parts = [
            f"SELECT * FROM (SELECT term, article_id, weight FROM article_keywords"
            f" WHERE term = ? ORDER BY article_id DESC LIMIT {POSTINGS_PER_TERM:d}) AS p{i}"
            for i in range(len(chunk))
        ]
        rows = await db.fetchall(" UNION ALL ".join(parts), chunk)
        for term, article_id, weight in rows:
            found[term].append((int(article_id), float(weight)))
    for postings in found.values():
        postings.sort()
    return found


async def keywords_after(db: Database, article_id: int) -> list[tuple[str, int, float]]:
    """(term, article id, weight) rows of the articles after ``article_id``, by article id."""
    rows = await db.fetchall(
        "SELECT term, article_id, weight FROM article_keywords WHERE article_id > ?"
        " ORDER BY article_id",
        (article_id,),
    )
    return [(row[0], int(row[1]), float(row[2])) for row in rows]


async def published_among(db: Database, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are stored and published."""
    unique = list(set(ids))
    found: set[int] = set()
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT id FROM articles WHERE id IN ({marks}) AND status = 'published'", chunk
        )
        found.update(int(row[0]) for row in rows)
    return found


async def add_related(db: Database, rows: Iterable[tuple[int, int, float]]) -> None:
    """Store (article id, related id, score) rows for articles that have no list yet."""
    await db.executemany(
        "INSERT INTO related (article_id, related_id, score) VALUES (?, ?, ?)"
        " ON CONFLICT (article_id, related_id) DO UPDATE SET score = excluded.score",
        rows,
    )


async def offer_related(
    db: Database, offers: Sequence[tuple[int, int, float]], *, keep: int
) -> None:
    """Offer newer articles to older ones' lists: (older id, newer id, score) rows.

    Each list then keeps its ``keep`` best scores. This is how an older article's related
    stories are refreshed by newer ones without recomputing the older article: similarity is
    symmetric, so a newcomer's matches are exactly the articles whose lists it may belong in.
    """
    await add_related(db, offers)
    await db.executemany(
        """
        DELETE FROM related WHERE article_id = :a AND related_id NOT IN (
            SELECT related_id FROM related WHERE article_id = :a
            ORDER BY score DESC, related_id DESC LIMIT :keep)
        """,
        [{"a": older, "keep": keep} for older in dict.fromkeys(o for o, _, _ in offers)],
    )


async def related_ids(db: Database, article_id: int, *, limit: int) -> list[int]:
    """The stored related stories of an article that are still published, best first."""
    rows = await db.fetchall_quick(
        """
        SELECT r.related_id FROM related r JOIN articles a ON a.id = r.related_id
        WHERE r.article_id = :id AND a.status = 'published'
        ORDER BY r.score DESC, r.related_id DESC LIMIT :limit
        """,
        {"id": article_id, "limit": limit},
    )
    return [int(row[0]) for row in rows]
