"""Reader search text → safe FTS5 query: a table of inputs, then every one run for real."""

from __future__ import annotations

import pytest

from bot.services.search import (
    SearchExpired,
    build_fts_query,
    only_excluded,
    search_page,
    start_search,
)
from storage.db import Database
from tests.factories import article, store

# Also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

CASES = [
    ("election", '"election"'),
    ("climate deal", '("climate" AND "deal")'),
    ('"climate deal"', '"climate deal"'),
    ('"climate deal" -coal', '"climate deal" NOT "coal"'),
    ("tax*", '"tax"*'),
    ("tax OR budget", '"tax" OR "budget"'),
    ("a OR b -c", '("a" OR "b") NOT "c"'),
    ("AND", None),
    ("NEAR(a b)", '("a" AND "b")'),
    ("title:flood", '("title" AND "flood")'),
    ("-coal", None),
    ("hat-trick", '"hat trick"'),
    ("Ex-PM quits", '("Ex PM" AND "quits")'),
    ("COVID-19 -flu", '"COVID 19" NOT "flu"'),
    ("Peer-to-peer", '"Peer to peer"'),
    ("Winn-Dixie files", '("Winn Dixie" AND "files")'),
    ("a -b-c", '"a" NOT "b c"'),
    ("e-mail*", '"e mail"*'),
    ("flood - barrier", '("flood" AND "barrier")'),
    ("flood--barrier", '("flood" AND "barrier")'),
    ("well- known", '("well" AND "known")'),
    ("🔥 🔥", None),
    ('"unterminated phrase', '"unterminated phrase"'),
    ('say "hi"', '("say" AND "hi")'),
    ("Zoë Álvarez", '("Zoë" AND "Álvarez")'),
    ("^*:()+", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_build_fts_query(text: str, expected: str | None) -> None:
    assert build_fts_query(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-flood", True), ("-flood -coal", True), ("flood -coal", False), ("🔥", False), ("", False)],
)
def test_only_excluded_words(text: str, expected: bool) -> None:
    """"-flood" is not "no words": it gets its own answer (see test_reading_e2e)."""
    assert only_excluded(text) is expected


def test_long_input_is_bounded() -> None:
    query = build_fts_query(" ".join(["word"] * 3000) + " " + "y" * 5000)
    assert query is not None and query.count('"word"') == 16 and len(query) < 400


HOSTILE = [text for text, _ in CASES] + [
    '" OR "',
    "(((",
    ")))",
    "NOT NOT",
    "a NEAR/3 b",
    "*",
    "'; DROP TABLE articles; --",
    "\x00\x01",
    "x" * 4000,
    "OR OR OR",
    '""',
    "a:b:c",
    "{col1 col2}: x",
    "- - -",
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_any_text_searches_without_error(db: Database, text: str) -> None:
    await store(db, article("Flood barrier approved", "The council approved the barrier."))
    page = await start_search(db, chat_id=1, text=text, page_size=5)
    assert page is None or isinstance(page.hits, list)


async def test_ranking_title_beats_body_and_newer_wins_ties(db: Database) -> None:
    day = 86_400
    older = await store(db, article("Budget day", "The minister spoke."), now=1 * day)
    await store(db, article("Minister spoke", "It was about the budget and more."), now=20 * day)
    newer = await store(db, article("Budget day", "The minister spoke again."), now=19 * day)
    page = await start_search(db, chat_id=1, text="budget", page_size=5, now=20 * day)
    # Title matches first; of the two near-equal title matches the newer first, though its
    # longer body scores a little lower; the newest article of all only matches in its body.
    assert [h.id for h in page.hits] == [*newer, *older, older[0] + 1]


async def test_snippet_marks_matched_words(db: Database) -> None:
    await store(db, article("Port strike", "Dockworkers began a strike at the port on Monday."))
    page = await start_search(db, chat_id=1, text="dockworkers", page_size=5)
    assert "\x02Dockworkers\x03" in page.hits[0].snippet


async def test_pages_and_ownership(db: Database) -> None:
    await store(db, *[article(f"Harbour news {i}") for i in range(7)])
    first = await start_search(db, chat_id=7, text="harbour", page_size=5)
    assert len(first.hits) == 5 and first.has_next
    second = await search_page(db, 7, first.search_id, 1, 5)
    assert len(second.hits) == 2 and not second.has_next
    assert {h.id for h in first.hits}.isdisjoint({h.id for h in second.hits})
    with pytest.raises(SearchExpired):
        await search_page(db, 8, first.search_id, 1, 5)
    with pytest.raises(SearchExpired):
        await search_page(db, 7, 999_999, 0, 5)


async def test_week_old_searches_are_forgotten(db: Database) -> None:
    from bot.services.search import SEARCH_TTL, forget_old_searches

    await store(db, *[article(f"Harbour news {i}") for i in range(7)])
    old = await start_search(db, chat_id=7, text="harbour", page_size=5, now=1_000)
    fresh = await start_search(db, chat_id=7, text="harbour", page_size=5, now=1_000 + SEARCH_TTL)
    assert await forget_old_searches(db, now=1_001 + SEARCH_TTL) == 1
    with pytest.raises(SearchExpired):
        await search_page(db, 7, old.search_id, 1, 5)
    assert (await search_page(db, 7, fresh.search_id, 1, 5)).hits
