"""Storage against a real migrated database, on both backends (a SQLite file, a PostgreSQL
schema): schema, duplicates, retraction everywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.services import fanout, reading
from bot.services.importer import import_file
from bot.services.related import related_ids
from bot.services.search import start_search
from storage import articles, chat_settings, chats, drafts, editors, feeds, outbox, subscriptions
from storage import related as related_store
from storage.articles import RETRACTED, count_articles, set_status
from storage.db import Database
from storage.search import MATCH_END, MATCH_START
from tests.conftest import shared_file
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


async def test_offers_keep_each_list_to_its_best(db: Database) -> None:
    """Newer articles offered to an older one's list: the best ``keep`` stay (a tie goes to
    the newer id), a re-offer changes the score, the ones pushed out are gone."""
    ids = await store(db, *(article(f"Offer entry {n}", f"Body {n}.") for n in range(9)))
    await db.execute("DELETE FROM related")
    older, rest = ids[0], ids[1:]
    async with db.transaction():
        await related_store.add_related(db, [(older, rest[0], 0.5), (older, rest[1], 0.4)])
        await related_store.add_related(db, [(rest[0], older, 0.5)])  # another list, untouched
        await related_store.offer_related(
            db,
            [
                (older, rest[2], 0.9),
                (older, rest[3], 0.4),  # ties rest[1]: the newer id ranks first
                (older, rest[0], 0.1),  # a re-offer: the new score, now too low to stay
                (rest[4], rest[5], 0.3),  # a list that was empty
            ],
            keep=3,
        )
    rows = await db.fetchall(
        "SELECT article_id, related_id, score FROM related ORDER BY article_id, score DESC,"
        " related_id DESC"
    )
    assert [tuple(row) for row in rows] == [
        (older, rest[2], 0.9),
        (older, rest[3], 0.4),
        (older, rest[1], 0.4),
        (rest[0], older, 0.5),
        (rest[4], rest[5], 0.3),
    ]


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


async def test_backend_is_the_one_asked_for(db: Database, backend: str) -> None:
    assert db.backend == backend
    row = await db.fetchone("SELECT 7 AS n, 'x' AS s WHERE :yes = 1", {"yes": True})
    assert (row[0], row["n"], row["s"]) == (7, 7, "x")  # by position and by name, both


async def test_postgres_migrations_recorded_once(pg_url: str) -> None:
    db = await Database.open(pg_url)
    try:
        names = [r["name"] for r in await db.fetchall("SELECT name FROM schema_migrations")]
        assert names[:5] == [
            "0001_articles.sql",
            "0002_subscriptions.sql",
            "0003_feeds.sql",
            "0004_editorial.sql",
            "0005_chat_settings.sql",
        ]
        await store(db, article("Kept across restarts"))
    finally:
        await db.close()
    again = await Database.open(pg_url)  # re-opening applies nothing twice
    try:
        assert await count_articles(again) == 1
        assert await again.scalar("SELECT count(*) FROM schema_migrations") == len(names)
    finally:
        await again.close()


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await store(db, article("Never stored"))
            raise RuntimeError("editor cancelled")
    assert await count_articles(db) == 0
    assert (await start_search(db, 1, "never stored", 5)).hits == []


async def test_topics_ignore_case_and_taps_add_up(db: Database) -> None:
    ids = await store(db, article("Budget passes", topics=("Politics",)))
    await store(db, article("Vote tomorrow", topics=("POLITICS",)))
    topic = await articles.find_topic(db, "politics")
    assert topic is not None and topic.name.casefold() == "politics"
    assert [t.articles for t in await articles.list_topics(db)] == [2]
    assert len((await articles.get_article(db, ids[0])).topics) == 1
    for _ in range(3):
        await articles.record_tap(db, ids[0], now=86_400 * 5 + 10)
    assert await articles.taps(db, ids[0]) == 3
    assert [(h.id, n) for h, n in await articles.most_read(db, 5, 10)] == [(ids[0], 3)]


async def test_subscriptions_fan_out_and_claims(db: Database) -> None:
    now = 1_700_000_000
    for chat in (1, 2, 3):
        await chats.upsert_chat(db, chat, "private", f"reader {chat}", now)
    assert await subscriptions.add_subscription(db, 1, "all", now)
    assert not await subscriptions.add_subscription(db, 1, "all", now)  # once
    await subscriptions.add_subscription(
        db, 2, "keyword", now, phrase="Port strike", pattern=" port strike "
    )
    await subscriptions.add_subscription(db, 3, "keyword", now, phrase="art", pattern=" art ")
    await chats.set_paused(db, 3, True, "blocked", now)
    ids = await store(db, article("Port strike ends at dawn", "Dockers return to work."))
    assert await fanout.fan_out(db, [(ids[0], "Port strike ends at dawn", "")], now) == 2
    assert await fanout.fan_out(db, [(ids[0], "Port strike ends at dawn", "")], now) == 0
    first = await outbox.claim(db, 1, now)
    second = await outbox.claim(db, 10, now)
    assert len(first) == 1 and len(second) == 1
    assert {first[0].chat_id, second[0].chat_id} == {1, 2}
    assert await outbox.claim(db, 10, now) == []  # nothing claimed twice
    await outbox.mark_sent(db, first[0].id, 77, now)
    assert await outbox.article_of_message(db, first[0].chat_id, 77) == ids[0]
    stats = await outbox.stats_since(db, 0)
    assert (stats.pending, stats.sent) == (1, 1)


async def _wide_audience(db: Database, now: int) -> tuple[int, set[int]]:
    """260 chats following an article in every way (and some not, some paused): the article
    and the chats that want it."""
    ids = await store(
        db,
        article("Harbour strike ends", "Dockers return.", topics=("Ports",)),
        article("Rain all week", "Wet.", topics=("Weather",)),
    )
    topic = {
        name: await db.scalar("SELECT id FROM topics WHERE name = ?", (name,))
        for name in ("Ports", "Weather")
    }
    wanted = set()
    for chat in range(1, 261):
        await chats.upsert_chat(db, chat, "private", "", now)
        way = chat % 6
        if way == 0:
            await subscriptions.add_subscription(db, chat, "all", now)
        elif way in (1, 2):
            name = "Ports" if way == 1 else "Weather"
            await subscriptions.add_subscription(db, chat, "topic", now, topic_id=topic[name])
        else:
            pattern = {3: " harbour ", 4: " strike ends ", 5: " harbo "}[way]
            await subscriptions.add_subscription(
                db, chat, "keyword", now, phrase=pattern.strip(), pattern=pattern
            )
        if way in (0, 1, 3, 4) and chat % 7:
            wanted.add(chat)
        if chat % 7 == 0:
            await chats.set_paused(db, chat, True, "blocked", now)
    return ids[0], wanted


async def _queued_chats(db: Database, article_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT chat_id FROM outbox WHERE article_id = ? AND kind = 'new' ORDER BY chat_id",
        (article_id,),
    )
    return [int(r[0]) for r in rows]


async def test_wide_audience_is_queued_chunk_by_chunk_once_per_chat(db: Database) -> None:
    """A publish queues the first chunk; the rest wait as an audience, counted as still to
    send, and are queued chunk by chunk, once per chat, with the same matching."""
    now = 1_700_000_000
    article_id, wanted = await _wide_audience(db, now)
    title = "Harbour strike ends"
    assert await fanout.fan_out(db, [(article_id, title, "Dockers return.")], now, chunk=50) == 50
    first = await _queued_chats(db, article_id)
    assert first == sorted(wanted)[:50]
    assert [a.article_id for a in await outbox.audiences(db)] == [article_id]
    assert (await outbox.article_deliveries(db, article_id)).pending == len(wanted)
    assert (await outbox.stats_since(db, 0)).pending == len(wanted)
    assert (await outbox.count_by_status(db))[outbox.AUDIENCES] == 1

    # Before its chunk is queued: a new subscriber gets the article, a paused one does not.
    await chats.upsert_chat(db, 900, "private", "", now)
    await subscriptions.add_subscription(db, 900, "all", now)
    wanted.add(900)
    await chats.set_paused(db, max(wanted - {900}), True, "blocked", now)
    wanted.discard(max(wanted - {900}))

    # A crash after a chunk's rows but before its cursor moved: the chunk runs again and
    # queues nobody twice.
    before = (await outbox.audiences(db))[0]
    assert await outbox.expand(db, now, chunk=50) == 50
    await db.execute(
        "UPDATE fanout_audience SET after_chat_id = ? WHERE article_id = ?",
        (before.after_chat_id, article_id),
    )
    assert await outbox.expand(db, now, chunk=50) == 0
    while (written := await outbox.expand(db, now, chunk=50)) is not None:
        assert written <= 50
    assert await _queued_chats(db, article_id) == sorted(wanted)
    assert await outbox.audiences(db) == []
    assert (await outbox.article_deliveries(db, article_id)).pending == len(wanted)
    assert (await outbox.count_by_status(db))[outbox.AUDIENCES] == 0


async def test_small_audience_leaves_nothing_to_expand(db: Database) -> None:
    now = 1_700_000_000
    article_id, wanted = await _wide_audience(db, now)
    assert await fanout.fan_out(db, [(article_id, "Harbour strike ends", "Dockers return.")], now)
    assert await _queued_chats(db, article_id) == sorted(wanted)
    assert await outbox.audiences(db) == [] and await outbox.expand(db, now) is None


async def test_breaking_audience_is_expanded_first(db: Database) -> None:
    """Two wide broadcasts: the breaking one's chats are queued first, and the normal one's
    queued rows do not count as the breaking one's lead."""
    now = 1_700_000_000
    article_id, _ = await _wide_audience(db, now)
    later = (await store(db, article("Flood warning", "Breaking: rivers rising.")))[0]
    await fanout.fan_out(db, [(article_id, "Harbour strike ends", "")], now, chunk=10)
    await fanout.fan_out(db, [(later, "Flood warning", "")], now + 1, fanout.BREAKING, chunk=10)
    assert [a.article_id for a in await outbox.audiences(db)] == [later, article_id]
    assert await outbox.most_urgent_audience(db) == fanout.BREAKING
    assert await outbox.queued_ahead(db, now, 1000, fanout.BREAKING) == 10
    assert await outbox.queued_ahead(db, now, 1000, fanout.NORMAL) == 20
    assert await outbox.queued_ahead(db, now, 15, fanout.NORMAL) == 15  # counted up to enough
    await outbox.expand(db, now, chunk=10)
    assert await db.scalar("SELECT count(*) FROM outbox WHERE article_id = ?", (later,)) == 20


async def test_retraction_before_expansion_queues_nobody_more(db: Database) -> None:
    now = 1_700_000_000
    article_id, wanted = await _wide_audience(db, now)
    story = [(article_id, "Harbour strike ends", "Dockers return.")]
    await fanout.fan_out(db, story, now, chunk=50)
    rows, dropped = await outbox.withdraw(db, article_id, "retracted", now)
    assert rows == 50 and dropped is not None
    assert rows + await outbox.unqueued(db, dropped) == len(wanted)  # never to be queued
    assert await outbox.expand(db, now, chunk=50) is None
    assert len(await _queued_chats(db, article_id)) == 50
    assert await outbox.has_pending(db) is False
    assert (await outbox.article_deliveries(db, article_id)).pending == 0


async def test_group_becomes_supergroup_and_merges(db: Database) -> None:
    now = 1_700_000_000
    await chats.upsert_chat(db, -1, "group", "Old group", now)
    await chats.upsert_chat(db, -100, "supergroup", "New", now)
    await subscriptions.add_subscription(db, -1, "all", now)
    await subscriptions.add_subscription(db, -100, "all", now)
    ids = await store(db, article("Tide tables", "High water at noon."))
    await fanout.fan_out(db, [(ids[0], "Tide tables", "")], now)
    await chats.migrate_chat(db, -1, -100, now)
    assert await chats.get_chat(db, -1) is None
    assert len(await subscriptions.list_subscriptions(db, -100)) == 1
    assert await db.scalar("SELECT count(*) FROM outbox WHERE chat_id = -100") == 1


async def test_settings_drafts_editors_feeds(db: Database) -> None:
    now = 1_700_000_000
    await chats.upsert_chat(db, 5, "private", "", now)
    await chat_settings.update(db, 5, now, previews=False, tz="Europe/Madrid")
    got = await chat_settings.get(db, 5)
    assert (got.previews, got.tz, got.breaking_respects_quiet) == (False, "Europe/Madrid", False)
    draft = await drafts.create(db, "post", 9, 5, {"title": "Hi"}, None, None, now)
    assert (await drafts.close(db, draft, "published", now)).content == {"title": "Hi"}
    assert await drafts.close(db, draft, "cancelled", now) is None  # a second tap
    assert await editors.add_editor(db, 9, "Ana", 1, now)
    assert not await editors.add_editor(db, 9, "Ana", 1, now)
    await editors.record(db, 9, "post", None, "Hi", now)
    assert [e.action for e in await editors.recent(db, 5)] == ["post"]
    feed = await feeds.add_feed(db, "https://x.test/rss", "World", 9, now)
    assert feed is not None and await feeds.add_feed(db, "https://x.test/rss", None, 9, now) is None
    item = feeds.FeedItem("g1", None, None, None)
    await feeds.record_items(db, feed.id, [item, item], now)
    assert [f.items for f in await feeds.list_feeds(db)] == [1]


async def test_search_syntax_and_snippets(db: Database) -> None:
    ids = await store(
        db,
        article("Harbour strike", "Dockworkers walked out at the harbour over new rosters."),
        article("Election night", "Voters elected a new council; the harbour plan won."),
        article("Café reopens", "The old café on the square reopened on Monday."),
    )

    async def found(text: str) -> list[int]:
        page = await start_search(db, 1, text, 5)
        return [h.id for h in page.hits]

    assert await found("harbour") == [ids[0], ids[1]]  # the title match first
    assert await found('"new rosters"') == [ids[0]]
    assert await found('"rosters new"') == []
    assert await found("elect*") == [ids[1]]
    assert await found("harbour -council") == [ids[0]]
    assert sorted(await found("cafe OR dockworkers")) == [ids[0], ids[2]]
    assert await found("elections") == [ids[1]]  # stemmed
    hit = (await start_search(db, 1, "rosters", 5)).hits[0]
    assert f"{MATCH_START}rosters{MATCH_END}" in hit.snippet


async def test_exact_title_finds_the_article_on_the_bbc_corpus(db: Database) -> None:
    """Known answers: an article's exact title, pasted into /search, is on the first page."""
    await import_file(db, shared_file("bbc_news.jsonl"))
    rows = await db.fetchall("SELECT id, title FROM articles ORDER BY id")
    assert len(rows) > 2000
    missed = []
    for row in rows[::5]:
        page = await start_search(db, 1, row["title"], 5)
        same_title = {r["id"] for r in rows if r["title"] == row["title"]}
        if not same_title & {h.id for h in page.hits}:
            missed.append(row["title"])
    assert missed == [], missed


async def _queue(db: Database, readers: int, now: int) -> None:
    """``readers`` private chats that want everything, and one article queued for each."""
    for chat in range(1, readers + 1):
        await chats.upsert_chat(db, chat, "private", "", now)
        await subscriptions.add_subscription(db, chat, "all", now)
    ids = await store(db, article("Queued story", "For every reader."))
    await fanout.fan_out(db, [(ids[0], "Queued story", "")], now)


async def test_postgres_claims_skip_rows_another_instance_holds(pg_url: str) -> None:
    """Two instances claiming at once get different rows, and neither waits for the other."""
    first, second = await Database.open(pg_url), await Database.open(pg_url)
    try:
        now = 1_700_000_000
        await _queue(first, 4, now)
        holding, release = asyncio.Event(), asyncio.Event()

        async def slow_claimer() -> list[outbox.Delivery]:
            async with first.transaction():  # its rows stay locked until it commits
                rows = await outbox.claim(first, 2, now)
                holding.set()
                await release.wait()
            return rows

        task = asyncio.create_task(slow_claimer())
        await holding.wait()
        other = await asyncio.wait_for(outbox.claim(second, 10, now), timeout=5)
        release.set()
        mine = await task
        assert len(mine) == 2 and len(other) == 2
        assert {d.chat_id for d in mine} | {d.chat_id for d in other} == {1, 2, 3, 4}
    finally:
        await first.close()
        await second.close()


async def test_postgres_claim_lease_runs_out(pg_url: str) -> None:
    """A row left 'sending' by an instance that died is claimed again once its lease ends."""
    db = await Database.open(pg_url)
    try:
        now = 1_700_000_000
        await _queue(db, 2, now)
        claimed = await outbox.claim(db, 1, now)  # then the instance dies: never settled
        assert len(await outbox.claim(db, 10, now + 60)) == 1  # the other row only
        assert await outbox.claim(db, 10, now + outbox.LEASE_SECONDS - 1) == []
        again = await outbox.claim(db, 10, now + outbox.LEASE_SECONDS + 1)
        assert [d.id for d in again] == [claimed[0].id]
    finally:
        await db.close()
