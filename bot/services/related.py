"""Related stories: "more like this" by tf-idf keywords, computed when an article is stored.

Each article keeps its ``KEYWORDS`` most distinctive terms (tf-idf, L2-normalised). Its related
stories are the published articles whose keywords overlap most (dot product), found through
the keyword index by reading a bounded number of recent postings per term, so the cost per
article stays flat as the archive grows. A newcomer is also offered to the lists of the
articles it matches, which is how older articles gain newer related stories.

Only the text is used (title counted twice, summary, body): topics are left out on purpose,
so the quality benchmark can use the BBC categories as independent ground truth.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from storage import related as related_store
from storage.db import Database

KEYWORDS = 30  # terms kept per article
QUERY_TERMS = 12  # of which the strongest look for matches (the cost of a lookup)
KEEP = 6  # related stories stored per article (spares for retractions)
OFFER_TO = 8  # how many of a newcomer's matches may take it into their own lists
SHOWN = 4  # related buttons under an article
# Below this similarity two articles share words, not a story: better no button than a bad one.
MIN_SCORE = 0.1

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORDS = frozenset(
    """
    about above after again against all also although among and another any are around
    back because been before being below between both but can could did does doing down
    during each even ever every few first for from further get gets got had has have having
    her here hers herself him himself his how however into its itself just last later least
    less like made make many may more most much must new next not now off often once one
    only other our ours out over own per said same say says see set she should since some
    still such than that the their theirs them themselves then there these they this those
    though three through thus too two under until upon very was way well were what when
    where whether which while who whom whose why will with within without would yet you
    your yours year years time told people mr mrs ms also week told just
    """.split()
)


@dataclass(frozen=True, slots=True)
class Document:
    """The text of a stored article, as the related index reads it."""

    id: int
    title: str
    summary: str
    body: str


def term_counts(doc: Document) -> Counter[str]:
    """Lower-cased content words of an article; title words count double."""
    counts: Counter[str] = Counter()
    for text, times in ((doc.title, 2), (doc.summary, 1), (doc.body, 1)):
        for word in _WORD.findall(text.lower()):
            if word not in _STOPWORDS:
                counts[_stem(word)] += times
    return counts


# Term counts as they cross from the import's worker process: the terms joined by spaces (a
# term is letters only) and their counts in the same order. Pickling that is ~20 times
# cheaper than pickling a ``Counter`` of ~80 short strings.
PackedCounts = tuple[str, list[int]]


def pack_counts(counts: Mapping[str, int]) -> PackedCounts:
    return " ".join(counts), list(counts.values())


def unpack_counts(packed: PackedCounts) -> dict[str, int]:
    terms, numbers = packed
    return dict(zip(terms.split(), numbers, strict=True)) if terms else {}


def _stem(word: str) -> str:
    """Fold the commonest English plural so 'strikes' and 'strike' are one term."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def keyword_weights(
    counts: Mapping[str, int], docs: int, df: dict[str, int], k: int = KEYWORDS
) -> dict[str, float]:
    """The ``k`` highest tf-idf terms, L2-normalised."""
    scored = []
    for term, tf in counts.items():
        # A term only this article has (a new name, say) is kept: the story's next article
        # will share it, and keywords are not recomputed later. Counted as if seen twice so a
        # typo cannot outweigh the words that link this article to earlier ones.
        freq = max(df.get(term, 2), 2)
        idf = math.log((docs + 1) / freq)
        if idf <= 0:
            continue
        scored.append(((1 + math.log(tf)) * idf, term))
    scored.sort(reverse=True)
    top = scored[:k]
    norm = math.sqrt(sum(weight * weight for weight, _ in top)) or 1.0
    return {term: weight / norm for weight, term in top}


@dataclass(slots=True)
class ImportPostings:
    """An archive import's in-memory copy of the keyword postings that matching reads.

    ``score_candidates`` asks the database, per article, for the newest ``POSTINGS_PER_TERM``
    postings of each of its strongest terms; at a million articles that one statement per
    article was a third of the import. An import keeps those postings here instead: a term's
    are read once (on its first use) and then followed as each batch adds keywords, so the
    dot products are sums over the same postings, checked against the same published status
    and ordered the same way (tests/test_related_import.py compares both on the BBC corpus).
    Keywords other writers add meanwhile (a running Herald's feeds) are read at the start of
    each batch. Memory: at most twice ``POSTINGS_PER_TERM`` postings (16 bytes each) per term.
    """

    ids: dict[str, array] = field(default_factory=dict)  # term -> article ids, ascending
    weights: dict[str, array] = field(default_factory=dict)  # term -> weights, same order
    known_max: int | None = None  # every keyword of articles up to this id is followed

    def _append(self, rows: Iterable[tuple[str, int, float]]) -> None:
        ids, weights = self.ids, self.weights
        keep = related_store.POSTINGS_PER_TERM
        for term, article_id, weight in rows:
            term_ids = ids.get(term)
            if term_ids is None:
                continue  # not read yet: its first read will see this row in the database
            term_ids.append(article_id)
            term_weights = weights[term]
            term_weights.append(weight)
            if len(term_ids) >= 2 * keep:
                del term_ids[:-keep]
                del term_weights[:-keep]

    async def follow(
        self, db: Database, rows: Sequence[tuple[str, int, float]], terms: Iterable[str]
    ) -> None:
        """Take in a batch's keyword ``rows`` and read the ``terms`` not held yet.

        Call before the rows are stored: what other writers stored since the last batch is
        read first, then the new terms' postings, then ``rows`` go on top (their ids are the
        newest).
        """
        if self.known_max is not None:
            self._append(await related_store.keywords_after(db, self.known_max))
        missing = [term for term in dict.fromkeys(terms) if term not in self.ids]
        if missing:
            for term, postings in (await related_store.newest_postings(db, missing)).items():
                self.ids[term] = array("q", (p[0] for p in postings))
                self.weights[term] = array("d", (p[1] for p in postings))
        self._append(rows)
        self.known_max = max((article_id for _, article_id, _ in rows), default=self.known_max)

    def candidates(
        self, weights: Mapping[str, float], *, exclude: int, limit: int
    ) -> list[tuple[int, float]]:
        """The best ``limit`` + STATUS_CHECKED_EXTRA of ``score_candidates``' aggregate, before
        its status check: the same postings, products and order.

        The sums run in numpy (an import matches ~1,200 postings per article: in a Python
        loop that was a quarter of a 1M import). ``bincount`` adds each candidate's products
        in the order the terms are given, as the loop did, so the scores are bit-identical.
        """
        if not weights:
            return []
        # Imported here: only an archive import matches in memory, and numpy would cost every
        # bot process 0.1 s at start and 16 MB it never uses.
        import numpy as np

        keep = related_store.POSTINGS_PER_TERM
        # Views of the arrays' buffers, copied by ``concatenate`` and then dropped: an array
        # with a live view could not grow (``_append``).
        id_parts = [np.frombuffer(self.ids[term], dtype=np.int64)[-keep:] for term in weights]
        products = [
            np.frombuffer(self.weights[term], dtype=np.float64)[-keep:] * query_weight
            for term, query_weight in weights.items()
        ]
        found, where = np.unique(np.concatenate(id_parts), return_inverse=True)
        del id_parts
        scores = np.bincount(where, weights=np.concatenate(products))
        others = found != exclude
        found, scores = found[others], scores[others]
        wanted = limit + related_store.STATUS_CHECKED_EXTRA
        if len(scores) > wanted:  # the cut-off score first, then order the few above it
            cut = np.partition(scores, -wanted)[-wanted]
            above = scores >= cut
            found, scores = found[above], scores[above]
        best = list(zip(found.tolist(), scores.tolist(), strict=True))
        best.sort(key=lambda item: (item[1], item[0]), reverse=True)
        return best[:wanted]


async def index_documents(
    db: Database,
    docs: Sequence[Document],
    postings: ImportPostings | None = None,
    counts: Sequence[Mapping[str, int]] | None = None,
) -> None:
    """Add ``docs`` to the related index and compute their related stories.

    All of ``docs`` count in the statistics and carry keywords before any is matched, so a
    batch's articles can be each other's related stories. Run inside the caller's transaction.
    An import passes its ``postings`` so that matching reads memory instead of the database;
    the related stories found are the same. ``counts``, when given, are ``term_counts`` of
    ``docs`` already counted (by an import's worker process).
    """
    if counts is None:
        counts = [term_counts(doc) for doc in docs]
    df_delta: Counter[str] = Counter()
    for c in counts:
        df_delta.update(c.keys())
    await related_store.add_document_frequencies(db, df_delta, len(docs))
    total, df = await related_store.document_frequencies(db, df_delta.keys())
    weights = [keyword_weights(c, total, df) for c in counts]
    rows = [
        (term, doc.id, weight)
        for doc, w in zip(docs, weights, strict=True)
        for term, weight in w.items()
    ]
    queries = [dict(sorted(w.items(), key=lambda item: -item[1])[:QUERY_TERMS]) for w in weights]
    if postings is not None:
        await postings.follow(db, rows, (term for q in queries for term in q))
    await related_store.add_keywords(db, rows)
    limit = max(KEEP, OFFER_TO)
    if postings is None:
        found = [
            await related_store.score_candidates(db, strongest, exclude=doc.id, limit=limit)
            for doc, strongest in zip(docs, queries, strict=True)
        ]
    else:
        best = [
            postings.candidates(strongest, exclude=doc.id, limit=limit)
            for doc, strongest in zip(docs, queries, strict=True)
        ]
        batch = {doc.id for doc in docs}  # stored published in this very transaction
        published = batch | await related_store.published_among(
            db, {article_id for b in best for article_id, _ in b} - batch
        )
        found = [[m for m in b if m[0] in published][:limit] for b in best]
    own: list[tuple[int, int, float]] = []
    offers: list[tuple[int, int, float]] = []
    for doc, matches in zip(docs, found, strict=True):
        matches = [(other, score) for other, score in matches if score >= MIN_SCORE]
        own.extend((doc.id, other, score) for other, score in matches[:KEEP])
        offers.extend((other, doc.id, score) for other, score in matches[:OFFER_TO])
    await related_store.add_related(db, own)
    await related_store.offer_related(db, offers, keep=KEEP)


async def related_ids(db: Database, article_id: int, limit: int = SHOWN) -> list[int]:
    return await related_store.related_ids(db, article_id, limit=limit)


async def similar_to(db: Database, doc: Document, limit: int = SHOWN) -> list[int]:
    """Related stories for a text not stored yet (an editor's preview), reading only.

    The same scoring as ``index_documents``, with the text counted as if it were stored, so
    the preview shows the buttons the published article will get.
    """
    counts = term_counts(doc)
    total, df = await related_store.document_frequencies(db, counts.keys())
    weights = keyword_weights(counts, total + 1, {t: df.get(t, 0) + 1 for t in counts})
    strongest = dict(sorted(weights.items(), key=lambda item: -item[1])[:QUERY_TERMS])
    matches = await related_store.score_candidates(db, strongest, exclude=doc.id, limit=KEEP)
    return [other for other, score in matches if score >= MIN_SCORE][:limit]
