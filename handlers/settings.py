"""/settings (one message with buttons), /timezone, /quiet, /digest and /here.

In groups only admins may change anything (the same check as /subscribe); in a private chat
that manages a channel, the settings are the channel's.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import i18n
from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering import settings as texts
from bot.rendering.base import EXPIRED, SETTINGS_PATTERN, Rendered
from bot.sender import reply, show
from bot.services import preferences, schedule
from bot.services.preferences import ChatSettings
from handlers.reading import command_argument

# The chat a command changes, and who may change it: one rule for subscriptions and settings.
from handlers.subscriptions import may_change, target_chat, target_chat_quietly

log = logging.getLogger(__name__)


async def settings_command(update: Update, context: HeraldContext) -> None:
    chosen = await target_chat(update, context)
    if chosen is None:
        return
    settings = await preferences.get(context.services.db, chosen[0])
    group = update.effective_chat.type != ChatType.PRIVATE or chosen[0] != update.effective_chat.id
    await reply(update.effective_message, texts.panel(settings, time.time(), group))


async def settings_button(update: Update, context: HeraldContext) -> None:
    """A tap on the panel: change one setting and redraw the panel in place."""
    query, services = update.callback_query, context.services
    parsed = texts.parse_button(query.data or "")
    if parsed is None:
        await query.answer(_(EXPIRED))
        return
    if not await may_change(update, context):
        await query.answer(_("Only this chat's admins can change its settings."), show_alert=True)
        return
    chosen = await target_chat_quietly(update, context)
    key, value = parsed
    chat_id = chosen[0]
    try:
        settings = await _apply(services.db, chat_id, key, value)
    except ValueError:
        log.info("forged settings button %r from %s", query.data, query.from_user.id)
        await query.answer(_(EXPIRED))
        return
    services.settings_changed(settings)
    if key == "l":  # the panel answers in the language just chosen
        i18n.set_language(settings.language or i18n.pick(query.from_user.language_code))
    await query.answer()
    group = update.effective_chat.type != ChatType.PRIVATE or chat_id != update.effective_chat.id
    await show(query, texts.panel(settings, time.time(), group))


async def _apply(db: preferences.Database, chat_id: int, key: str, value: str) -> ChatSettings:
    match key:
        case "m":
            return await preferences.set_mode(db, chat_id, value)
        case "d":
            return await preferences.set_mode(db, chat_id, "daily", value)
        case "q":
            return await preferences.set_quiet(db, chat_id, value)
        case "p":
            return await preferences.set_previews(db, chat_id, value == "1")
        case "b":
            return await preferences.set_breaking_quiet(db, chat_id, value == "1")
        case "l":
            return await preferences.set_language(db, chat_id, None if value == "auto" else value)
    raise ValueError(key)


async def timezone_command(update: Update, context: HeraldContext) -> None:
    chosen = await target_chat(update, context)
    if chosen is None:
        return
    name = command_argument(update)
    if not name:
        await reply(update.effective_message, Rendered(_(texts.TIMEZONE_USAGE)))
        return
    try:
        settings = await preferences.set_timezone(context.services.db, chosen[0], name)
    except schedule.UnknownTimezone as exc:
        text = texts.unknown_timezone(name, exc.suggestions)
        await reply(update.effective_message, Rendered(text))
        return
    context.services.settings_changed(settings)
    await reply(update.effective_message, Rendered(texts.timezone_set(settings.tz, time.time())))


async def quiet_command(update: Update, context: HeraldContext) -> None:
    chosen = await target_chat(update, context)
    if chosen is None:
        return
    try:
        settings = await preferences.set_quiet(
            context.services.db, chosen[0], command_argument(update)
        )
    except ValueError:
        await reply(update.effective_message, Rendered(_(texts.QUIET_USAGE)))
        return
    context.services.settings_changed(settings)
    await reply(update.effective_message, Rendered(texts.quiet_set(settings)))


async def digest_command(update: Update, context: HeraldContext) -> None:
    """/digest off | hourly | daily [HH:MM]."""
    chosen = await target_chat(update, context)
    if chosen is None:
        return
    words = command_argument(update).lower().split()
    mode = {"off": "instant", "instant": "instant", "hourly": "hourly", "daily": "daily"}.get(
        words[0] if words else ""
    )
    try:
        if mode is None or (mode != "daily" and len(words) > 1) or len(words) > 2:
            raise ValueError("usage")
        daily_at = words[1] if len(words) == 2 else None
        settings = await preferences.set_mode(context.services.db, chosen[0], mode, daily_at)
    except ValueError:
        await reply(update.effective_message, Rendered(_(texts.DIGEST_USAGE)))
        return
    context.services.settings_changed(settings)
    await reply(update.effective_message, Rendered(texts.digest_set(settings)))


async def here_command(update: Update, context: HeraldContext) -> None:
    """/here in a forum topic: Herald's posts go to that topic (/here off: General)."""
    message = update.effective_message
    if not getattr(update.effective_chat, "is_forum", False):
        await reply(message, Rendered(_(texts.HERE_ONLY_TOPICS)))
        return
    chosen = await target_chat(update, context)
    if chosen is None:
        return
    off = command_argument(update).lower() == "off"
    thread = None if off or not message.is_topic_message else message.message_thread_id
    settings = await preferences.set_thread(context.services.db, chosen[0], thread)
    context.services.settings_changed(settings)
    await reply(message, Rendered(texts.here_set(settings.thread_id)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CommandHandler("timezone", timezone_command))
    app.add_handler(CommandHandler("quiet", quiet_command))
    app.add_handler(CommandHandler("digest", digest_command))
    app.add_handler(CommandHandler("here", here_command))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=SETTINGS_PATTERN))
