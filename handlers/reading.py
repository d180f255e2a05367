"""Reader commands and buttons: /start, /help, /latest, /search, and list/article taps."""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import rendering
from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering_webapp import with_app_button
from bot.sender import reply, show
from bot.services import reading, search, stats

log = logging.getLogger(__name__)


def command_argument(update: Update) -> str:
    """The raw text after the command (quotes and spacing kept, unlike ``context.args``)."""
    text = update.effective_message.text or "" if update.effective_message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def with_app(
    update: Update, context: HeraldContext, rendered: rendering.Rendered
) -> rendering.Rendered:
    """In a private chat, the "Open Herald" Mini App button under the reply (when configured)."""
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        return rendered
    return with_app_button(rendered, context.services.settings.webapp_url)


async def start(update: Update, context: HeraldContext) -> None:
    """Greet the reader with what Herald does."""
    text = rendering.help_text(context.bot.username)
    await reply(update.effective_message, with_app(update, context, rendering.Rendered(text)))


async def latest(update: Update, context: HeraldContext) -> None:
    """First page of /latest, or of /latest TOPIC."""
    db, size = context.services.db, context.services.settings.page_size
    name = command_argument(update)
    topic_id = None
    if name:
        try:
            topic_id = (await reading.find_topic(db, name)).id
        except reading.UnknownTopic as exc:
            text = rendering.unknown_topic(exc.name, exc.suggestions)
            await reply(update.effective_message, rendering.Rendered(text))
            return
    page = await reading.latest_page(db, topic_id, 0, size)
    await reply(update.effective_message, with_app(update, context, rendering.latest(page, size)))


async def search_command(update: Update, context: HeraldContext) -> None:
    """First page of /search QUERY."""
    query = command_argument(update)
    if not query:
        await reply(update.effective_message, rendering.Rendered(_(rendering.SEARCH_USAGE)))
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
        await reply(update.effective_message, rendering.Rendered(_(rendering.NOTHING_TO_SEARCH)))
        return
    await reply(update.effective_message, rendering.search_results(page, size))


async def button(update: Update, context: HeraldContext) -> None:
    """A tap on a list or article button: edit the same message to what was asked for."""
    query = update.callback_query
    action = rendering.parse_callback(query.data or "")
    rendered = await _render_action(action, update, context) if action else None
    if rendered is None:
        log.info("expired or forged button %r from user %s", query.data, query.from_user.id)
        await query.answer(_(rendering.EXPIRED))
        return
    await query.answer()
    await show(query, rendered)


async def _render_action(
    action: rendering.OpenArticle | rendering.Navigate, update: Update, context: HeraldContext
) -> rendering.Rendered | None:
    db, size = context.services.db, context.services.settings.page_size
    if isinstance(action, rendering.OpenArticle):
        view = await reading.open_article(db, action.article_id)
        if view is None:
            return None
        await stats.count_tap(db, action.article_id)  # "most read" and per-article figures
        return rendering.article(view, action.origin)
    origin = action.origin
    if origin.kind == rendering.LATEST:
        page = await reading.latest_page(db, origin.key, origin.page, size)
        return None if page is None else with_app(update, context, rendering.latest(page, size))
    chat_id = update.effective_chat.id if update.effective_chat else 0
    try:
        found = await search.search_page(db, chat_id, origin.key or 0, origin.page, size)
    except search.SearchExpired:
        return None
    return rendering.search_results(found, size)


def register(app: Application) -> None:
    app.add_handler(CommandHandler(["start", "help"], start))
    app.add_handler(CommandHandler("latest", latest))
    app.add_handler(CommandHandler("search", search_command))
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, search_text)
    )
    app.add_handler(CallbackQueryHandler(button, pattern=rendering.CALLBACK_PATTERN))
