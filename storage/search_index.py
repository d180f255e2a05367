"""SQLite's search index: a tantivy index beside the database file, fed from the database.

Why: FTS5 ranks with ``bm25()``, which visits every match of every word of a query (``the``,
``said`` and ``of`` are in nearly every article) before it can return the best five. At a
million articles that was 75 ms at p95 for a reader's ``/search``; tantivy's block-max
WAND skips what cannot reach the top, and ranks the whole archive in a few milliseconds.

What stays as it was: the database is the source of truth, and FTS5 (``articles_fts``) is
the fallback engine whenever this index cannot answer (tantivy not installed, another process
owns the index, or the index is far behind). The reader syntax is the same FTS5 expression
``bot.services.search`` builds; it is translated here. Ranking is bm25 with the title
weighted 10, the summary 4 and the body 1 (the weights FTS5 used), times the same small
freshness boost, applied over the candidates fetched (``SearchIndex.rank`` says when that is
exact). Snippets are cut here too (``Marker``), with the index's own tokenizer.

Keeping up: triggers (migration 0010) queue the id of every article that is inserted,
changed or deleted. ``catch_up`` applies the queue in order (replacing each article's
document), commits the index, and only then deletes the applied queue rows. A crash at any
point leaves rows in the queue, which are applied again at the next catch-up; an index that
is missing or unreadable is rebuilt from the articles table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import shutil
import sqlite3
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.db import SQLITE, Database

log = logging.getLogger(__name__)

try:  # an optional engine: without it SQLite searches with FTS5 alone
    import tantivy
except ImportError:  # pragma: no cover - tantivy is a declared dependency
    tantivy = None

# Field weights: bm25(articles_fts, 10.0, 4.0, 1.0) as FTS5 ranked.
WEIGHTS = {"title": 10.0, "summary": 4.0, "body": 1.0}
TOKENIZER = "herald"
APPLY_BATCH = 5_000  # queue rows applied per index commit
# A search waits for a catch-up of at most this many queued articles; a longer backlog (an
# archive import, a rebuild) is applied in the background while FTS5 answers.
INLINE_CATCH_UP = 10_000
WRITER_HEAP = 64_000_000
WRITER_THREADS = 1
BULK_HEAP = 80_000_000  # one thread: equal segments of ~100k articles, which the merge joins
BULK_THREADS = 1
BULK_COMMIT = 1_000_000  # one commit, then a merge: few segments make every search cheaper
MEMORY = ":memory:"
CANDIDATES = 160  # the most candidates a page is chosen from (see ``SearchIndex.rank``)
# The index's layout (schema, tokenizers): an index of another version is rebuilt at open.
VERSION = "herald-search 1"
VERSION_FILE = "herald-version"
_ID_MASK = (1 << 32) - 1  # article ids and dates (unix seconds) fit 32 bits until 2106

_TOKEN = re.compile(r'"([^"]*)"(\*?)|(\()|(\))|(AND|OR|NOT)')


class Unavailable(Exception):
    """This index cannot answer now; FTS5 answers instead."""


@dataclass(eq=False)
class SearchIndex:
    """One open tantivy index and the writer that keeps it up to date (one per database)."""

    path: Path | None  # None: in memory (a ``:memory:`` database)
    index: Any
    schema: Any
    analyzer: Any
    plain: Any  # the analyzer without the stemmer, for prefixes
    snippets: Any  # the analyzer keeping every word, for snippets
    writer: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    max_id: int = 0  # the highest article id in the index: newer ones need no delete
    newest: int = 0  # the latest published_at in the index: bounds the freshness boost
    background: asyncio.Task[None] | None = None
    # A read-only connection used in the event loop's own thread (see ``read_in_loop``).
    reader: sqlite3.Connection | None = None
    broken: bool = False
    behind: bool = False  # the last look found a backlog too long to wait for

    def searcher(self) -> Any:
        return self.index.searcher()

    # ------------------------------------------------------------------ queries
    def parse(self, fts_query: str) -> tuple[Any, Marker]:
        """The tantivy query for an FTS5 expression built by ``build_fts_query``, and the
        ``Marker`` that finds its words (not the excluded ones) in a text, for snippets.

        That expression is small and regular: quoted terms (``"word"``, ``"a phrase"``,
        ``"prefix"*``), ``AND``, ``OR``, ``NOT`` and parentheses, ``NOT`` binding loosest.
        """
        tokens = [m.groups() for m in _TOKEN.finditer(fts_query)]
        pos = 0
        marker = Marker(self.snippets)
        negated = False

        def peek() -> tuple[Any, ...] | None:
            return tokens[pos] if pos < len(tokens) else None

        def atom() -> Any:
            nonlocal pos
            tok = peek()
            if tok is None:
                return None
            pos += 1
            quoted, star, opening, _closing, _op = tok
            if opening:
                inner = expr()
                if peek() is not None and peek()[3]:
                    pos += 1
                return inner
            if quoted is not None:
                return self.term(quoted, bool(star), None if negated else marker)
            return None

        def conjunction() -> Any:
            nonlocal pos
            parts = [atom()]
            while (tok := peek()) is not None and tok[4] == "AND":
                pos += 1
                parts.append(atom())
            parts = [p for p in parts if p is not None]
            return _combine(tantivy.Occur.Must, parts)

        def disjunction() -> Any:
            nonlocal pos
            parts = [conjunction()]
            while (tok := peek()) is not None and tok[4] == "OR":
                pos += 1
                parts.append(conjunction())
            parts = [p for p in parts if p is not None]
            return _combine(tantivy.Occur.Should, parts)

        def expr() -> Any:
            nonlocal pos, negated
            wanted = disjunction()
            excluded = []
            while (tok := peek()) is not None and tok[4] == "NOT":
                pos += 1
                outer, negated = negated, True
                item = atom()
                negated = outer
                if item is not None:
                    excluded.append(item)
            if wanted is None or not excluded:
                return wanted
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, wanted)] + [(tantivy.Occur.MustNot, q) for q in excluded]
            )

        return expr(), marker

    def term(self, text: str, prefix: bool, marker: Marker | None = None) -> Any:
        """One quoted FTS5 term: a word, a phrase, or a prefix, in any of the three fields.

        A prefix matches what starts with the word as typed or with its stem (FTS5's porter
        tokenizer stems a prefix too: ``running*`` finds "runner").
        """
        words = text.split()
        if prefix:
            tokens = [t for w in words[:-1] for t in self.analyzer.analyze(w)]
            last = self.plain.analyze(words[-1]) if words else []
            stems = set(last) | set(self.analyzer.analyze(words[-1])) if last else set()
            starts = sorted(stems)
            tokens += last
        else:
            tokens = [t for w in words for t in self.analyzer.analyze(w)]
        if not tokens:
            return tantivy.Query.empty_query()
        if marker is not None:
            marker.add(tokens, starts if prefix else ())
        per_field = []
        for name, weight in WEIGHTS.items():
            if prefix and len(tokens) == 1:
                pattern = "(?:" + "|".join(re.escape(t) for t in starts) + ").*"
                q = tantivy.Query.regex_query(self.schema, name, pattern)
            elif prefix:
                q = tantivy.Query.phrase_prefix_query(self.schema, name, tokens)
            elif len(tokens) == 1:
                q = tantivy.Query.term_query(self.schema, name, tokens[0])
            else:
                q = tantivy.Query.phrase_query(self.schema, name, tokens)
            per_field.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, weight)))
        return tantivy.Query.boolean_query(per_field)

    def rank(
        self, query: Any, *, min_rowid: int, offset: int, limit: int, now: int, boost: float
    ) -> list[int]:
        """Article ids of one page, best first: bm25 × the freshness boost, ties newest first.

        The boost multiplies a score by at most what the newest indexed article gets, so once
        the page's last score beats that × the lowest bm25 fetched, no article left unfetched
        can move into the page; until then, more candidates are fetched, once: at most
        ``CANDIDATES`` (or 8 × the page's end). Not when the page's edge is an exact tie of
        bm25 scores that goes on past what was fetched: then the page is the newest of the
        tied articles fetched, not of all of them. Such ties are common: tantivy quantizes
        field lengths, so the same word in same-length titles scores exactly the same (the
        synthetic 1M corpus repeats each title hundreds of times), and enumerating them cost
        up to 1.5 ms a search. Past ``CANDIDATES`` the page is likewise the best of those.
        """
        ceiling = 1.0 + boost / (1.0 + max(now - self.newest, 0) / 604800.0)
        if min_rowid > 0:
            window = tantivy.Query.range_query(
                self.schema, "id", tantivy.FieldType.Integer, min_rowid, None
            )
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, window)]
            )
        searcher = self.searcher()
        need = offset + limit
        fetch = max(4 * need, 40)  # tantivy costs about the same for 40 as for 6
        while True:
            hits = searcher.search(query, limit=fetch, count=False).hits
            if not hits:
                return []
            addresses = [address for _, address in hits]
            keys = searcher.fast_field_values("key", addresses)  # one read: id and date
            ids = [key & _ID_MASK for key in keys]
            published = [key >> 32 for key in keys]
            scored = sorted(
                (
                    (score * (1.0 + boost / (1.0 + max(now - when, 0) / 604800.0)), when, i)
                    for (score, _), i, when in zip(hits, ids, published, strict=True)
                ),
                reverse=True,
            )
            complete = len(hits) < fetch
            settled = len(scored) >= need and scored[need - 1][0] > hits[-1][0] * ceiling
            tied = len(hits) >= need and hits[need - 1][0] == hits[-1][0]
            if complete or settled or tied or fetch >= max(CANDIDATES, 8 * need):
                return [i for _, _, i in scored[offset:need]]
            fetch = max(CANDIDATES, 8 * need)

    # ------------------------------------------------------------------ writing
    def _writer(self) -> Any:
        if self.writer is None:
            self.writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        return self.writer

    def bulk_writer(self) -> None:
        """Swap the writer for a larger one, for a long backlog (``close`` ends it)."""
        self.close()
        self.writer = self.index.writer(BULK_HEAP, BULK_THREADS)

    def apply(self, ids: list[int], rows: list[Any]) -> None:
        """Replace the documents of ``ids`` by ``rows`` (published articles among them)."""
        writer = self._writer()
        for article_id in ids:
            if article_id <= self.max_id:
                writer.delete_documents_by_term("id", article_id)
        for row in rows:
            doc = tantivy.Document()
            doc.add_integer("id", row[0])
            doc.add_text("title", row[1])
            doc.add_text("summary", row[2])
            doc.add_text("body", row[3])
            doc.add_unsigned("key", (min(max(row[4], 0), _ID_MASK) << 32) | row[0])
            writer.add_document(doc)
        if ids:
            self.max_id = max(self.max_id, max(ids))
        if rows:  # an edit can only lower it: a stale, higher bound only fetches a bit more
            self.newest = max(self.newest, max(row[4] for row in rows))

    def commit(self) -> None:
        self._writer().commit()
        self.index.reload()

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.wait_merging_threads()
            self.writer = None


_SNIPPET_WORD = re.compile(r"[^\W_]+")
_FOREIGN_LETTER = re.compile(r"(?![\x00-\x7f])[^\W_]")  # a letter or digit beyond ASCII
SNIPPET_TOKENS = 14  # words in a snippet, as FTS5's snippet(…, 14) gave
SNIPPET_SCAN = 20_000  # characters of a text looked at for a snippet
LEAD_SCAN = 200  # characters looked at for a text's first words
REGION = 220  # characters tokenized around the best stretch of an ASCII text
REGION_BEFORE = 50
REGION_SPREAD = 150  # query words this close together count as one stretch


class Marker:
    """Finds a query's words in a text and makes the snippet a search result shows.

    Why not FTS5's ``snippet()``: it looks every word of the query up in the index again for
    each result, which for a pasted 12-word headline cost more than ranking the whole archive.
    Here the text is tokenized as the index tokenized it (tantivy's analyzer, one call), and
    the window of ``SNIPPET_TOKENS`` words with the most different query words is shown, the
    matched words between ``start`` and ``end`` marks, "…" where the text goes on.
    """

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        self.words: dict[str, int] = {}  # stem → which query term
        self.phrases: list[tuple[int, tuple[str, ...]]] = []
        self.prefixes: list[tuple[int, tuple[str, ...]]] = []
        self.terms = 0
        # (beginning, term): what an ASCII text must contain to hold the term
        self.needles: list[tuple[str, int]] = []

    def add(self, tokens: list[str], prefix_starts: Any) -> None:
        term = self.terms
        self.terms += 1
        # a stem is a word's beginning but for its last letter or so (happy → happi); a short
        # one is the word itself (the, of, in), and shorter would find half the text
        beginnings = {t if len(t) <= 4 else t[:-1] for t in tokens} | set(prefix_starts)
        self.needles += [(b, term) for b in sorted(beginnings)]
        if prefix_starts:
            self.prefixes.append((term, tuple(prefix_starts)))
            if len(tokens) > 1:
                self.phrases.append((term, tuple(tokens[:-1])))
        elif len(tokens) == 1:
            self.words.setdefault(tokens[0], term)
        else:
            self.phrases.append((term, tuple(tokens)))

    def _tokens(self, text: str) -> tuple[list[re.Match[str]], list[str]]:
        spans = list(_SNIPPET_WORD.finditer(text))
        stems = self.analyzer.analyze(text)
        if len(stems) != len(spans):  # the tokenizers disagree on a character: word by word
            stems = [next(iter(self.analyzer.analyze(m.group())), "") for m in spans]
        return spans, stems

    def snippet(self, text: str, start: str, end: str, *, lead: bool = False) -> str | None:
        """The snippet of ``text`` around the query's words; None when none is in it, unless
        ``lead``: then its first words.

        A text whose letters are all ASCII (curly quotes and dashes may be anything) is first
        searched for the words' beginnings (``str.find``, fast), and only the stretch where
        most of them meet is cut: a long article costs no more than a short one. Each find is
        checked (``sai`` in "saint" is no ``said``); a stretch without a match after all (a
        phrase whose words are not together) sends the search over the whole text.
        """
        if not text:
            return "" if lead else None
        if not text.isascii() and _FOREIGN_LETTER.search(text):  # "é": folding moves things
            return self._cut(text, 0, SNIPPET_SCAN, start, end, lead)
        lowered = text.lower()
        found: list[tuple[int, int]] = []
        checked: dict[str, bool] = {}
        for needle, term in self.needles:
            at = lowered.find(needle)
            while at != -1 and len(found) < 256:
                if at == 0 or not lowered[at - 1].isalnum():  # a word's beginning
                    word = _SNIPPET_WORD.match(lowered, at)
                    key = word.group() if word else ""
                    if key not in checked:  # "ascent" is no match for "ascending"
                        checked[key] = self._is_match(key)
                    if checked[key]:
                        found.append((at, term))
                at = lowered.find(needle, at + 1)
        if not found:
            return _lead(text) if lead else None
        found.sort()
        best, begin = (-1, -1), 0
        count = len(found)
        for i, (at, _) in enumerate(found):
            terms = set()
            j = i
            while j < count and found[j][0] - at < REGION_SPREAD:  # sorted: stop early
                terms.add(found[j][1])
                j += 1
            score = (len(terms), j - i)
            if score > best:
                best, begin = score, at
        lo = max(0, begin - REGION_BEFORE)
        cut = self._cut(text, lo, lo + REGION, start, end, False, dict(reversed(found)))
        if cut is None:
            cut = self._cut(text, 0, SNIPPET_SCAN, start, end, lead)
        return cut

    def _is_match(self, word: str) -> bool:
        """Whether ``word`` is one of the query's words (or in one of its phrases)."""
        stems = self.analyzer.analyze(word)
        stem = stems[0] if stems else ""
        if stem in self.words or any(stem in phrase for _, phrase in self.phrases):
            return True
        return any(stem.startswith(p) or word.startswith(p) for _, p in self.prefixes)

    def _cut(
        self,
        text: str,
        lo: int,
        hi: int,
        start: str,
        end: str,
        lead: bool,
        known: dict[int, int] | None = None,
    ) -> str | None:
        """The snippet from ``text[lo:hi]`` (moved in to whole words); None without a match
        unless ``lead``. ``known``: the checked matches by position in ``text``, enough for a
        query without phrases (no tokenizing then)."""
        size = len(text)
        hi = min(hi, size)
        while 0 < lo < size and text[lo - 1].isalnum():
            lo += 1
        while lo < hi < size and text[hi].isalnum():
            hi -= 1
        piece = text[lo:hi]
        if known is not None and not self.phrases:
            spans = list(_SNIPPET_WORD.finditer(piece))
            hits = {
                i: known[lo + m.start()] for i, m in enumerate(spans) if lo + m.start() in known
            }
            return self._window(piece, spans, hits, lo, hi, size, start, end, lead)
        spans, stems = self._tokens(piece)
        hits = {}  # word position → query term
        for i, stem in enumerate(stems):
            term = self.words.get(stem)
            if term is not None:
                hits[i] = term
        for term, phrase in self.phrases:
            n = len(phrase)
            for i in range(len(stems) - n + 1):
                if stems[i] == phrase[0] and tuple(stems[i : i + n]) == phrase:
                    for j in range(i, i + n):
                        hits[j] = term
        for term, starts in self.prefixes:
            for i, match in enumerate(spans):
                word = stems[i]
                if word.startswith(starts) or match.group().lower().startswith(starts):
                    hits.setdefault(i, term)
        return self._window(piece, spans, hits, lo, hi, size, start, end, lead)

    def _window(
        self,
        piece: str,
        spans: list[re.Match[str]],
        hits: dict[int, int],
        lo: int,
        hi: int,
        size: int,
        start: str,
        end: str,
        lead: bool,
    ) -> str | None:
        """The best ``SNIPPET_TOKENS`` words of ``piece`` (``text[lo:hi]``), marked."""
        if not hits and not lead:
            return None
        first = 0
        if hits:
            best = (-1, -1)
            for i in sorted(hits):  # windows starting a little before each match
                s = max(0, min(i - 2, len(spans) - SNIPPET_TOKENS))
                inside = [hits[j] for j in range(s, s + SNIPPET_TOKENS) if j in hits]
                score = (len(set(inside)), len(inside))
                if score > best:
                    best, first = score, s
        last = min(first + SNIPPET_TOKENS, len(spans))
        if not spans:
            return piece
        out = ["…" if first > 0 or lo > 0 else piece[: spans[0].start()]]
        for i in range(first, last):
            if i > first:
                out.append(piece[spans[i - 1].end() : spans[i].start()])
            word = spans[i].group()
            out.append(f"{start}{word}{end}" if i in hits else word)
        if last < len(spans) or hi < size:
            out.append("…")
        else:
            out.append(piece[spans[-1].end() :])
        return "".join(out)


def _lead(text: str) -> str:
    """The first ``SNIPPET_TOKENS`` words of ``text`` (no query word is in it)."""
    piece = text[:LEAD_SCAN]
    spans = list(itertools.islice(_SNIPPET_WORD.finditer(piece), SNIPPET_TOKENS + 1))
    if len(spans) <= SNIPPET_TOKENS and len(text) <= LEAD_SCAN:
        return text
    if len(spans) <= SNIPPET_TOKENS:
        return piece[: spans[-1].end()] + "…" if spans else "…"
    return piece[: spans[SNIPPET_TOKENS - 1].end()] + "…"


def _combine(occur: Any, parts: list[Any]) -> Any:
    """``parts`` joined with ``occur`` (one part stands alone; none is no query)."""
    if len(parts) <= 1:
        return parts[0] if parts else None
    return tantivy.Query.boolean_query([(occur, p) for p in parts])


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=False, indexed=True, fast=True)
    for name in WEIGHTS:
        sb.add_text_field(name, stored=False, tokenizer_name=TOKENIZER)
    # published_at << 32 | id: ranking reads both for 40 candidates in one fast-field call
    sb.add_unsigned_field("key", stored=False, indexed=False, fast=True)
    return sb.build()


def _analyzers() -> tuple[Any, Any, Any]:
    """FTS5's ``porter unicode61 remove_diacritics 2``, as near as tantivy has it; the same
    without the stemmer (prefixes); the same keeping long words (snippets: a token a word)."""

    def build(stem: bool, drop_long: bool = True) -> Any:
        b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        if drop_long:
            b = b.filter(tantivy.Filter.remove_long(64))
        b = b.filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold())
        if stem:
            b = b.filter(tantivy.Filter.stemmer("english"))
        return b.build()

    return build(True), build(False), build(True, drop_long=False)


def _open(path: Path | None) -> tuple[SearchIndex, bool]:
    """Open (or create) the index at ``path``; True when it was created empty."""
    schema = _schema()
    created = path is None or not (path / "meta.json").is_file()
    if path is not None and not created:  # written by another version: rebuilt
        version = path / VERSION_FILE
        created = not version.is_file() or version.read_text().strip() != VERSION
    if path is not None:
        if created and path.exists():
            shutil.rmtree(path)
        path.mkdir(exist_ok=True)
        try:
            index = tantivy.Index(schema, path=str(path), reuse=True)
        except Exception:  # unreadable: rebuilt from the database
            log.warning("search index %s unreadable: rebuilding it", path, exc_info=True)
            shutil.rmtree(path)
            path.mkdir()
            index = tantivy.Index(schema, path=str(path), reuse=True)
            created = True
    else:
        index = tantivy.Index(schema)
    stemmed, plain, snippets = _analyzers()
    index.register_tokenizer(TOKENIZER, stemmed)
    result = SearchIndex(path, index, schema, stemmed, plain, snippets)
    index.reload()
    if not created:
        searcher = index.searcher()
        if searcher.num_docs:
            top = searcher.search(
                tantivy.Query.all_query(), limit=1, count=False, order_by_field="id"
            ).hits
            result.max_id = int(top[0][0]) if top else 0
            top = searcher.search(
                tantivy.Query.all_query(), limit=1, count=False, order_by_field="key"
            ).hits
            result.newest = int(top[0][0]) >> 32 if top else 0
    return result, created


# One index per open database; weak, so a database dropped without close() takes its entry
# along rather than leaving it to a later database that reuses its address.
_indexes: weakref.WeakKeyDictionary[Database, SearchIndex] = weakref.WeakKeyDictionary()


def index_path(db: Database) -> Path | None:
    return None if str(db.path) == MEMORY else Path(f"{db.path}.search")


async def get(db: Database) -> SearchIndex | None:
    """The open index of ``db``, opened on first use; None when SQLite's FTS5 must answer."""
    if db.backend != SQLITE or tantivy is None:
        return None
    found = _indexes.get(db)
    if found is not None:
        return None if found.broken else found
    try:  # opened in this thread: no other task can open it twice meanwhile
        index, created = _open(index_path(db))
    except Exception:
        log.warning("search index unavailable for %s; FTS5 answers", db.path, exc_info=True)
        return None
    _indexes[db] = index
    index.reader = _loop_reader(db)
    if created:  # everything goes (back) into the queue: the new index starts empty
        async with db.transaction():
            await db.execute("DELETE FROM search_queue")
            await db.execute(
                "INSERT INTO search_queue (article_id) SELECT id FROM articles ORDER BY id"
            )
        # Only now: should Herald stop before the queue was refilled, the index is still
        # without its version and is created afresh at the next start.
        if index.path is not None:
            (index.path / VERSION_FILE).write_text(VERSION + "\n")
    db.on_close(lambda: forget(db))
    return index


def forget(db: Database) -> None:
    """Close ``db``'s index (its writer lets go of the index's lock)."""
    index = _indexes.pop(db, None)
    if index is not None:
        if index.background is not None:
            index.background.cancel()
        if index.reader is not None:
            index.reader.close()
        index.close()


def _loop_reader(db: Database) -> sqlite3.Connection | None:
    """A read-only connection for searches, used only in the event loop's thread.

    Why not the reader's aiosqlite thread: a search is ranked by tantivy, which holds the
    GIL, so a thread bought no concurrency, only a hand-off each way (0.2-0.3 ms, a third of
    a rare word's whole search). The statement it runs reads a page of rows by primary key
    (~0.05 ms); WAL readers never wait for the writer.
    """
    path = index_path(db)
    if path is None:
        return None
    try:
        conn = sqlite3.connect(
            Path(db.path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False
        )
        for pragma in (
            "PRAGMA busy_timeout = 1000",
            "PRAGMA cache_size = -8192",  # KiB: the map below does the caching
            "PRAGMA mmap_size = 2147418112",
            "PRAGMA query_only = ON",
        ):
            conn.execute(pragma)
    except sqlite3.Error:
        log.warning("no search reader for %s; the reader thread serves", db.path, exc_info=True)
        return None
    return conn


async def pending(db: Database) -> int:
    """How many queue rows wait (an upper bound: ``seq`` may have gaps)."""
    # Two subqueries: SQLite reads min() and max() of a primary key in one step each, but
    # not both in one aggregate (that scans the table).
    row = await db.fetchone(
        "SELECT (SELECT min(seq) FROM search_queue), (SELECT max(seq) FROM search_queue)"
    )
    return 0 if row is None or row[0] is None else int(row[1]) - int(row[0]) + 1


async def catch_up(db: Database, index: SearchIndex, *, limit: int | None = None) -> int:
    """Apply the queue to the index; how many queue rows were applied.

    One catch-up at a time per index. A long backlog (an archive import, a rebuild) is applied
    with a larger writer that commits every ``BULK_COMMIT`` articles and then merges its
    segments, so a rebuilt index is as compact as one built in one go. Should the index
    refuse a write (another process owns it), it is marked broken and FTS5 answers from then
    on; the queue keeps every change.
    """
    applied = 0
    async with index.lock:
        bulk = await pending(db) > INLINE_CATCH_UP
        every = BULK_COMMIT if bulk else APPLY_BATCH
        try:
            if bulk:
                await asyncio.to_thread(index.bulk_writer)
            since, last = 0, 0
            while True:
                rows = []
                if limit is None or applied + since < limit:
                    rows = await db.fetchall(
                        "SELECT seq, article_id FROM search_queue WHERE seq > ? ORDER BY seq"
                        " LIMIT ?",
                        (last, APPLY_BATCH),
                    )
                if rows:
                    ids = sorted({int(r[1]) for r in rows})
                    articles = await db.fetchall(
                        "SELECT id, title, summary, body, published_at FROM articles"
                        " WHERE id IN (SELECT value FROM json_each(?)) AND status = 'published'",
                        (_json_ids(ids),),
                    )
                    await asyncio.to_thread(index.apply, ids, [tuple(r) for r in articles])
                    since += len(rows)
                    last = int(rows[-1][0])
                    if since < every:
                        continue
                if since:
                    await asyncio.to_thread(index.commit)
                    await db.execute("DELETE FROM search_queue WHERE seq <= ?", (last,))
                    applied += since
                    since = 0
                if not rows:
                    break
            if bulk:
                await asyncio.to_thread(index.close)  # merges; the next writer is the small one
        except Exception as exc:
            if isinstance(exc, sqlite3.Error):
                raise
            index.broken = True
            raise Unavailable(str(exc)) from exc
    return applied


def _json_ids(ids: list[int]) -> str:
    return "[" + ",".join(str(i) for i in ids) + "]"


def catch_up_soon(db: Database) -> None:
    """Start a background catch-up for ``db`` if its index is open and none is running."""
    index = _indexes.get(db)
    if index is None or index.broken:
        return
    if index.background is not None and not index.background.done():
        return
    index.background = asyncio.get_running_loop().create_task(_background(db, index))


async def _background(db: Database, index: SearchIndex) -> None:
    started = time.perf_counter()
    try:
        done = await catch_up(db, index)
    except Exception:  # a closed database, a lost lock: the queue keeps everything
        log.warning("search index catch-up stopped", exc_info=True)
        return
    index.behind = False
    if done:
        log.info("search index: %d changes applied in %.1f s", done, time.perf_counter() - started)


async def serves(db: Database) -> bool:
    """Whether the index (rather than FTS5) ranks ``db``'s searches: open, not known behind."""
    index = await get(db)
    return index is not None and not index.behind


async def ready(db: Database) -> SearchIndex | None:
    """The index, caught up with every committed article; None when FTS5 must answer.

    A short queue is applied before the search (the reader sees what was just stored); a long
    one (an import, a rebuild) goes on in the background while FTS5 answers.
    """
    index = await get(db)
    if index is None:
        return None
    waiting = await pending(db)
    if waiting == 0:
        index.behind = False
        return index
    if waiting > INLINE_CATCH_UP:
        index.behind = True
        catch_up_soon(db)
        return None
    index.behind = False
    try:
        await catch_up(db, index)
    except Unavailable:
        return None
    return index
