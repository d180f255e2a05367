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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

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


def _stem(word: str) -> str:
    """Fold the commonest English plural so 'strikes' and 'strike' are one term."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def keyword_weights(
    counts: Counter[str], docs: int, df: dict[str, int], k: int = KEYWORDS
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


async def index_documents(db: Database, docs: Sequence[Document]) -> None:
    """Add ``docs`` to the related index and compute their related stories.

    All of ``docs`` count in the statistics and carry keywords before any is matched, so a
    batch's articles can be each other's related stories. Run inside the caller's transaction.
    """
    counts = [term_counts(doc) for doc in docs]
    df_delta: Counter[str] = Counter()
    for c in counts:
        df_delta.update(c.keys())
    await related_store.add_document_frequencies(db, df_delta, len(docs))
    total, df = await related_store.document_frequencies(db, df_delta.keys())
    weights = [keyword_weights(c, total, df) for c in counts]
    await related_store.add_keywords(
        db,
        [
            (term, doc.id, weight)
            for doc, w in zip(docs, weights, strict=True)
            for term, weight in w.items()
        ],
    )
    own: list[tuple[int, int, float]] = []
    offers: list[tuple[int, int, float]] = []
    for doc, w in zip(docs, weights, strict=True):
        strongest = dict(sorted(w.items(), key=lambda item: -item[1])[:QUERY_TERMS])
        matches = await related_store.score_candidates(
            db, strongest, exclude=doc.id, limit=max(KEEP, OFFER_TO)
        )
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
