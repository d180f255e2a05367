"""The handler hook: every update counted by type, timed, and logged with its ids.

``ObservedApplication.process_update`` wraps PTB's own: it runs once per update around all
handler groups, in the task PTB made for that update, so the context variables it sets are
seen by every handler and every log line of that update and by nothing else.
"""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import Application

from bot import log_context, metrics


def update_type(update: object) -> str:
    """The update's kind as Telegram names it (message, callback_query…); "other" if none."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind.value
    return "other"


class ObservedApplication(Application):
    """PTB's Application, measured (see the module docstring)."""

    async def process_update(self, update: object) -> None:
        if isinstance(update, Update):
            log_context.UPDATE_ID.set(update.update_id)
            chat = update.effective_chat
            log_context.CHAT_ID.set(chat.id if chat is not None else None)
        metrics.UPDATES.labels(update_type(update)).inc()
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            metrics.HANDLER_SECONDS.observe(time.perf_counter() - started)
