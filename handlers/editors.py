"""Editors' commands. Access is decided at registration (filters), not inside handlers."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot import rendering
from bot import rendering_subscriptions as texts
from bot.context import HeraldContext
from bot.sender import reply
from bot.services import stats


async def show_stats(update: Update, context: HeraldContext) -> None:
    """/stats: subscribers by topic and kind of chat, deliveries, paused chats."""
    await reply(update.effective_message, texts.stats(await stats.collect(context.services.db)))


async def not_an_editor(update: Update, context: HeraldContext) -> None:
    await reply(update.effective_message, rendering.Rendered(texts.EDITORS_ONLY))


def register(app: Application, editor_ids: frozenset[int]) -> None:
    editors = filters.User(user_id=list(editor_ids)) & filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("stats", show_stats, filters=editors))
    app.add_handler(CommandHandler("stats", not_an_editor))
