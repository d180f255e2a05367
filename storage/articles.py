"""Articles and topics: insert once, read for /latest and for opening an article."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import POSTGRESQL, Database, IntegrityError

PUBLISHED = "published"
RETRACTED = "retracted"


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article as it arrives, before it has an id. Times are unix seconds (UTC)."""

    title: str
    summary: str
    body: str
    url: str | None
    authors: tuple[str, ...]
    source: str
    topics: tuple[str, ...]
    image_url: str | None
    published_at: int
    content_hash: str
    external_id: str | None = None
    image_file_id: str | None = None  # a photo posted from Telegram (sent by file id)


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    summary: str
    body: str
    url: str | None
    authors: tuple[str, ...]
    source: str
    topics: tuple[str, ...]
    image_url: str | None
    published_at: int
    updated_at: int
    status: str
    image_file_id: str | None = None
    edited_at: int | None = None  # the last correction, if any


@dataclass(frozen=True, slots=True)
class Headline:
    """What a list shows of an article."""

    id: int
    title: str
    published_at: int
    source: str


@dataclass(frozen=True, slots=True)
class Topic:
    id: int
    name: str
    articles: int = 0


async def insert_articles(db: Database, items: Sequence[NewArticle]) -> list[int | None]:
    """Store ``items`` with their topics; each one's new id, or None when already stored.

    ``updated_at`` starts equal to ``published_at``: only a later change makes it differ.

    "Already stored" means the same content hash, the same URL, or the same source id: the
    unique indexes decide, so concurrent ingesters cannot store a story twice.
    """
    if len({new.content_hash for new in items}) == len(items):
        ids = await _insert_rows(db, items)
    else:  # the same story twice in one call: one row at a time says which copy was stored
        ids = [id_ for new in items for id_ in await _insert_rows(db, [new])]
    stored = [(i, new) for i, new in zip(ids, items, strict=True) if i is not None]
    names = {name for _, new in stored for name in new.topics}
    if names:
        topic_ids = await ensure_topics(db, names)
        await db.executemany(
            "INSERT INTO article_topics (topic_id, published_at, article_id)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (topic_ids[name.casefold()], new.published_at, article_id)
                for article_id, new in stored
                for name in new.topics
            ],
        )
    return ids


_INSERT_COLUMNS = (
    "external_id, title, summary, body, url, authors, source, image_url, published_at,"
    " updated_at, content_hash, image_file_id"
)
_INSERT_CHUNK = 500  # rows per INSERT: 6,000 parameters, well inside both backends' limits


async def _insert_rows(db: Database, items: Sequence[NewArticle]) -> list[int | None]:
    """Insert ``items`` (distinct content hashes) with one statement per ``_INSERT_CHUNK``:
    an import used to spend as long handing one INSERT per article to the database as
    SQLite spent storing it. The returned rows are matched back by content hash."""
    ids: list[int | None] = []
    for start in range(0, len(items), _INSERT_CHUNK):
        chunk = items[start : start + _INSERT_CHUNK]
        params: list[object] = []
        for new in chunk:
            params += (
                new.external_id,
                new.title,
                new.summary,
                new.body,
                new.url,
                json.dumps(list(new.authors), ensure_ascii=False),
                new.source,
                new.image_url,
                new.published_at,
                new.published_at,
                new.content_hash,
                new.image_file_id,
            )
        values = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?)"] * len(chunk))
        rows = await db.fetchall(
            f"INSERT INTO articles ({_INSERT_COLUMNS}) VALUES {values}"
            " ON CONFLICT DO NOTHING RETURNING id, content_hash",
            params,
        )
        by_hash = {row[1]: int(row[0]) for row in rows}
        ids += [by_hash.get(new.content_hash) for new in chunk]
    return ids


async def ensure_topics(db: Database, names: Iterable[str]) -> dict[str, int]:
    """Topic ids by case-folded name, creating the topics that do not exist yet."""
    wanted = {name.casefold(): name for name in names}
    await db.executemany(
        "INSERT INTO topics (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
        [(name,) for name in wanted.values()],
    )
    marks = ",".join("?" * len(wanted))
    rows = await db.fetchall(
        f"SELECT id, name FROM topics WHERE name IN ({marks})", list(wanted.values())
    )
    return {row["name"].casefold(): int(row["id"]) for row in rows}


# An article with its topics' names as a JSON list, per backend; a WHERE clause follows.
_ARTICLE_SELECT = """
    SELECT a.*, (SELECT json_group_array(t.name) FROM article_topics at
                 JOIN topics t ON t.id = at.topic_id WHERE at.article_id = a.id) AS topic_names
    FROM articles a
"""
_ARTICLE_SELECT_PG = """
    SELECT a.*, (SELECT coalesce(json_agg(t.name), '[]')::text FROM article_topics at
                 JOIN topics t ON t.id = at.topic_id WHERE at.article_id = a.id) AS topic_names
    FROM articles a
"""


def _article_select(db: Database) -> str:
    return _ARTICLE_SELECT_PG if db.backend == POSTGRESQL else _ARTICLE_SELECT


async def get_article(db: Database, article_id: int) -> Article | None:
    row = await db.fetchone_quick(_article_select(db) + " WHERE a.id = :id", {"id": article_id})
    return None if row is None else _article(row)


async def get_articles(db: Database, article_ids: list[int]) -> list[Article]:
    """The articles with these ids that exist, in the order given: one statement for a page
    of results (an inline answer used to make one database round trip per result)."""
    if not article_ids:
        return []
    marks = ",".join("?" * len(article_ids))
    rows = await db.fetchall_quick(
        _article_select(db) + f" WHERE a.id IN ({marks})", list(article_ids)
    )
    by_id = {row["id"]: _article(row) for row in rows}
    return [by_id[i] for i in article_ids if i in by_id]


def _article(row: Any) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        summary=row["summary"],
        body=row["body"],
        url=row["url"],
        authors=tuple(json.loads(row["authors"])),
        source=row["source"],
        topics=tuple(sorted(json.loads(row["topic_names"]))),
        image_url=row["image_url"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        image_file_id=row["image_file_id"],
        edited_at=row["edited_at"],
    )


async def latest(db: Database, *, limit: int, offset: int = 0) -> list[Headline]:
    """Newest published articles first."""
    rows = await db.fetchall_quick(
        """
        SELECT id, title, published_at, source FROM articles
        WHERE status = 'published'
        ORDER BY published_at DESC, id DESC LIMIT :limit OFFSET :offset
        """,
        {"limit": limit, "offset": offset},
    )
    return [_headline(row) for row in rows]


async def latest_in_topic(
    db: Database, topic_id: int, *, limit: int, offset: int = 0
) -> list[Headline]:
    """Newest published articles of one topic first, walking the topic's date index."""
    rows = await db.fetchall_quick(
        """
        SELECT a.id, a.title, a.published_at, a.source
        FROM article_topics at JOIN articles a ON a.id = at.article_id
        WHERE at.topic_id = :topic AND a.status = 'published'
        ORDER BY at.published_at DESC, at.article_id DESC LIMIT :limit OFFSET :offset
        """,
        {"topic": topic_id, "limit": limit, "offset": offset},
    )
    return [_headline(row) for row in rows]


async def find_topic(db: Database, name: str) -> Topic | None:
    row = await db.fetchone_quick("SELECT id, name FROM topics WHERE name = ?", (name.strip(),))
    return None if row is None else Topic(id=row["id"], name=row["name"])


async def get_topic(db: Database, topic_id: int) -> Topic | None:
    row = await db.fetchone_quick("SELECT id, name FROM topics WHERE id = ?", (topic_id,))
    return None if row is None else Topic(id=row["id"], name=row["name"])


async def list_topics(db: Database) -> list[Topic]:
    """Every topic with its number of published articles, most articles first."""
    rows = await db.fetchall(
        """
        SELECT t.id, t.name, count(a.id) AS n FROM topics t
        LEFT JOIN article_topics at ON at.topic_id = t.id
        LEFT JOIN articles a ON a.id = at.article_id AND a.status = 'published'
        GROUP BY t.id ORDER BY n DESC, t.name
        """
    )
    return [Topic(id=row["id"], name=row["name"], articles=row["n"]) for row in rows]


async def headlines(db: Database, ids: Sequence[int]) -> list[Headline]:
    """Published headlines for ``ids``, in the order given (retracted ones left out)."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall_quick(
        f"SELECT id, title, published_at, source FROM articles"
        f" WHERE id IN ({marks}) AND status = 'published'",
        list(ids),
    )
    by_id = {row["id"]: _headline(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def changed_since(db: Database, ids: Sequence[int], since: int) -> list[int]:
    """Which of ``ids`` were corrected or retracted at or after ``since`` (a wall second)."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT id FROM articles WHERE id IN ({marks}) AND updated_at >= ?", [*ids, since]
    )
    return [row[0] for row in rows]


async def count_articles(db: Database) -> int:
    return int(await db.scalar("SELECT count(*) FROM articles"))


def _headline(row: object) -> Headline:
    return Headline(
        id=row["id"], title=row["title"], published_at=row["published_at"], source=row["source"]
    )


async def set_status(db: Database, article_id: int, status: str, now: int) -> bool:
    """Publish or retract an article; False when there is no such article."""
    changed = await db.execute_changes(
        "UPDATE articles SET status = :status, updated_at = :now WHERE id = :id",
        {"status": status, "now": now, "id": article_id},
    )
    return changed > 0


class DuplicateContent(ValueError):
    """A correction would make the article equal to another stored one."""


async def update_content(db: Database, article_id: int, new: NewArticle, now: int) -> None:
    """Replace an article's text, link and topics (a correction); search follows by trigger.

    Raises ``DuplicateContent`` when another article already has this text or link.
    Run inside the caller's transaction.
    """
    try:
        await db.execute(
            """
            UPDATE articles SET title = :title, summary = :summary, body = :body, url = :url,
                   content_hash = :hash, edited_at = :now, updated_at = :now
            WHERE id = :id
            """,
            {
                "title": new.title,
                "summary": new.summary,
                "body": new.body,
                "url": new.url,
                "hash": new.content_hash,
                "now": now,
                "id": article_id,
            },
        )
    except IntegrityError as exc:
        raise DuplicateContent(str(exc)) from None
    published_at = int(
        await db.scalar("SELECT published_at FROM articles WHERE id = ?", (article_id,))
    )
    await db.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))
    if new.topics:
        topic_ids = await ensure_topics(db, new.topics)
        await db.executemany(
            "INSERT INTO article_topics (topic_id, published_at, article_id)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(topic_ids[name.casefold()], published_at, article_id) for name in new.topics],
        )


async def record_tap(db: Database, article_id: int, now: int) -> None:
    """A reader opened ``article_id`` with a button."""
    await db.execute(
        "INSERT INTO article_taps (article_id, day, taps) VALUES (?, ?, 1)"
        " ON CONFLICT (article_id, day) DO UPDATE SET taps = article_taps.taps + 1",
        (article_id, now // 86_400),
    )


async def taps(db: Database, article_id: int) -> int:
    value = await db.scalar(
        "SELECT coalesce(sum(taps), 0) FROM article_taps WHERE article_id = ?", (article_id,)
    )
    return int(value)


async def most_read(db: Database, day: int, limit: int) -> list[tuple[Headline, int]]:
    """The published articles tapped most on ``day`` (unix seconds // 86400), with their taps."""
    rows = await db.fetchall(
        """
        SELECT a.id, a.title, a.published_at, a.source, t.taps FROM article_taps t
        JOIN articles a ON a.id = t.article_id
        WHERE t.day = ? AND a.status = 'published'
        ORDER BY t.taps DESC, a.id DESC LIMIT ?
        """,
        (day, limit),
    )
    return [(_headline(row), int(row["taps"])) for row in rows]
