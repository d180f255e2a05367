"""Rendering for /feeds: the editors' paged feed list and the answers to add, remove and import.

Pure functions like the rest of ``bot.rendering``. Editors' texts are English (README,
"Translations"); counts agree with their nouns through ``bot.rendering.editors.count``.
The list is paged with ◀ ▶ buttons that edit the same message, as /latest does, so every
feed can be seen however many there are; failing feeds come first and are marked, each one
keeping its number (its place in the order feeds were added, which ``/feeds remove N`` uses).
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rendering.base import (
    FEEDS_PAGE,
    MAX_MESSAGE,
    Rendered,
    callback,
    escaped_within,
    is_number,
    utf16_len,
)
from bot.rendering.editors import count
from bot.services import feeds, opml

PER_PAGE = 10  # at most; fewer when long names and errors would pass 4096 characters

USAGE = (
    "<b>Feeds</b>\n"
    "<code>/feeds</code> – the feeds Herald follows\n"
    "<code>/feeds add URL [topic]</code> – follow a feed; its items get the topic\n"
    "<code>/feeds remove N</code> or <code>/feeds remove URL</code> – stop following one\n"
    "<code>/feeds export</code> – the list as an OPML file\n"
    "Send an OPML file (.opml or .xml) to follow every feed in it; a caption sets a topic."
)
EXPORT_CAPTION = "Herald's feeds as OPML. Send this file back to me to follow them all."
_TAIL = "<code>/feeds remove N</code> stops one; <code>/feeds export</code> gives an OPML file."


def problem(text: str) -> str:
    return f"⚠️ {html.escape(text)}."


def too_big(limit: int) -> str:
    return problem(f"That file is too big: I read OPML files up to {limit:,} bytes")


def import_failed(reason: str) -> str:
    return problem(f"I could not import that file: {reason}")


def _feed_name(feed: feeds.Feed) -> str:
    return f"<b>{escaped_within(feed.title or feed.url, 200)}</b>"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def added_text(added: feeds.Added) -> str:
    feed = added.feed
    topic = f" with the topic #{html.escape(feed.topic)}" if feed.topic else ""
    url = f"<code>{escaped_within(feed.url, 300)}</code>"
    if not added.new:
        return f"Herald already follows {url}{topic}."
    return (
        f"✅ Following {url}{topic}. What it lists now is stored as its archive (in /latest "
        "and search, not pushed); items it publishes from now on go to subscribers."
    )


def removed_text(feed: feeds.Feed) -> str:
    return f"🗑 No longer following {_feed_name(feed)}. Its articles stay."


def imported_text(result: opml.Imported) -> str:
    new = count(result.added, "new feed", "new feeds")
    were = "was" if result.existing == 1 else "were"
    lines = [f"📥 Following {new} ({result.existing:,} {were} followed already)."]
    if result.invalid:
        skipped = ", ".join(escaped_within(url, 80) for url in result.invalid)
        lines.append(f"Skipped addresses I could not use: {skipped}")
    return "\n".join(lines)


def _feed_block(number: int, feed: feeds.Feed, now: int) -> str:
    mark = "⚠️ " if feed.errors else ""
    topic = f" #{html.escape(feed.topic)}" if feed.topic else ""
    fetched = "not fetched yet"
    if feed.last_fetch_at is not None:
        fetched = f"last fetch {_ago(now - feed.last_fetch_at)} ago"
    errors = "no errors"
    if feed.total_errors:
        errors = f"{count(feed.total_errors, 'error', 'errors')} in all"
    lines = [
        f"{mark}{number}. {_feed_name(feed)}{topic}",
        f"<code>{escaped_within(feed.url, 300)}</code>",
        f"{fetched} · {count(feed.items, 'item', 'items')} · {errors}",
    ]
    if feed.errors:
        lines.append(
            f"failing, {feed.errors} in a row: {escaped_within(feed.last_error or '', 150)}"
            f" · next try in {_ago(feed.next_fetch_at - now)}"
        )
    return "\n".join(lines)


def _pages(blocks: list[str], budget: int) -> list[list[str]]:
    """Blocks packed in order into pages of at most ``PER_PAGE`` that fit ``budget`` units."""
    pages: list[list[str]] = [[]]
    room = budget
    for block in blocks:
        size = utf16_len(block) + 2
        if pages[-1] and (len(pages[-1]) >= PER_PAGE or size > room):
            pages.append([])
            room = budget
        pages[-1].append(block)
        room -= size
    return pages


def feed_page(listing: list[feeds.Feed], page: int, now: int) -> Rendered:
    """Page ``page`` of every feed with its last fetch, items and errors; failing ones first.

    A page past the end (feeds were removed since the button was made) shows the last one.
    """
    if not listing:
        return Rendered("Herald follows no feeds yet.\n\n" + USAGE)
    numbered = list(enumerate(listing, start=1))
    ordered = [p for p in numbered if p[1].errors] + [p for p in numbered if not p[1].errors]
    failing = sum(1 for feed in listing if feed.errors)
    head = f"<b>Feeds</b> ({len(listing):,})" + (f" · ⚠️ {failing:,} failing" if failing else "")
    budget = MAX_MESSAGE - utf16_len(head) - utf16_len(_TAIL) - 40  # 40: the page suffix
    pages = _pages([_feed_block(number, feed, now) for number, feed in ordered], budget)
    page = min(max(page, 0), len(pages) - 1)
    if len(pages) > 1:
        head += f" · page {page + 1} of {len(pages)}"
    text = "\n\n".join([head, *pages[page], _TAIL])
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀ Previous", callback_data=callback(FEEDS_PAGE, page - 1)))
    if page < len(pages) - 1:
        row.append(InlineKeyboardButton("Next ▶", callback_data=callback(FEEDS_PAGE, page + 1)))
    return Rendered(text, InlineKeyboardMarkup([row]) if row else None)


def parse_feeds_button(data: str) -> int | None:
    """The page a feed-list button asks for; None for data Herald did not make."""
    kind, _, page = data.partition(":")
    if kind != FEEDS_PAGE or not is_number(page) or len(page) > 6:
        return None
    return int(page)
