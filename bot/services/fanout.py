"""Fan-out: a published article becomes one outbox row for every chat that wants it (the
first chunk at once, the rest queued by the delivery worker ahead of sending)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from storage import outbox
from storage.db import Database

BREAKING = 10  # outbox priorities: higher goes first
CORRECTION = 5  # edits and retractions of copies already delivered
NORMAL = 0


def word_pattern(text: str) -> str:
    """' word word ': lower-case words between single spaces, for whole-word matching.

    A keyword subscription stores its phrase this way and an article's title and summary are
    turned into the same form, so "art" never matches "start" and punctuation is ignored.
    Text is NFC-normalised and combining marks count as letters, so "café" typed either way
    and Devanagari or Turkish words stay whole words.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    chars = [
        ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " " for ch in folded
    ]
    words = "".join(chars).split()
    return f" {' '.join(words)} " if words else ""


async def fan_out(
    db: Database,
    articles: Sequence[tuple[int, str, str]],
    now: int,
    priority: int = NORMAL,
    chunk: int | None = None,
) -> int:
    """Queue each (id, title, summary) for its subscribers; rows written now. Run in a
    transaction. Past an article's first ``chunk`` chats (default
    ``storage.outbox.FANOUT_CHUNK``) the rest are queued by the delivery worker
    (``storage.outbox.expand``): a publish to a million chats commits in under a second
    instead of writing a million rows first."""
    total = 0
    for article_id, title, summary in articles:
        haystack = word_pattern(f"{title}\n{summary}")
        total += await outbox.fan_out(db, article_id, haystack, priority, now, chunk)
    return total
