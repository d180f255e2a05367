"""What happens to everything no feature handled: unknown commands, stray buttons, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import metrics
from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering import base

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: HeraldContext) -> None:
    """Tell the reader the command is unknown: always in private, in groups only if addressed."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0]
    addressed = "@" in command
    if addressed and command.split("@", 1)[1].casefold() != (context.bot.username or "").casefold():
        return  # another bot's command
    if message.chat.type != ChatType.PRIVATE and not addressed:
        return
    log.info("unknown command %r in chat %s", command[:64], message.chat.id)
    await message.reply_text(_(base.UNKNOWN_COMMAND))


async def stray_button(update: Update, context: HeraldContext) -> None:
    """A button whose data Herald's patterns do not know: stale keyboards or forged data."""
    query = update.callback_query
    log.info("unknown button data %r from user %s", query.data, query.from_user.id)
    await query.answer(_(base.EXPIRED))


async def on_error(update: object, context: HeraldContext) -> None:
    """Log every failure with its update, and give the reader a short apology."""
    metrics.HANDLER_ERRORS.inc()
    log.error("error while handling update %s", _describe(update), exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(_(base.SORRY_BUTTON))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(_(base.SORRY))
    except Exception:  # the apology is best effort; the original error is already logged
        log.warning("could not tell the user about the error", exc_info=True)


def _describe(update: object) -> str:
    if isinstance(update, Update):
        chat = update.effective_chat
        return f"{update.update_id} (chat {chat.id if chat else '-'})"
    return repr(update)[:200]


def register(app: Application) -> None:
    """Register LAST: in one handler group PTB runs only the first handler that matches."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(stray_button))
    app.add_error_handler(on_error)
