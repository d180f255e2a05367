"""Feeds and their items: what to poll when, how it went, and which article each item became.

An item is remembered per feed by its guid, so a re-poll skips what it has seen without
touching the articles. Several feeds' items may point at one article: that is how the same
story from two feeds is stored once and still credited to both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.articles import NewArticle
from storage.db import Database

_CHUNK = 400  # bound parameters per IN (...) list, well under SQLite's limit


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str
    topic: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_fetch_at: int | None
    last_success_at: int | None
    next_fetch_at: int
    errors: int
    total_errors: int
    last_error: str | None
    notified: bool
    items: int = 0  # items recorded (filled by ``list_feeds`` only)
    push_hour_at: int = 0  # the hour whose pushes ``pushes`` counts began then
    pushes: int = 0
    capped_at: int | None = None  # the last poll that went over a cap


@dataclass(frozen=True, slots=True)
class FeedItem:
    """An item to remember: its key in the feed, and the article it became (None: rejected)."""

    guid: str
    link: str | None
    title_key: str | None
    article_id: int | None


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What a successful fetch changes on the feed (validators, title, next poll)."""

    now: int
    next_fetch_at: int
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None  # None: keep the current title


_COLUMNS = (
    "id, url, title, topic, etag, last_modified, body_hash, last_fetch_at, last_success_at,"
    " next_fetch_at, errors, total_errors, last_error, notified,"
    " push_hour_at, pushes, capped_at"
)


def _feed(row: object, items: int = 0) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        topic=row["topic"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_fetch_at=row["last_fetch_at"],
        last_success_at=row["last_success_at"],
        next_fetch_at=row["next_fetch_at"],
        errors=row["errors"],
        total_errors=row["total_errors"],
        last_error=row["last_error"],
        notified=bool(row["notified"]),
        items=items,
        push_hour_at=row["push_hour_at"],
        pushes=row["pushes"],
        capped_at=row["capped_at"],
    )


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def add_feed(
    db: Database, url: str, topic: str | None, added_by: int | None, now: int, title: str = ""
) -> Feed | None:
    """Follow ``url`` (due at once); None when it is followed already."""
    row = await db.fetchone(
        f"""
        INSERT INTO feeds (url, title, topic, added_by, created_at)
        VALUES (:url, :title, :topic, :by, :now)
        ON CONFLICT (url) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        {"url": url, "title": title, "topic": topic, "by": added_by, "now": now},
    )
    return None if row is None else _feed(row)


async def get_feed(db: Database, feed_id: int) -> Feed | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
    return None if row is None else _feed(row)


async def find_feed(db: Database, url: str) -> Feed | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
    return None if row is None else _feed(row)


async def list_feeds(db: Database) -> list[Feed]:
    """Every feed in the order it was added, with how many items it has brought."""
    rows = await db.fetchall(
        f"""
        SELECT {_COLUMNS},
               (SELECT count(*) FROM feed_items i WHERE i.feed_id = feeds.id) AS n
        FROM feeds ORDER BY id
        """
    )
    return [_feed(row, row["n"]) for row in rows]


async def remove_feed(db: Database, feed_id: int) -> bool:
    """Stop following a feed; its articles stay. False when there is no such feed."""
    return await db.execute_changes("DELETE FROM feeds WHERE id = ?", (feed_id,)) > 0


async def due_feeds(db: Database, now: int) -> list[Feed]:
    """Feeds whose next poll is due, the longest overdue first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM feeds WHERE next_fetch_at <= ? ORDER BY next_fetch_at, id",
        (now,),
    )
    return [_feed(row) for row in rows]


async def next_due(db: Database) -> int | None:
    """When the next feed is due (unix seconds), or None when there are no feeds."""
    value = await db.scalar("SELECT min(next_fetch_at) FROM feeds")
    return None if value is None else int(value)


async def record_success(db: Database, feed_id: int, outcome: FetchOutcome) -> None:
    """A fetch worked (or was 304): reset the failure run and keep the new validators."""
    await db.execute(
        """
        UPDATE feeds SET
            etag = coalesce(:etag, etag), last_modified = coalesce(:last_modified, last_modified),
            body_hash = coalesce(:body_hash, body_hash), title = coalesce(:title, title),
            last_fetch_at = :now, last_success_at = :now, next_fetch_at = :next,
            errors = 0, last_error = NULL, notified = 0
        WHERE id = :id
        """,
        {
            "id": feed_id,
            "etag": outcome.etag,
            "last_modified": outcome.last_modified,
            "body_hash": outcome.body_hash,
            "title": outcome.title,
            "now": outcome.now,
            "next": outcome.next_fetch_at,
        },
    )


async def record_failure(
    db: Database, feed_id: int, errors: int, error: str, now: int, next_fetch_at: int
) -> None:
    """A fetch failed: ``errors`` in a row now; try again at ``next_fetch_at`` (the back-off)."""
    await db.execute(
        """
        UPDATE feeds SET errors = :errors, total_errors = total_errors + 1, last_error = :error,
                         last_fetch_at = :now, next_fetch_at = :next
        WHERE id = :id
        """,
        {"id": feed_id, "errors": errors, "error": error, "now": now, "next": next_fetch_at},
    )


async def schedule_fetch(db: Database, feed_id: int, at: int) -> None:
    """Poll the feed next at ``at``, whatever its interval or back-off says."""
    await db.execute("UPDATE feeds SET next_fetch_at = ? WHERE id = ?", (at, feed_id))


async def record_pushes(db: Database, feed_id: int, hour_at: int, pushes: int) -> None:
    """The feed's push count for the hour that began at ``hour_at`` is now ``pushes``."""
    await db.execute(
        "UPDATE feeds SET push_hour_at = ?, pushes = ? WHERE id = ?", (hour_at, pushes, feed_id)
    )


async def record_capped(db: Database, feed_id: int, now: int) -> None:
    """A poll of this feed went over one of its caps at ``now``."""
    await db.execute("UPDATE feeds SET capped_at = ? WHERE id = ?", (now, feed_id))


async def mark_notified(db: Database, feed_id: int) -> None:
    await db.execute("UPDATE feeds SET notified = 1 WHERE id = ?", (feed_id,))


async def unseen_guids(db: Database, feed_id: int, guids: Sequence[str]) -> set[str]:
    """Those of ``guids`` this feed has not carried before."""
    seen: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(guids))):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT guid FROM feed_items WHERE feed_id = ? AND guid IN ({marks})",
            [feed_id, *chunk],
        )
        seen.update(row[0] for row in rows)
    return set(guids) - seen


async def articles_by_link(db: Database, links: Sequence[str]) -> dict[str, int]:
    """Stored articles by URL, for the links given (any source: feed, import or editor)."""
    found: dict[str, int] = {}
    for chunk in _chunks(list(dict.fromkeys(links))):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(f"SELECT url, id FROM articles WHERE url IN ({marks})", chunk)
        found.update((row[0], int(row[1])) for row in rows)
    return found


async def articles_by_title_key(db: Database, keys: Sequence[str], since: int) -> dict[str, int]:
    """Articles that a feed item with the same normalised title became since ``since``."""
    found: dict[str, int] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"""
            SELECT title_key, min(article_id) FROM feed_items
            WHERE title_key IN ({marks}) AND seen_at >= ? AND article_id IS NOT NULL
            GROUP BY title_key
            """,
            [*chunk, since],
        )
        found.update((row[0], int(row[1])) for row in rows)
    return found


async def resolve_articles(db: Database, items: Sequence[NewArticle]) -> list[int | None]:
    """The stored article each item is, new or already there: same hash, URL or source id.

    ``ingest`` reports only the ids it added; a skipped duplicate is found here by the same
    keys its unique indexes used to skip it.
    """
    by_hash: dict[str, int] = {}
    for chunk in _chunks([item.content_hash for item in items]):
        marks = ",".join("?" * len(chunk))
        rows = await db.fetchall(
            f"SELECT content_hash, id FROM articles WHERE content_hash IN ({marks})", chunk
        )
        by_hash.update((row[0], int(row[1])) for row in rows)
    ids = [by_hash.get(item.content_hash) for item in items]
    missing = [i for i, found in enumerate(ids) if found is None]
    links = await articles_by_link(db, [items[i].url for i in missing if items[i].url])
    for i in missing:
        item = items[i]
        ids[i] = links.get(item.url or "")
        if ids[i] is None and item.external_id is not None:
            ids[i] = await db.scalar(
                "SELECT id FROM articles WHERE source = ? AND external_id = ?",
                (item.source, item.external_id),
            )
    return ids


async def record_items(db: Database, feed_id: int, items: Iterable[FeedItem], now: int) -> None:
    await db.executemany(
        """
        INSERT INTO feed_items (feed_id, guid, link, title_key, article_id, seen_at)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
        """,
        [(feed_id, i.guid, i.link, i.title_key, i.article_id, now) for i in items],
    )


async def sources_of(db: Database, article_id: int) -> list[str]:
    """The feeds (title, else URL) that carried an article, in the order they were added."""
    rows = await db.fetchall(
        """
        SELECT CASE WHEN f.title != '' THEN f.title ELSE f.url END FROM feed_items i
        JOIN feeds f ON f.id = i.feed_id WHERE i.article_id = ?
        GROUP BY f.id ORDER BY f.id
        """,
        (article_id,),
    )
    return [row[0] for row in rows]
