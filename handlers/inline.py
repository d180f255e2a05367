"""Inline mode (``@Herald words`` in any chat) and the deep link that opens an article.

An inline result carries an "Open in Herald" button to ``t.me/<bot>?start=a_<id>``; the
``/start a_<id>`` it produces is handled here, ahead of the plain /start greeting (``register``
must run before ``reading.register``: PTB runs the first matching handler of a group).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, InlineQueryHandler, filters

from bot import i18n
from bot.context import HeraldContext
from bot.rendering import inline as rendering_inline
from bot.rendering import reading as pages
from bot.sender import reply
from bot.services import inline, preferences, reading, stats

log = logging.getLogger(__name__)


async def inline_query(update: Update, context: HeraldContext) -> None:
    """Answer ``@Herald query`` with matching articles (the latest for an empty query).

    The answer is personal: its buttons speak the reader's language. The reader's private chat
    with Herald has the reader's id, so a language chosen there in /settings applies here too.
    """
    query = update.inline_query
    db = context.services.db
    user = query.from_user
    i18n.set_language(await preferences.language_for(db, user.id, user.language_code))
    page = await inline.find(db, query.query, query.offset)
    empty_start = not page.items and not query.offset
    log.info(
        "inline query from user %s: %r offset %r -> %d results%s",
        user.id,
        query.query[:64],
        query.offset,
        len(page.items),
        f", next {page.next_offset!r}" if page.next_offset else "",
    )
    await query.answer(
        rendering_inline.results(page, context.bot.username),
        cache_time=inline.CACHE_SECONDS,
        is_personal=True,
        # None, not "": PTB 22's Defaults handling turns an empty string into "[]" (it takes
        # any empty sequence for a list of poll options), which a client would page on with.
        next_offset=page.next_offset or None,
        button=rendering_inline.no_matches_button() if empty_start else None,
    )


async def open_linked_article(update: Update, context: HeraldContext) -> None:
    """``/start a_<id>``: open the article as a tap on its headline in /latest would."""
    message = update.effective_message
    db = context.services.db
    parts = (message.text or "").split(maxsplit=1)
    payload = parts[1] if len(parts) > 1 else ""
    article_id = rendering_inline.parse_payload(payload)
    view = None if article_id is None else await reading.open_article(db, article_id)
    if view is None:
        log.info("deep link %r in chat %s: no such article", payload[:64], message.chat.id)
        await reply(message, rendering_inline.article_unavailable(context.bot.username))
        return
    await stats.count_tap(db, view.article.id)  # an open from a shared result is a read too
    await reply(message, pages.article(view, pages.ALL_LATEST))


def register(app: Application) -> None:
    """Register before ``reading.register`` so the deep link wins over the plain /start."""
    app.add_handler(InlineQueryHandler(inline_query))
    app.add_handler(
        CommandHandler(
            "start",
            open_linked_article,
            filters=filters.Regex(rendering_inline.DEEP_LINK_PATTERN),
        )
    )
