"""/feeds for editors: follow, list, remove, export and import (OPML) the feeds Herald polls.

Access is decided at registration: editors in a private chat reach these handlers, anyone
else's /feeds gets the editors-only refusal. The texts are built by the pure functions at the
bottom (escaped and kept within Telegram's 4096 characters).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from dataclasses import replace

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.context import HeraldContext, Services
from bot.rendering import MAX_MESSAGE, Rendered, escaped_within, utf16_len
from bot.sender import reply
from bot.services import editors, feeds, opml
from bot.services.opml import MAX_OPML_BYTES, OpmlError
from handlers.editors import editor_filter, not_an_editor
from handlers.reading import command_argument

log = logging.getLogger(__name__)

USAGE = (
    "<b>Feeds</b>\n"
    "<code>/feeds</code> – the feeds Herald follows\n"
    "<code>/feeds add URL [topic]</code> – follow a feed; its items get the topic\n"
    "<code>/feeds remove N</code> or <code>/feeds remove URL</code> – stop following one\n"
    "<code>/feeds export</code> – the list as an OPML file\n"
    "Send an OPML file (.opml or .xml) to follow every feed in it; a caption sets a topic."
)


async def feeds_command(update: Update, context: HeraldContext) -> None:
    """/feeds [add|remove|export] …: one entry point, like /subscribe."""
    verb, _, rest = command_argument(update).partition(" ")
    action = {"": show_list, "add": add, "remove": remove, "export": export}.get(verb.lower())
    if action is None:
        await reply(update.effective_message, Rendered(USAGE))
        return
    await action(update, context, rest.strip())


async def show_list(update: Update, context: HeraldContext, _: str) -> None:
    listing = await feeds.list_feeds(context.services.db)
    await reply(update.effective_message, Rendered(feed_list(listing, int(time.time()))))


async def add(update: Update, context: HeraldContext, argument: str) -> None:
    url, _, topic = argument.partition(" ")
    try:
        added = await feeds.add_feed(
            context.services.db,
            url,
            topic.strip() or None,
            update.effective_user.id,
            guard=context.services.fetch_guard,
        )
    except feeds.FeedProblem as exc:
        await reply(update.effective_message, Rendered(problem(str(exc))))
        return
    if added.new:
        await _audit(update, context, "feed added", added.feed.url)
    _wake_poller(context)
    await reply(update.effective_message, Rendered(added_text(added)))


async def remove(update: Update, context: HeraldContext, argument: str) -> None:
    try:
        feed = await feeds.remove_feed(context.services.db, argument)
    except feeds.FeedProblem as exc:
        await reply(update.effective_message, Rendered(problem(str(exc))))
        return
    await _audit(update, context, "feed removed", feed.url)
    text = f"🗑 No longer following {_feed_name(feed)}. Its articles stay."
    await reply(update.effective_message, Rendered(text))


async def export(update: Update, context: HeraldContext, _: str) -> None:
    """Send the feed list as an OPML document any feed reader can import."""
    data = await opml.export_opml(context.services.db)
    await update.effective_message.reply_document(
        document=InputFile(data, filename="herald-feeds.opml"),
        caption="Herald's feeds as OPML. Send this file back to me to follow them all.",
    )


async def import_document(update: Update, context: HeraldContext) -> None:
    """An OPML file sent by an editor: follow every feed in it (the caption is a topic)."""
    message = update.effective_message
    document = message.document
    if document.file_size and document.file_size > MAX_OPML_BYTES:
        too_big = f"That file is too big: I read OPML files up to {MAX_OPML_BYTES:,} bytes"
        await reply(message, Rendered(problem(too_big)))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        result = await opml.import_opml(
            context.services.db,
            data,
            update.effective_user.id,
            (message.caption or "") or None,
            guard=context.services.fetch_guard,
        )
    except OpmlError as exc:
        await reply(message, Rendered(problem(f"I could not import that file: {exc}")))
        return
    detail = f"{document.file_name or 'OPML'}: {result.added} added, {result.existing} known"
    await _audit(update, context, "feeds imported", detail)
    _wake_poller(context)
    await reply(message, Rendered(imported_text(result)))


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

    policy = replace(feeds.FeedPolicy.from_settings(services.settings), guard=services.fetch_guard)
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


# ------------------------------------------------------------------- texts (pure functions)


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
    return (
        f"✅ Following {url}{topic}. What it lists now is stored as its archive (in /latest "
        "and search, not pushed); items it publishes from now on go to subscribers."
    )


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
