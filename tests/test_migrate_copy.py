"""`python -m bot migrate` and `python -m bot copy`: run as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.admin import shown
from bot.services import fanout, search
from bot.services import subscriptions as reader_subscriptions
from storage import (
    articles,
    chat_settings,
    chats,
    drafts,
    editors,
    feeds,
    intake,
    outbox,
    subscriptions,
)
from storage.copy import TABLES
from storage.db import Database
from tests.factories import ROOT, article, store


def herald_cli(*args: str, cwd: Path, database: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT, "HERALD_LOG_LEVEL": "WARNING"}
    env.pop("HERALD_BOT_TOKEN", None)
    if database is not None:
        env["HERALD_DATABASE"] = database
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


# The newest PostgreSQL migration: what ``migrate`` reports once everything is applied.
LATEST_PG = max(p.name[:4] for p in (Path(ROOT) / "storage" / "migrations_pg").glob("0*.sql"))


async def test_migrate_applies_migrations_without_starting_the_bot(
    tmp_path: Path, pg_url: str
) -> None:
    done = herald_cli("migrate", cwd=tmp_path, database=pg_url)
    assert done.returncode == 0, done.stderr
    assert f"schema at migration {LATEST_PG}" in done.stdout
    db = await Database.open(pg_url)
    try:
        assert await db.scalar("SELECT count(*) FROM schema_migrations") >= 5
        assert await db.scalar("SELECT count(*) FROM articles") == 0
    finally:
        await db.close()
    again = herald_cli("migrate", cwd=tmp_path, database=pg_url)  # nothing applied twice
    assert again.returncode == 0 and f"migration {LATEST_PG}" in again.stdout
    sqlite = herald_cli("migrate", "--database", "fresh.db", cwd=tmp_path)
    assert sqlite.returncode == 0 and (tmp_path / "fresh.db").is_file()


async def _newsroom(path: Path) -> dict[str, int]:
    """A SQLite newsroom with a row in every table; its articles' ids."""
    now = 1_700_000_000
    db = await Database.open(path)
    try:
        ids = await store(
            db,
            article("Harbour strike ends", "Dockworkers return to the harbour.", topics=("Ports",)),
            article("Harbour strike talks", "Dockworkers and the harbour board met."),
            article("Comet seen over Tessaly", "Astronomers saw a bright comet."),
        )
        await chats.upsert_chat(db, 1, "private", "Ana", now)
        await chats.upsert_chat(db, -5, "group", "Newsroom", now)
        await reader_subscriptions.subscribe(db, 1, "harbour", now)
        await subscriptions.add_subscription(db, -5, "all", now)
        await chat_settings.update(db, 1, now, mode="daily", daily_at="08:00", previews=False)
        await fanout.fan_out(db, [(ids[0], "Harbour strike ends", "")], now)
        claimed = await outbox.claim(db, 1, now)
        await outbox.mark_sent(db, claimed[0].id, 99, now)
        # A broadcast whose chats are not all queued yet (a chunk of one chat): its audience.
        await fanout.fan_out(db, [(ids[1], "Harbour strike talks", "")], now, chunk=1)
        await editors.add_editor(db, 7, "Bea", 1, now)
        await editors.record(db, 7, "post", ids[0], "Harbour strike ends", now)
        draft = await drafts.create(db, "post", 7, 7, {"title": "Draft"}, None, None, now)
        await drafts.set_preview(db, draft, 12)
        feed = await feeds.add_feed(db, "https://news.test/rss", "Ports", 7, now)
        await feeds.record_items(db, feed.id, [feeds.FeedItem("g1", None, None, ids[0])], now)
        await articles.record_tap(db, ids[0], now)
        await search.start_search(db, 1, "comet", 5, now)
        await intake.add(db, 501, 1, '{"update_id": 501}', now)  # a webhook update waiting
        return {"strike": ids[0], "talks": ids[1], "comet": ids[2], "sent_to": claimed[0].chat_id}
    finally:
        await db.close()


async def test_copy_moves_everything_and_is_safe_to_rerun(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "herald.db"
    ids = await _newsroom(source)
    done = herald_cli("copy", "--from", str(source), "--to", pg_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verified" in done.stdout and "MISMATCH" not in done.stdout
    assert "postgresql://" in done.stdout
    again = herald_cli("copy", "--from", str(source), "--to", pg_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # re-running duplicates nothing
    assert "Verified" in again.stdout

    sqlite, pg = await Database.open(source), await Database.open(pg_url)
    try:
        for table, _ in TABLES:
            count = f"SELECT count(*) FROM {table}"
            assert await pg.scalar(count) == await sqlite.scalar(count), table
            assert await sqlite.scalar(count) > 0, f"the newsroom has no {table}"
        # What readers and editors see is the same on the copy.
        assert await subscriptions.list_subscriptions(pg, 1) == (
            await subscriptions.list_subscriptions(sqlite, 1)
        )
        assert (await chat_settings.get(pg, 1)).mode == "daily"
        assert await outbox.article_of_message(pg, ids["sent_to"], 99) == ids["strike"]
        found = await search.start_search(pg, 1, "harbour strike", 5)
        assert {h.id for h in found.hits} == {ids["strike"], ids["talks"]}
        assert await articles.get_article(pg, ids["strike"]) == await articles.get_article(
            sqlite, ids["strike"]
        )
        # New rows continue after the copied ids.
        new = await store(pg, article("After the move", "First story on PostgreSQL."))
        assert new[0] > ids["comet"]
    finally:
        await sqlite.close()
        await pg.close()


def test_copy_from_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    done = herald_cli("copy", "--from", "nope.db", "--to", "other.db", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "herald: no such database file: nope.db"
    assert not (tmp_path / "other.db").exists()


def test_a_database_url_is_shown_without_its_password() -> None:
    assert shown("postgresql://herald:s3cret@db:5432/news") == "postgresql://herald:***@db:5432/news"
    assert shown("postgresql://herald@db/news") == "postgresql://herald@db/news"
    assert shown(Path("herald.db")) == "herald.db"
