"""/feeds for editors: follow, list, remove, export and import (OPML) the feeds Herald polls.

Access is decided at registration: editors in a private chat reach these handlers, anyone
else's /feeds gets the editors-only refusal. The texts are built by ``bot.rendering.feeds``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.context import HeraldContext, Services
from bot.rendering import feeds as texts
from bot.rendering.base import Rendered
from bot.sender import reply
from bot.services import editors, feeds, opml
from bot.services.opml import MAX_OPML_BYTES, OpmlError
from handlers.editors import editor_filter, not_an_editor
from handlers.reading import command_argument

log = logging.getLogger(__name__)

async def feeds_command(update: Update, context: HeraldContext) -> None:
    """/feeds [add|remove|export] …: one entry point, like /subscribe."""
    verb, _, rest = command_argument(update).partition(" ")
    action = {"": show_list, "add": add, "remove": remove, "export": export}.get(verb.lower())
    if action is None:
        await reply(update.effective_message, Rendered(texts.USAGE))
        return
    await action(update, context, rest.strip())


async def show_list(update: Update, context: HeraldContext, _: str) -> None:
    listing = await feeds.list_feeds(context.services.db)
    await reply(update.effective_message, Rendered(texts.feed_list(listing, int(time.time()))))


async def add(update: Update, context: HeraldContext, argument: str) -> None:
    url, _, topic = argument.partition(" ")
    try:
        added = await feeds.add_feed(
            context.services.db, url, topic.strip() or None, update.effective_user.id
        )
    except feeds.FeedProblem as exc:
        await reply(update.effective_message, Rendered(texts.problem(str(exc))))
        return
    if added.new:
        await _audit(update, context, "feed added", added.feed.url)
    _wake_poller(context)
    await reply(update.effective_message, Rendered(texts.added_text(added)))


async def remove(update: Update, context: HeraldContext, argument: str) -> None:
    try:
        feed = await feeds.remove_feed(context.services.db, argument)
    except feeds.FeedProblem as exc:
        await reply(update.effective_message, Rendered(texts.problem(str(exc))))
        return
    await _audit(update, context, "feed removed", feed.url)
    await reply(update.effective_message, Rendered(texts.removed(feed)))


async def export(update: Update, context: HeraldContext, _: str) -> None:
    """Send the feed list as an OPML document any feed reader can import."""
    data = await opml.export_opml(context.services.db)
    await update.effective_message.reply_document(
        document=InputFile(data, filename="herald-feeds.opml"),
        caption=texts.EXPORT_CAPTION,
    )


async def import_document(update: Update, context: HeraldContext) -> None:
    """An OPML file sent by an editor: follow every feed in it (the caption is a topic)."""
    message = update.effective_message
    document = message.document
    if document.file_size and document.file_size > MAX_OPML_BYTES:
        await reply(message, Rendered(texts.too_big(MAX_OPML_BYTES)))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        result = await opml.import_opml(
            context.services.db, data, update.effective_user.id, (message.caption or "") or None
        )
    except OpmlError as exc:
        await reply(message, Rendered(texts.import_failed(str(exc))))
        return
    detail = f"{document.file_name or 'OPML'}: {result.added} added, {result.existing} known"
    await _audit(update, context, "feeds imported", detail)
    _wake_poller(context)
    await reply(message, Rendered(texts.imported_text(result)))


async def _audit(update: Update, context: HeraldContext, action: str, detail: str) -> None:
    """Feed changes are editor actions: they go to the audit log (/audit) like the others."""
    await editors.audit(
        context.services.db, update.effective_user.id, action, None, detail, int(time.time())
    )


def _wake_poller(context: HeraldContext) -> None:
    poller = context.bot_data.get(feeds.POLLER_KEY)
    if isinstance(poller, feeds.FeedPoller):
        poller.wake()


async def run_poller(app: Application, services: Services, stop: asyncio.Event) -> None:
    """The feed poller for ``bot.app.serve``: new articles wake delivery, failures reach editors.

    It lives here because telling the editors is a Telegram matter; the polling is the
    service's. ``/feeds add`` finds it in ``bot_data`` to poll a new feed at once.
    """

    async def notify(text: str) -> None:
        for editor in sorted(editor_filter(app).user_ids):  # owners and added editors, as of now
            try:
                await app.bot.send_message(editor, text)
            except TelegramError as exc:  # an editor who never opened the chat, say
                log.warning("could not tell editor %s about a feed: %s", editor, exc)

    policy = feeds.FeedPolicy.from_settings(services.settings)
    poller = feeds.FeedPoller(services.db, policy, on_new=services.outbox_changed, notify=notify)
    app.bot_data[feeds.POLLER_KEY] = poller
    try:
        await poller.run(stop)
    finally:
        app.bot_data.pop(feeds.POLLER_KEY, None)


def register(app: Application, editor_filter: filters.User) -> None:
    """Before ``fallback.register``: a non-editor's /feeds is refused, not 'unknown'.

    ``editor_filter`` is the shared editors filter from ``handlers.editors.register``.
    """
    editors = editor_filter & filters.ChatType.PRIVATE
    opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
    app.add_handler(CommandHandler("feeds", feeds_command, filters=editors))
    app.add_handler(CommandHandler("feeds", not_an_editor))
    app.add_handler(MessageHandler(editors & opml, import_document))
