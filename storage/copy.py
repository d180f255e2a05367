"""Copy a newsroom's whole state from one database to another (SQLite → PostgreSQL).

Tables go in foreign-key order, in chunks read by primary key. Each row is written as an
upsert on its primary key, so running the copy again is safe: rows already there are brought
up to date, nothing is duplicated. Ids are kept (buttons, saved searches and delivered copies
point at them); on PostgreSQL the id sequences then continue after the largest copied id.
Search indexes and other derived tables are rebuilt by the target's own triggers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.db import POSTGRESQL, SQLITE, Database

log = logging.getLogger(__name__)

CHUNK = 2_000

# (table, primary key columns), parents before children.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("topics", ("id",)),
    ("articles", ("id",)),
    ("article_topics", ("topic_id", "published_at", "article_id")),
    ("article_keywords", ("term", "article_id")),
    ("term_df", ("term",)),
    ("corpus_stats", ("name",)),
    ("related", ("article_id", "related_id")),
    ("article_taps", ("article_id", "day")),
    ("searches", ("id",)),
    ("chats", ("id",)),
    ("chat_settings", ("chat_id",)),
    ("subscriptions", ("id",)),
    ("outbox", ("id",)),
    ("fanout_audience", ("article_id",)),
    ("feeds", ("id",)),
    ("feed_items", ("feed_id", "guid")),
    ("editors", ("user_id",)),
    ("audit_log", ("id",)),
    ("drafts", ("id",)),
    ("intake", ("update_id",)),
)
# Tables with an id the database hands out (a sequence to move on, on PostgreSQL).
_GENERATED_IDS = ("topics", "articles", "searches", "subscriptions", "outbox", "feeds",
                  "audit_log", "drafts")  # fmt: skip


@dataclass(slots=True)
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)  # rows written, per table
    source: dict[str, int] = field(default_factory=dict)  # rows in the source, per table
    target: dict[str, int] = field(default_factory=dict)  # rows in the target afterwards
    not_copied: list[str] = field(default_factory=list)  # source tables this copy does not know

    @property
    def mismatched(self) -> list[str]:
        return [t for t in self.source if self.source[t] != self.target.get(t)]


async def copy_database(
    source: Database, target: Database, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every table of ``source`` into ``target`` (both migrated), then count both sides."""
    report = CopyReport()
    report.not_copied = await _unknown_tables(source)
    for table, key in TABLES:
        columns = await _shared_columns(source, target, table)
        report.copied[table] = await _copy_table(source, target, table, key, columns, progress)
    if target.backend == POSTGRESQL:
        for table in _GENERATED_IDS:
            await target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
    for table, _ in TABLES:
        report.source[table] = int(await source.scalar(f"SELECT count(*) FROM {table}"))
        report.target[table] = int(await target.scalar(f"SELECT count(*) FROM {table}"))
    return report


async def _copy_table(
    source: Database,
    target: Database,
    table: str,
    key: tuple[str, ...],
    columns: list[str],
    progress: Callable[[str, int], None] | None,
) -> int:
    """Copy one table in primary-key order, ``CHUNK`` rows a transaction."""
    names = ", ".join(columns)
    order = ", ".join(key)
    others = [c for c in columns if c not in key]
    update = (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in others)
        if others
        else "DO NOTHING"
    )
    insert = (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT ({order}) {update}"
    )
    positions = [columns.index(k) for k in key]
    after: tuple | None = None
    copied = 0
    while True:
        if after is None:
            rows = await source.fetchall(
                f"SELECT {names} FROM {table} ORDER BY {order} LIMIT {CHUNK}"
            )
        else:
            marks = ", ".join("?" * len(key))
            rows = await source.fetchall(
                f"SELECT {names} FROM {table} WHERE ({order}) > ({marks})"
                f" ORDER BY {order} LIMIT {CHUNK}",
                list(after),
            )
        if not rows:
            return copied
        async with target.transaction():
            await target.executemany(insert, [tuple(row) for row in rows])
        copied += len(rows)
        after = tuple(rows[-1][i] for i in positions)
        if progress:
            progress(table, len(rows))


async def _shared_columns(source: Database, target: Database, table: str) -> list[str]:
    """The columns both sides have, in the source's order (a newer side may have more)."""
    theirs = set(await _columns(target, table))
    return [c for c in await _columns(source, table) if c in theirs]


async def _columns(db: Database, table: str) -> list[str]:
    if db.backend == SQLITE:
        return [row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")]
    rows = await db.fetchall(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in rows]


async def _unknown_tables(db: Database) -> list[str]:
    """Tables of the source that ``TABLES`` does not list (a newer schema): reported, not lost
    silently."""
    if db.backend == SQLITE:
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'articles_fts%'"
        )
    else:
        rows = await db.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    derived = {"schema_migrations", "article_search", "search_queue"}
    known = {t for t, _ in TABLES} | derived
    return sorted(row[0] for row in rows if row[0] not in known)
