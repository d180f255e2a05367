"""Ingest: the one way an article enters Herald (editor post, feed item, import file).

An article is normalised, stored once (duplicates by content, URL or source id are skipped),
indexed for search by the database's triggers and for related stories here, all in one
transaction: a crash never leaves an article half stored.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.services.fanout import NORMAL, fan_out
from bot.services.related import Document, ImportPostings, index_documents
from storage import search_index
from storage.articles import NewArticle, insert_articles
from storage.db import Database

MAX_TITLE = 300
MAX_SUMMARY = 1_000
MAX_BODY = 100_000
MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 40

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Control and invisible formatting characters (C0, C1, zero-width, bidi overrides, BOM).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)


class InvalidArticle(ValueError):
    """The input cannot make an article; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """An article as a source gives it, before normalisation."""

    title: str
    summary: str = ""
    body: str = ""
    url: str | None = None
    authors: tuple[str, ...] = ()
    source: str = ""
    topics: tuple[str, ...] = ()
    image_url: str | None = None
    published_at: int | None = None
    external_id: str | None = None


@dataclass(slots=True)
class IngestResult:
    added: list[int] = field(default_factory=list)
    duplicates: int = 0


def clean_text(text: str, limit: int) -> str:
    """Normalise Unicode, drop control characters, tidy spaces; cut at ``limit`` with '…'."""
    text = unicodedata.normalize("NFC", text)
    # One pass of each pattern over the whole text (``_SPACES`` never matches a line break).
    text = _SPACES.sub(" ", _CONTROL.sub("", text.replace("\r\n", "\n")))
    lines = [line.strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def topic_name(raw: str) -> str:
    """One spelling per topic: lower case, single spaces, no leading '#'."""
    return _SPACES.sub(" ", raw.strip().lstrip("#").casefold())[:MAX_TOPIC_LENGTH].strip()


def normalise(item: ArticleInput, now: int) -> NewArticle:
    """Validate and tidy one input; raise ``InvalidArticle`` when it cannot be an article."""
    title = clean_text(item.title, MAX_TITLE).replace("\n", " ")
    if not title:
        raise InvalidArticle("an article needs a title")
    summary = clean_text(item.summary, MAX_SUMMARY)
    body = clean_text(item.body, MAX_BODY)
    url = (item.url or "").strip() or None
    if url and not url.startswith(("http://", "https://")):
        raise InvalidArticle(f"the link must start with http:// or https://, not {url[:40]!r}")
    topics = tuple(dict.fromkeys(t for t in map(topic_name, item.topics) if t))[:MAX_TOPICS]
    authors = tuple(a for a in (clean_text(a, 100) for a in item.authors) if a)
    image = (item.image_url or "").strip() or None
    return NewArticle(
        title=title,
        summary=summary,
        body=body,
        url=url,
        authors=authors,
        source=clean_text(item.source, 100),
        topics=topics,
        image_url=image if image and image.startswith(("http://", "https://")) else None,
        published_at=item.published_at if item.published_at is not None else now,
        content_hash=content_hash(title, body or summary),
        external_id=(item.external_id or None),
    )


def content_hash(title: str, text: str) -> str:
    """Equal for the same story however its spaces and letter case were typed."""
    canonical = " ".join(f"{title}\n{text}".casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def ingest(
    db: Database,
    items: Sequence[NewArticle],
    now: int | None = None,
    *,
    push: bool = False,
    priority: int = NORMAL,
    postings: ImportPostings | None = None,
    counts: Sequence[Mapping[str, int]] | None = None,
) -> IngestResult:
    """Store ``items`` (already normalised) in one transaction; skip the ones already stored.

    With ``push`` the new articles are also queued for their subscribers in the same
    transaction, so an article is never stored without its deliveries (or the reverse).
    An import passes the ``postings`` it keeps for all its batches (see ``ImportPostings``)
    and, where its worker counted them, each item's ``term_counts`` in ``counts``.
    """
    now = int(time.time()) if now is None else now
    result = IngestResult()
    async with db.transaction():
        ids = await insert_articles(db, items)
        docs = [
            Document(article_id, item.title, item.summary, item.body)
            for article_id, item in zip(ids, items, strict=True)
            if article_id is not None
        ]
        if counts is not None:  # the stored ones' (a duplicate is not indexed)
            counts = [c for i, c in zip(ids, counts, strict=True) if i is not None]
        if docs:
            await index_documents(db, docs, postings, counts)
        if push and docs:
            await fan_out(db, [(d.id, d.title, d.summary) for d in docs], now, priority)
    result.added = [doc.id for doc in docs]
    result.duplicates = len(items) - len(docs)
    if docs:  # SQLite's search index follows in the background (no-op when it is not open)
        search_index.catch_up_soon(db)
    return result
