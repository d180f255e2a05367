"""SQLite's search index (tantivy beside the database) finds what the database holds: after
edits, retractions, a lost index folder, and a SIGKILL in the middle of an import."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from bot.services import inline, search
from bot.services.ingest import normalise
from storage import articles as store_articles
from storage import search_index
from storage.db import Database
from tests.factories import article, store

ROOT = Path(__file__).resolve().parents[1]


async def _titles(db: Database, text: str, size: int = 10) -> list[str]:
    page = await search.start_search(db, 1, text, size)
    assert page is not None
    return [hit.title for hit in page.hits]


async def _indexed(db: Database) -> int:
    index = await search_index.get(db)
    assert index is not None
    return index.searcher().num_docs


async def test_the_index_ranks_and_follows_edits_and_retractions(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "herald.db")
    try:
        first, second = await store(
            db,
            article("Flood barrier opens on the Thames", "The flood barrier closed twice."),
            article("Council budget agreed", "A flood of complaints followed the budget."),
        )
        # the title match ranks first; the index, not FTS5, answered (nothing left queued)
        assert await _titles(db, "flood") == [
            "Flood barrier opens on the Thames",
            "Council budget agreed",
        ]
        assert await search_index.pending(db) == 0 and await _indexed(db) == 2

        edited = normalise(article("Tidal gate opens on the Thames", "Water rose."), 1)
        async with db.transaction():
            await store_articles.update_content(db, first, edited, 1_700_000_100)
        assert await _titles(db, "flood") == ["Council budget agreed"]
        assert await _titles(db, "tidal gate") == ["Tidal gate opens on the Thames"]

        await store_articles.set_status(db, second, store_articles.RETRACTED, 1_700_000_200)
        assert await _titles(db, "flood") == []
        assert await _indexed(db) == 1
    finally:
        await db.close()


async def test_inline_mode_ranks_as_search_does(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "herald.db")
    try:
        items = [article(f"Budget story {i}", "budget " * (i % 4 + 1) + f"{i}") for i in range(30)]
        await store(db, *items)
        page = await search.start_search(db, 1, "budget", 20)
        found = await inline.find(db, "budget", page_size=20)
        assert page is not None
        assert [a.article.id for a in found.items] == [h.id for h in page.hits]
    finally:
        await db.close()


async def test_a_lost_index_is_rebuilt_from_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a backlog this long is a bulk rebuild: applied in the background, FTS5 answers meanwhile
    monkeypatch.setattr(search_index, "INLINE_CATCH_UP", 20)
    monkeypatch.setattr(search_index, "BULK_COMMIT", 15)
    monkeypatch.setattr(search_index, "APPLY_BATCH", 10)
    path = tmp_path / "herald.db"
    db = await Database.open(path)
    await store(db, *[article(f"Story number {i}", f"Word{i} appears here.") for i in range(50)])
    assert await _titles(db, "word7") == ["Story number 7"]
    await db.close()
    shutil.rmtree(Path(f"{path}.search"))

    db = await Database.open(path)
    try:
        assert await _titles(db, "word42") == ["Story number 42"]  # FTS5, while rebuilding
        index = await search_index.get(db)
        assert index is not None and index.background is not None
        await index.background
        assert await _indexed(db) == 50 and await search_index.pending(db) == 0
        assert await _titles(db, "word43") == ["Story number 43"]
    finally:
        await db.close()


# The child imports the file the way a running Herald stores articles: its index is open, and
# every stored batch starts a catch-up in the background, so the kill can land anywhere:
# inside an index commit, between the commit and the queue's delete, inside a batch.
_CHILD = """
import asyncio, sys
from pathlib import Path
from bot.services import importer
from storage import search_index
from storage.db import Database

async def main():
    db = await Database.open(Path(sys.argv[1]))
    await search_index.get(db)
    importer.BATCH = 100
    def progress(n):
        print("batch", flush=True)
    await importer.import_file(db, Path(sys.argv[2]), progress)
    print("done", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_sigkill_during_an_import_loses_nothing_from_search(tmp_path: Path) -> None:
    source = tmp_path / "archive.jsonl"
    count = 3000
    source.write_text(
        "".join(
            json.dumps({"title": f"Report {i}", "body": f"Unique marker zq{i}x in the text."})
            + "\n"
            for i in range(count)
        ),
        encoding="utf-8",
    )
    path = tmp_path / "herald.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(path), str(source),
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )
    assert child.stdout is not None
    batches = 0
    while batches < 12:  # a third of the way in, index commits running
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        assert line and line != b"done\n", "the import finished before the kill"
        batches += 1
    child.send_signal(signal.SIGKILL)
    await child.wait()

    db = await Database.open(path)
    try:
        stored = await db.fetchall("SELECT title FROM articles ORDER BY id")
        assert 0 < len(stored) < count
        # the child's index had commits of its own: the kill interrupted a live index
        assert 0 < await _indexed(db) <= len(stored)
        # every stored article is found by its own word, and nothing else is
        for row in stored[:: max(len(stored) // 60, 1)] + stored[-3:]:
            number = row[0].split()[1]
            assert await _titles(db, f"zq{number}x") == [row[0]]
        assert await _indexed(db) == len(stored)
        assert await _titles(db, "marker", 5) and await search_index.pending(db) == 0
    finally:
        await db.close()


async def test_a_saved_search_written_behind_the_reply_is_there_for_its_buttons(
    tmp_path: Path,
) -> None:
    path = tmp_path / "herald.db"
    db = await Database.open(path)
    await store(db, *[article(f"Harbour story {i}") for i in range(8)])
    first = await search.start_search(db, 7, "harbour", 5)
    assert first is not None and first.has_next
    # the next page at once: the write may still be on its way, and is waited for
    more = await search.search_page(db, 7, first.search_id, 1, 5)
    assert len(more.hits) == 3
    second = await search.start_search(db, 7, "story", 5)
    assert second is not None and second.search_id != first.search_id
    await db.close()  # drains what is still being written

    db = await Database.open(path)
    try:
        again = await search.search_page(db, 7, second.search_id, 1, 5)
        assert len(again.hits) == 3  # the saved search outlived the close
    finally:
        await db.close()
