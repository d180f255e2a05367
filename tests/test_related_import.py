"""An import's in-memory matching (``ImportPostings``) finds exactly the related stories that
the per-article SQL (``score_candidates``) finds, on the real BBC corpus, including keywords
another writer stores mid-import and articles retracted mid-import."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.services.importer import parse_record
from bot.services.ingest import ingest, normalise
from bot.services.related import ImportPostings
from storage.articles import RETRACTED, NewArticle, set_status
from storage.db import Database
from tests import postgres
from tests.conftest import shared_file

BACKENDS = ("sqlite", "postgresql")
NOW = 1_700_000_000
BATCH = 150


def bbc_articles() -> list[NewArticle]:
    with shared_file("bbc_news.jsonl").open(encoding="utf-8") as lines:
        return [normalise(parse_record(json.loads(line), "bbc"), NOW) for line in lines]


@pytest.fixture
def second_url(backend: str, pg_database: str) -> Iterator[str]:
    schema, url = postgres.create_schema(pg_database)
    yield url
    postgres.drop_schema(pg_database, schema)


@pytest.fixture
async def reference(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A second database of the same backend, matched by SQL only."""
    target: Path | str = (
        request.getfixturevalue("second_url") if backend == "postgresql" else tmp_path / "r.db"
    )
    database = await Database.open(target)
    yield database
    await database.close()


async def related_lists(db: Database) -> dict[str, list[tuple[str, float]]]:
    """Each article's related list, by content hash (ids may differ between databases)."""
    hashes = {row[0]: row[1] for row in await db.fetchall("SELECT id, content_hash FROM articles")}
    lists: dict[str, list[tuple[str, float]]] = {}
    for row in await db.fetchall(
        "SELECT article_id, related_id, score FROM related ORDER BY article_id, score DESC,"
        " related_id DESC"
    ):
        lists.setdefault(hashes[row[0]], []).append((hashes[row[1]], float(row[2])))
    return lists


def rounded(matches: list[tuple[str, float]]) -> list[tuple[float, str]]:
    return sorted((-round(score, 9), related) for related, score in matches)


async def test_import_matching_equals_the_sql_on_bbc(db: Database, reference: Database) -> None:
    articles = bbc_articles()
    postings = ImportPostings()
    batches = [articles[i : i + BATCH] for i in range(0, len(articles), BATCH)]
    for number, batch in enumerate(batches):
        if number == 6:  # another writer (a feed) stores articles between two batches
            outside, batch = batch[:20], batch[20:]
            for target in (db, reference):
                await ingest(target, outside, NOW)
        if number == 9:  # and some matched articles are retracted meanwhile
            for target in (db, reference):
                ids = [
                    row[0]
                    for row in await target.fetchall(
                        "SELECT DISTINCT related_id FROM related ORDER BY related_id LIMIT 40"
                    )
                ]
                for article_id in ids[::2]:
                    await set_status(target, article_id, RETRACTED, NOW)
        await ingest(db, batch, NOW, postings=postings)
        await ingest(reference, batch, NOW)
    got, want = await related_lists(db), await related_lists(reference)
    assert len(want) > 1500
    assert got.keys() == want.keys()
    for article, expected in want.items():
        # The same stories with the same scores, up to the last bit of a sum (the order a
        # database adds in is its own): near-identical articles may swap places.
        assert rounded(got[article]) == rounded(expected), article
        for (_, a), (_, b) in zip(got[article], expected, strict=True):
            assert math.isclose(a, b, rel_tol=1e-9)
    # Memory stays bounded: at most twice the postings a lookup reads, per term.
    assert max(len(ids) for ids in postings.ids.values()) < 200
