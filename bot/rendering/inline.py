"""Rendering for inline mode and deep links: articles as results to share, and /start payloads.

Pure functions, no I/O. Every result fits Telegram's limits whatever the article holds: the
shared text is escaped HTML within 4096 units, the result id is a few bytes, titles and
descriptions are cut to what a phone shows in the results list.

Deep links. Herald's "Open in Herald" button is ``https://t.me/<bot>?start=a_<id>``: Telegram
opens the private chat with the bot and sends ``/start a_<id>`` when the reader taps Start.
The payload is ``a_`` and the article id in ASCII digits (Telegram allows 64 characters of
``[A-Za-z0-9_-]``; ``a_`` leaves room for other kinds of payload later). ``inline`` is the
payload of the button over an empty result list: it opens Herald at its greeting.
"""

from __future__ import annotations

import html
import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)

from bot.i18n import _
from bot.rendering import push, reading
from bot.rendering.base import Rendered, escaped_within, shorten
from bot.services.inline import InlineItem, InlinePage
from storage.articles import Article
from storage.search import MATCH_END, MATCH_START

ARTICLE_PAYLOAD = "a_"
GREETING_PAYLOAD = "inline"
# What the deep-link handler takes: "/start a_…" (addressed or not); the rest is parsed here,
# so a garbled "a_" payload still gets a friendly answer instead of the bare greeting.
DEEP_LINK_PATTERN = r"^/start(?:@[A-Za-z0-9_]+)?[ \t]+a_"
_PAYLOAD = re.compile(r"a_([0-9]{1,18})")

MAX_TITLE = 120  # units; a results list shows two lines at most
MAX_DESCRIPTION = 200
MAX_SHARED_TITLE = 500
MAX_SHARED_LEAD = 1_000
MAX_SOURCE_LABEL = 100
_WEB_URL = re.compile(r"https?://\S+")


def deep_link(bot_username: str, article_id: int) -> str:
    """The t.me link that opens ``article_id`` in a private chat with Herald."""
    return f"https://t.me/{bot_username}?start={ARTICLE_PAYLOAD}{article_id}"


def parse_payload(payload: str) -> int | None:
    """The article id of a ``/start`` payload Herald wrote; None for anything else."""
    match = _PAYLOAD.fullmatch(payload.strip())
    return int(match.group(1)) if match else None


def lead(article: Article, limit: int) -> str:
    """The article's opening as plain text: its summary, else its body's first paragraph."""
    text = (article.summary or article.body).strip().split("\n", 1)[0]
    return shorten(" ".join(text.split()), limit)


def _plain_snippet(snippet: str, limit: int) -> str:
    plain = snippet.replace(MATCH_START, "").replace(MATCH_END, "")
    return shorten(" ".join(plain.split()), limit)


def shared_text(article: Article) -> str:
    """What lands in the chat when the result is chosen: headline, lead, link to the source."""
    lines = [f"<b>{escaped_within(article.title, MAX_SHARED_TITLE)}</b>"]
    opening = lead(article, MAX_SHARED_LEAD)
    if opening:
        lines.append(html.escape(opening, quote=False))
    if article.url:
        label = escaped_within(article.source or _("Read at the source"), MAX_SOURCE_LABEL)
        lines.append(f'<a href="{html.escape(article.url, quote=True)}">{label}</a>')
    return "\n\n".join(lines)


def open_button(bot_username: str | None, article_id: int) -> InlineKeyboardMarkup | None:
    if not bot_username:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Open in Herald"), url=deep_link(bot_username, article_id))]]
    )


def result(item: InlineItem, bot_username: str | None) -> InlineQueryResultArticle:
    """One article as a result: the snippet that matched (a search) or the lead describes it."""
    article = item.article
    if item.snippet:
        description = _plain_snippet(item.snippet, MAX_DESCRIPTION)
    else:
        description = lead(article, MAX_DESCRIPTION)
    image = (
        article.image_url if article.image_url and _WEB_URL.fullmatch(article.image_url) else None
    )
    return InlineQueryResultArticle(
        id=f"a{article.id}",
        title=shorten(" ".join(article.title.split()), MAX_TITLE) or _("Untitled"),
        description=description or None,
        input_message_content=InputTextMessageContent(
            shared_text(article),
            parse_mode="HTML",
            link_preview_options=push.push_link_preview(article),
        ),
        reply_markup=open_button(bot_username, article.id),
        thumbnail_url=image,
    )


def results(page: InlinePage, bot_username: str | None) -> list[InlineQueryResultArticle]:
    return [result(item, bot_username) for item in page.items]


def no_matches_button() -> InlineQueryResultsButton:
    """Shown over an empty list: a way into Herald rather than a dead end."""
    return InlineQueryResultsButton(_("No matches – open Herald"), start_parameter=GREETING_PAYLOAD)


def article_unavailable(bot_username: str | None) -> Rendered:
    """A deep link to an article that is gone (or never was): say so, then greet as /start."""
    line = _("Sorry, that article is no longer available.")
    return Rendered(f"{html.escape(line, quote=False)}\n\n{reading.help_text(bot_username)}")
