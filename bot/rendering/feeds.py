"""Rendering for /feeds: the feed list with fetch state and errors, and the replies to editors.

Editors' texts are English by design (like ``bot.rendering.editors``). Every text is escaped
and kept within Telegram's 4096 characters.
"""

from __future__ import annotations

import html

from bot.rendering.base import MAX_MESSAGE, escaped_within, utf16_len
from bot.services import feeds, opml

USAGE = (
    "<b>Feeds</b>\n"
    "<code>/feeds</code> – the feeds Herald follows\n"
    "<code>/feeds add URL [topic]</code> – follow a feed; its items get the topic\n"
    "<code>/feeds remove N</code> or <code>/feeds remove URL</code> – stop following one\n"
    "<code>/feeds export</code> – the list as an OPML file\n"
    "Send an OPML file (.opml or .xml) to follow every feed in it; a caption sets a topic."
)

EXPORT_CAPTION = "Herald's feeds as OPML. Send this file back to me to follow them all."


def removed(feed: feeds.Feed) -> str:
    return f"🗑 No longer following {_feed_name(feed)}. Its articles stay."


def too_big(limit: int) -> str:
    return problem(f"That file is too big: I read OPML files up to {limit:,} bytes")


def import_failed(reason: str) -> str:
    return problem(f"I could not import that file: {reason}")



def problem(text: str) -> str:
    return f"⚠️ {html.escape(text)}."


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
    return f"✅ Following {url}{topic}. Its new items will arrive with the next poll."


def imported_text(result: opml.Imported) -> str:
    lines = [f"📥 Following {result.added} new feeds ({result.existing} were followed already)."]
    if result.invalid:
        skipped = ", ".join(escaped_within(url, 80) for url in result.invalid)
        lines.append(f"Skipped addresses I could not use: {skipped}")
    return "\n".join(lines)


def _feed_block(number: int, feed: feeds.Feed, now: int) -> str:
    topic = f" #{html.escape(feed.topic)}" if feed.topic else ""
    fetched = "not fetched yet"
    if feed.last_fetch_at is not None:
        fetched = f"last fetch {_ago(now - feed.last_fetch_at)} ago"
    errors = "no errors" if not feed.total_errors else f"{feed.total_errors} errors in all"
    lines = [
        f"{number}. {_feed_name(feed)}{topic}",
        f"<code>{escaped_within(feed.url, 300)}</code>",
        f"{fetched} · {feed.items} items · {errors}",
    ]
    if feed.errors:
        lines.append(
            f"⚠️ failing, {feed.errors} in a row: {escaped_within(feed.last_error or '', 150)}"
            f" · next try in {_ago(feed.next_fetch_at - now)}"
        )
    return "\n".join(lines)


def feed_list(listing: list[feeds.Feed], now: int) -> str:
    """Every feed with its last fetch, items and errors, cut to fit one message."""
    if not listing:
        return "Herald follows no feeds yet.\n\n" + USAGE
    head = f"<b>Feeds</b> ({len(listing)})"
    tail = "\n\n<code>/feeds remove N</code> stops one; <code>/feeds export</code> lists all."
    blocks: list[str] = []
    budget = MAX_MESSAGE - utf16_len(head) - utf16_len(tail) - 80
    for number, feed in enumerate(listing, start=1):
        block = _feed_block(number, feed, now)
        if utf16_len(block) + 2 > budget:
            blocks.append(f"… and {len(listing) - number + 1} more.")
            break
        blocks.append(block)
        budget -= utf16_len(block) + 2
    return "\n\n".join([head, *blocks]) + tail
