"""Storage against a real migrated database, on both backends (a SQLite file, a PostgreSQL
schema): schema, duplicates, retraction everywhere."""

from __future__ import annotations

from pathlib import Path

from bot.services import reading
from bot.services.related import related_ids
from bot.services.search import start_search
from storage.articles import RETRACTED, count_articles, set_status
from storage.db import Database
from tests.factories import article, store

BACKENDS = ("sqlite", "postgresql")


async def test_migrations_recorded_and_pragmas(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "h.db")
    try:
        assert await db.scalar("PRAGMA user_version") >= 2
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA foreign_keys") == 1
        await store(db, article("Kept across restarts"))
    finally:
        await db.close()
    again = await Database.open(tmp_path / "h.db")  # re-opening applies nothing twice
    try:
        assert await count_articles(again) == 1
    finally:
        await again.close()


async def test_reads_see_writes_and_never_write(db: Database) -> None:
    ids = await store(db, article("Seen at once"))
    assert await db.scalar("SELECT title FROM articles WHERE id = ?", (ids[0],)) == "Seen at once"
    async with db.transaction():
        await db.execute("UPDATE articles SET title = 'Changed' WHERE id = ?", (ids[0],))
        inside = await db.scalar("SELECT title FROM articles WHERE id = ?", (ids[0],))
    assert inside == "Changed"


async def test_same_story_stored_once(db: Database) -> None:
    first = await store(db, article("Port strike ends", "Deal reached at the port."))
    same_text = await store(db, article("  port STRIKE ends ", "Deal   reached at the port."))
    same_url = await store(
        db, article("A", url="https://x.test/1"), article("B", url="https://x.test/1")
    )
    assert len(first) == 1 and same_text == [] and len(same_url) == 1
    assert await count_articles(db) == 2


async def test_related_are_computed_at_store_time_and_refreshed(db: Database) -> None:
    strike = "Port Alder dockworkers strike over rosters at the container terminal"
    ids = await store(
        db,
        article("Port Alder dockworkers announce strike", strike),
        article("Comet seen from Tessaly observatory", "Astronomers at Tessaly saw a comet."),
        article("Tessaly comet brightens", "The Tessaly comet brightened, astronomers said."),
    )
    assert await related_ids(db, ids[1]) == [ids[2]]
    assert ids[0] not in await related_ids(db, ids[1])  # never merely the newest
    later = await store(db, article("Port Alder strike talks resume", strike + " talks resume"))
    assert await related_ids(db, ids[0]) == later  # the older article gained the newer one
    assert ids[0] not in await related_ids(db, ids[0])


async def test_retracted_article_disappears_everywhere(db: Database) -> None:
    text = "Marrowby flood barrier on the River Tane approved by the council"
    ids = await store(
        db,
        article("Marrowby flood barrier plan", text),
        article("Marrowby flood barrier approved", text + " today"),
    )
    assert await related_ids(db, ids[0]) == [ids[1]]
    await set_status(db, ids[1], RETRACTED, now=1)
    assert await related_ids(db, ids[0]) == []
    assert [h.id for h in (await reading.latest_page(db, None, 0, 5)).items] == [ids[0]]
    found = await start_search(db, 1, "marrowby", 5)
    assert [h.id for h in found.hits] == [ids[0]]
    assert await reading.open_article(db, ids[1]) is None
