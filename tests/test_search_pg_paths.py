"""PostgreSQL search reads a query's newest matches by one of several paths (storage.search_pg):
a sample of the newest rows, newest first through the primary key, or the GIN index alone. At
1M articles the data picks the path; here the sizes are shrunk so a small archive takes each
one, and every path must find what a plain scan finds, and /search show the same page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.services.search import build_fts_query, start_search
from storage import search_pg
from storage.db import Database
from tests.factories import article, store


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    """PostgreSQL only: SQLite's FTS5 search has one path."""
    database = await Database.open(pg_url)
    yield database
    await database.close()

QUERIES = ["harbour", "rosters", "harbour council", "harbour OR rosters", "harb*",
           '"strike at the port"', '"the port"', "harbour -council"]


def _archive() -> list:
    items = []
    for i in range(40):
        title = f"Harbour report {i}" if i % 2 else f"Council note {i}"
        body = "Dockworkers met the council." if i % 3 else "A strike at the port today."
        if i in (3, 4, 30):
            body += " New rosters were posted."
        if i % 5 == 0:
            body += " The port was quiet; a strike was elsewhere."
        items.append(article(title, body))
    return items


@pytest.fixture
def shrunk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Sizes a 40-article archive crosses: a sample of 4 rows, dense reads of 12."""
    for name, value in {"SAMPLE": 4, "DENSE_ROWS": 12, "PHRASE_ROWS": 6,
                        "PHRASE_ENOUGH": 2}.items():
        monkeypatch.setattr(search_pg, name, value)
    search_pg._memo.clear()
    yield
    search_pg._memo.clear()


async def _plain(db: Database, tsquery: str, lo: int, want: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT article_id FROM article_search WHERE vector @@ to_tsquery('herald', :q)"
        " AND article_id >= :lo ORDER BY article_id DESC LIMIT :n",
        {"q": tsquery, "lo": lo, "n": want},
    )
    return [int(r[0]) for r in rows]


@pytest.mark.parametrize("ranked", [300, 3])
@pytest.mark.parametrize("all_rechecks", [0, 10**9])
async def test_every_path_finds_the_newest_matches(
    db: Database, shrunk: None, monkeypatch: pytest.MonkeyPatch, all_rechecks: int, ranked: int
) -> None:
    monkeypatch.setattr(search_pg, "ALL_RECHECKS", all_rechecks)
    monkeypatch.setattr(search_pg, "RANKED", ranked)
    paths: list[str] = []
    for name in ("_dense", "_sparse"):
        original = getattr(search_pg, name)

        async def counted(*args: object, _name: str = name, _f: object = original) -> object:
            paths.append(f"{_name} {args[-1] if _name == '_dense' else args[2] == 0}")
            return await _f(*args)  # type: ignore[operator]

        monkeypatch.setattr(search_pg, name, counted)
    ids = await store(db, *_archive())
    for text in QUERIES:
        tsquery = search_pg.to_tsquery(build_fts_query(text) or "")
        for lo in (0, ids[10], ids[35]):
            for want in (1, 3, min(50, ranked)):  # never more than RANKED
                search_pg._memo.clear()
                found = await search_pg.newest_matches(db, tsquery, min_rowid=lo, want=want)
                expected = await _plain(db, tsquery, lo, want)
                if "<->" in tsquery and all_rechecks == 0 and found != expected:
                    # A phrase of common words: the newest PHRASE_ROWS articles, when they
                    # hold enough of its matches, else all of them.
                    recent = [i for i in expected if i > ids[-1] - search_pg.PHRASE_ROWS]
                    assert found == recent and len(found) >= min(want, 2), (text, lo, want)
                else:
                    assert found == expected, (text, lo, want)
    # Each path was taken: dense reads of both sizes (phrases: only when bounded), the GIN
    # index from a window's start and, for phrases, from the archive's.
    taken = set(paths)
    assert {"_dense 12", "_sparse False"} <= taken, taken
    assert ("_dense 6" in taken) == (all_rechecks == 0), taken
    assert "_sparse True" in taken, taken


async def test_search_pages_are_the_same_whichever_path(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(db, *_archive())
    monkeypatch.setattr(search_pg, "ALL_RECHECKS", 10**9)
    now = 1_700_000_000

    async def pages() -> list[list[tuple[int, str]]]:
        search_pg._memo.clear()
        found = []
        for text in QUERIES:
            page = await start_search(db, 1, text, 5, now=now)
            assert page is not None
            found.append([(h.id, h.snippet) for h in page.hits])
        return found

    plain = await pages()
    with monkeypatch.context() as shrink:
        for name, value in {"SAMPLE": 4, "DENSE_ROWS": 12}.items():
            shrink.setattr(search_pg, name, value)
        assert await pages() == plain
