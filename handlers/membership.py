"""Herald added to or removed from a chat, blocked or unblocked, and groups that migrate."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.error import TelegramError
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters

from bot.context import HeraldContext
from bot.rendering import subscriptions as texts
from bot.services import chats

log = logging.getLogger(__name__)

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


async def my_membership(update: Update, context: HeraldContext) -> None:
    """my_chat_member: Herald's own status in a chat changed."""
    change = update.my_chat_member
    chat, db = change.chat, context.services.db
    was, now = change.old_chat_member.status, change.new_chat_member.status
    if now in PRESENT and was not in PRESENT:
        resumed = await chats.joined(db, chat.id, chat.type, chat.title or "")
        log.info("added to %s %s (%s)", chat.type, chat.id, "resumed" if resumed else "new")
        if chat.type in (Chat.GROUP, Chat.SUPERGROUP):
            try:
                await context.bot.send_message(
                    chat.id, texts.group_welcome(context.bot.username).text
                )
            except TelegramError as exc:
                log.info("could not post the setup guide in %s: %s", chat.id, exc)
    elif now not in PRESENT and was in PRESENT:
        reason = "blocked by the user" if chat.type == Chat.PRIVATE else f"Herald was {now}"
        log.info("removed from %s %s: %s", chat.type, chat.id, reason)
        await chats.left(db, chat.id, reason)


async def group_migrated(update: Update, context: HeraldContext) -> None:
    """The group became a supergroup: its subscriptions follow it to the new id."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        log.info("group %s migrated to %s", message.chat.id, message.migrate_to_chat_id)
        await chats.migrated(context.services.db, message.chat.id, message.migrate_to_chat_id)


def register(app: Application) -> None:
    app.add_handler(ChatMemberHandler(my_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, group_migrated))
