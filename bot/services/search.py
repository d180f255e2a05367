"""Search: any text a reader types becomes a safe FTS5 query, ranked by bm25.

Reader syntax (everything else is plain words):
  words            all must match (a porter stemmer folds "elections" into "election")
  "a phrase"       the words next to each other
  word*            a prefix
  -word            must not match, when the hyphen starts the query or follows a space;
                   a search of excluded words only is no search (see ``only_excluded``)
  hat-trick        a hyphen inside a word joins: the parts as a phrase ("hat trick")
  a OR b           either side
Raw FTS5 syntax never reaches the database, so no input is a syntax error.

SQLite ranks with its search index (``storage.search_index``, tantivy) over the whole archive.
Without it (FTS5 alone, or PostgreSQL), very broad queries rank only the newest articles: a
word in every article would otherwise make the database score the whole archive. The newest
window with enough matches is chosen on the first page and kept with the saved search so
every page ranks the same set.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot import metrics
from storage import search as search_store
from storage import search_index
from storage.db import Database

MAX_QUERY_CHARS = 4_096
MAX_TERMS = 16
MAX_WORD = 64
# Windows of newest articles tried in turn; 0 means the whole archive.
WINDOWS = (20_000, 200_000, 0)
ENOUGH = 50  # matches in a window that make it worth ranking just that window
SEARCH_TTL = 7 * 24 * 3600

# A phrase in quotes, or a word: "-" makes it an exclusion only at the start of the query or
# after a space, since inside a word ("hat-trick", "COVID-19", "Ex-PM") it joins the parts.
_TOKEN = re.compile(r'"([^"]*)"?|((?<!\S)-)?([^\W_]+(?:[-\u2010\u2011][^\W_]+)*)(\*?)')
_WORD = re.compile(r"[^\W_]+")


def _phrase(text: str) -> str:
    """The words of ``text`` as one quoted FTS5 string (a phrase when there are several)."""
    return '"' + " ".join(w[:MAX_WORD] for w in _WORD.findall(text)[:MAX_TERMS]) + '"'


def _terms(text: str) -> tuple[list[list[str]], list[str]]:
    """OR-separated groups of AND-ed FTS5 terms, and the excluded terms, in reader input."""
    groups: list[list[str]] = [[]]
    excluded: list[str] = []
    terms = 0
    for match in _TOKEN.finditer(text[:MAX_QUERY_CHARS]):
        phrase, minus, word, star = match.groups()
        if terms >= MAX_TERMS:
            break
        if phrase is not None:
            if _WORD.search(phrase):
                groups[-1].append(_phrase(phrase))
                terms += 1
            continue
        if word == "OR" and not minus:
            if groups[-1]:
                groups.append([])
            continue
        if word in ("AND", "NOT", "NEAR") and not minus:
            continue
        term = _phrase(word) + ("*" if star else "")
        (excluded if minus else groups[-1]).append(term)
        terms += 1
    return [g for g in groups if g], excluded


def build_fts_query(text: str) -> str | None:
    """Turn reader input into an FTS5 MATCH expression, or None when it holds no words."""
    groups, excluded = _terms(text)
    if not groups:
        return None
    query = " OR ".join("(" + " AND ".join(g) + ")" if len(g) > 1 else g[0] for g in groups)
    if len(groups) > 1 and excluded:
        query = f"({query})"
    for term in excluded:
        query += f" NOT {term}"
    return query


def only_excluded(text: str) -> bool:
    """Whether ``text`` names words to leave out but none to look for (``-flood``).

    FTS5 cannot search for "everything but": such a query needs its own answer, not the one
    for text without any words.
    """
    groups, excluded = _terms(text)
    return not groups and bool(excluded)


@dataclass(frozen=True, slots=True)
class SearchPage:
    search_id: int
    query: str
    page: int
    hits: list[search_store.SearchHit]
    has_next: bool


class SearchExpired(LookupError):
    """The saved search a button points at is gone or belongs to another chat."""


async def start_search(
    db: Database, chat_id: int, text: str, page_size: int, now: int | None = None
) -> SearchPage | None:
    """Run a new search for a chat; None when the text holds nothing searchable."""
    fts = build_fts_query(text)
    if fts is None:
        return None
    with metrics.SEARCH_SECONDS.time():
        min_rowid = await choose_window(db, fts)
        now = int(time.time()) if now is None else now
        search_id = await search_store.save_search(db, chat_id, text, min_rowid, now)
        saved = search_store.SavedSearch(search_id, chat_id, text, min_rowid, now)
        return await _page(db, saved, fts, 0, page_size)


async def choose_window(db: Database, fts: str) -> int:
    """The lowest article id worth ranking for ``fts`` (0: the whole archive).

    Shared by /search and inline mode, so both rank the same set for the same words. SQLite's
    search index ranks the whole archive in a few milliseconds, so with it there is no window
    (and no probe); FTS5 and PostgreSQL rank the newest window with enough matches.
    """
    if await search_index.serves(db):
        return 0
    newest = await search_store.newest_rowid(db)
    for window in WINDOWS:
        if window == 0 or newest <= window:
            return 0
        min_rowid = newest - window + 1
        if await search_store.has_matches(db, fts, min_rowid=min_rowid, at_least=ENOUGH):
            return min_rowid
    return 0


async def find(
    db: Database, text: str, page: int, page_size: int, now: int | None = None
) -> SearchPage | None:
    """A page of results for ``text`` without saving the search: the Mini App searches as the
    reader types, and keeps the query itself. Same window, syntax and ranking as /search."""
    fts = build_fts_query(text)
    if fts is None:
        return None
    now = int(time.time()) if now is None else now
    with metrics.SEARCH_SECONDS.time():
        saved = search_store.SavedSearch(0, 0, text, await choose_window(db, fts), now)
        return await _page(db, saved, fts, max(page, 0), page_size)


async def search_page(
    db: Database, chat_id: int, search_id: int, page: int, page_size: int
) -> SearchPage:
    """Another page of a saved search (a ◀ ▶ button)."""
    saved = await search_store.get_search(db, search_id)
    fts = build_fts_query(saved.query) if saved else None
    if saved is None or saved.chat_id != chat_id or fts is None or page < 0:
        raise SearchExpired(search_id)
    return await _page(db, saved, fts, page, page_size)


async def _page(
    db: Database, saved: search_store.SavedSearch, fts: str, page: int, page_size: int
) -> SearchPage:
    hits = await search_store.search_articles(
        db,
        fts,
        min_rowid=saved.min_rowid,
        limit=page_size + 1,
        offset=page * page_size,
        now=saved.created_at,
        peek=True,
    )
    return SearchPage(
        search_id=saved.id,
        query=saved.query,
        page=page,
        hits=hits[:page_size],
        has_next=len(hits) > page_size,
    )


async def forget_old_searches(db: Database, now: int | None = None) -> int:
    now = int(time.time()) if now is None else now
    return await search_store.forget_searches_before(db, now - SEARCH_TTL)
