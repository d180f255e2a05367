"""The one place that turns Telegram's errors into outcomes for replies and edits.

Telegram answers an edit that changes nothing with BadRequest "message is not modified" (a
reader tapping the same page twice): that is success, not an error. An edit of a message that
is gone falls back to a new message, so the reader always sees an answer.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, LinkPreviewOptions, Message
from telegram.error import BadRequest

from bot.rendering import Rendered

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def reply(message: Message, rendered: Rendered, *, preview: bool = False) -> Message:
    """Answer a reader's message in its chat (and forum topic)."""
    return await message.reply_text(
        rendered.text,
        reply_markup=rendered.keyboard,
        link_preview_options=None if preview else NO_PREVIEW,
        do_quote=message.chat.type != "private",
    )


async def show(query: CallbackQuery, rendered: Rendered, *, preview: bool = False) -> None:
    """Replace the message whose button was pressed with ``rendered``."""
    try:
        await query.edit_message_text(
            rendered.text,
            reply_markup=rendered.keyboard,
            link_preview_options=None if preview else NO_PREVIEW,
        )
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" in reason:
            return
        if "message to edit not found" in reason or "message can't be edited" in reason:
            if query.message is not None and query.message.chat is not None:
                await query.get_bot().send_message(
                    query.message.chat.id,
                    rendered.text,
                    reply_markup=rendered.keyboard,
                    link_preview_options=None if preview else NO_PREVIEW,
                )
                return
        raise
