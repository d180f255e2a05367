"""Reader commands and buttons: /start, /help, /latest, /search, and list/article taps."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering import base
from bot.rendering import inline as rendering_inline
from bot.rendering import reading as pages
from bot.rendering.webapp import with_app_button
from bot.sender import reply, show, show_below
from bot.services import chats, reading, search, stats

log = logging.getLogger(__name__)


def command_argument(update: Update) -> str:
    """The raw text after the command (quotes and spacing kept, unlike ``context.args``)."""
    text = update.effective_message.text or "" if update.effective_message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def with_app(update: Update, context: HeraldContext, rendered: base.Rendered) -> base.Rendered:
    """In a private chat, the "Open Herald" Mini App button under the reply (when configured)."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return rendered
    return with_app_button(rendered, context.services.settings.webapp_url)


async def start(update: Update, context: HeraldContext) -> None:
    """Greet the reader with what Herald does."""
    text = pages.help_text(context.bot.username)
    await reply(update.effective_message, with_app(update, context, base.Rendered(text)))


async def latest(update: Update, context: HeraldContext) -> None:
    """First page of /latest, or of /latest TOPIC."""
    db, size = context.services.db, context.services.settings.page_size
    name = command_argument(update)
    topic_id = None
    if name:
        try:
            topic_id = (await reading.find_topic(db, name)).id
        except reading.UnknownTopic as exc:
            text = pages.unknown_topic(exc.name, exc.suggestions)
            await reply(update.effective_message, base.Rendered(text))
            return
    page = await reading.latest_page(db, topic_id, 0, size)
    await reply(update.effective_message, with_app(update, context, pages.latest(page, size)))


async def search_command(update: Update, context: HeraldContext) -> None:
    """First page of /search QUERY."""
    query = command_argument(update)
    if not query:
        await reply(update.effective_message, base.Rendered(_(pages.SEARCH_USAGE)))
        return
    await _search(update, context, query)


async def search_text(update: Update, context: HeraldContext) -> None:
    """Plain text in a private chat is a search: what a reader typing a word expects."""
    await _search(update, context, update.effective_message.text or "")


async def _search(update: Update, context: HeraldContext, query: str) -> None:
    services = context.services
    size = services.settings.page_size
    page = await search.start_search(services.db, update.effective_chat.id, query, size)
    if page is None:
        excluded_only = search.only_excluded(query)
        why = _(pages.ONLY_EXCLUDED if excluded_only else pages.NOTHING_TO_SEARCH)
        await reply(update.effective_message, base.Rendered(why))
        return
    await reply(update.effective_message, pages.search_results(page, size))


async def button(update: Update, context: HeraldContext) -> None:
    """A tap on a list or article button: edit the same message to what was asked for.

    Except where that message is not the presser's alone (see ``chats.is_shared``): an article
    tapped in a group or channel opens in the presser's private chat with Herald, and a list
    under a channel post does not page. A group's own /latest or /search list still pages in
    place: the group asked for it, everyone there browses the same list, and a page is still
    that list. A tap under a draft's preview opens the story below it (``new_message``).
    """
    query = update.callback_query
    action = pages.parse_callback(query.data or "")
    chat_type = query.message.chat.type if query.message is not None else None
    if isinstance(action, pages.OpenArticle) and chats.is_shared(chat_type):
        await _open_privately(query, action.article_id, context)
        return
    if isinstance(action, pages.Navigate) and chat_type in (ChatType.CHANNEL, None):
        log.info("list button %r under a channel post from user %s", query.data, query.from_user.id)
        await query.answer(_(pages.BROWSE_PRIVATELY), show_alert=True)
        return
    rendered = await _render_action(action, update, context) if action else None
    if rendered is None:
        log.info("expired or forged button %r from user %s", query.data, query.from_user.id)
        await query.answer(_(base.EXPIRED))
        return
    await query.answer()
    if isinstance(action, pages.OpenArticle) and action.new_message:
        await show_below(query, rendered)
    else:
        await show(query, rendered)


async def _open_privately(query: CallbackQuery, article_id: int, context: HeraldContext) -> None:
    """Answer only the presser: Telegram opens their private chat with Herald, whose
    ``/start a_<id>`` shows the article (and counts the read); the shared message is untouched.

    A link rather than a message sent to them: it works for a reader who never started Herald
    (a bot cannot write first), and sends nothing the reader did not open.
    """
    username = context.bot.username
    if not username or await reading.open_article(context.services.db, article_id) is None:
        log.info("article button %r in a shared chat: no link to give", query.data)
        await query.answer(_(base.EXPIRED))
        return
    await query.answer(url=rendering_inline.deep_link(username, article_id))


async def _render_action(
    action: pages.OpenArticle | pages.Navigate, update: Update, context: HeraldContext
) -> base.Rendered | None:
    db, size = context.services.db, context.services.settings.page_size
    if isinstance(action, pages.OpenArticle):
        view = await reading.open_article(db, action.article_id)
        if view is None:
            return None
        await stats.count_tap(db, action.article_id)  # "most read" and per-article figures
        return pages.article(view, action.origin)
    origin = action.origin
    if origin.kind == base.LATEST:
        page = await reading.latest_page(db, origin.key, origin.page, size)
        return None if page is None else with_app(update, context, pages.latest(page, size))
    chat_id = update.effective_chat.id if update.effective_chat else 0
    try:
        found = await search.search_page(db, chat_id, origin.key or 0, origin.page, size)
    except search.SearchExpired:
        return None
    return pages.search_results(found, size)


def register(app: Application) -> None:
    app.add_handler(CommandHandler(["start", "help"], start))
    app.add_handler(CommandHandler("latest", latest))
    app.add_handler(CommandHandler("search", search_command))
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, search_text)
    )
    app.add_handler(CallbackQueryHandler(button, pattern=base.CALLBACK_PATTERN))
