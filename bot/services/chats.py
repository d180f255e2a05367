"""Chats as Herald sees them: who may change a chat's settings, and joins, leaves, migrations.

Only a group's (or channel's) admins may change what it receives. Telegram is asked every time
a change is about to be applied: a cached "yes" once let an admin who had just been demoted
keep control for a minute (issue 13, finding 5), and Telegram sends ``chat_member`` updates
only to bots that are admins themselves, so a cache could not even be dropped reliably. The
cost is one getChatMember per admin command or panel tap in a group, which is not a message
so it does not count against a chat's message limits.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import Bot
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden

from storage import chats as store
from storage import outbox
from storage.chats import Chat
from storage.db import Database

ADMINS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
# Telegram's user for anonymous group admins: its messages carry the group as sender_chat.
ANONYMOUS_ADMIN = 1087968824

# Set when the current update (one task) stored a chat, so what waits for a chat to be known
# (the language middleware's second pass) reads the database only after such updates.
_stored: ContextVar[bool] = ContextVar("herald_chat_stored", default=False)


def stored_a_chat() -> bool:
    """Whether this update stored (remembered or re-joined) a chat."""
    return _stored.get()


async def is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether ``user_id`` administers ``chat_id`` right now, as Telegram answers (never cached)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden):
        return False
    return member.status in ADMINS


def is_shared(chat_type: str | None) -> bool:
    """A group's or channel's message is the same message for everyone in it.

    A tap there must never edit it for everyone, nor count as the chat's own decision: the
    presser is one reader among many (a channel's subscriber cannot even be told apart from its
    admins by the message). Only a private chat's messages belong to the person tapping.
    """
    return chat_type != ChatType.PRIVATE


async def remember(db: Database, chat_id: int, kind: str, title: str) -> None:
    await store.upsert_chat(db, chat_id, kind, title, int(time.time()))
    _stored.set(True)


async def target_of(db: Database, chat_id: int) -> Chat | None:
    """The chat a command changes: the chat itself, or the channel its user is managing."""
    chat = await store.get_chat(db, chat_id)
    if chat is not None and chat.kind == store.PRIVATE and chat.managing is not None:
        managed = await store.get_chat(db, chat.managing)
        if managed is not None and managed.managed_by == chat_id:
            return managed
    return chat


async def joined(db: Database, chat_id: int, kind: str, title: str) -> bool:
    """Herald was added (or unblocked): remember the chat, resume it; True if it was paused."""
    now = int(time.time())
    await store.upsert_chat(db, chat_id, kind, title, now)
    _stored.set(True)
    return await store.set_paused(db, chat_id, False, None, now)


async def left(db: Database, chat_id: int, reason: str) -> None:
    """Herald was removed or blocked: pause the chat, keep its subscriptions."""
    now = int(time.time())
    async with db.transaction():
        if await store.get_chat(db, chat_id) is not None:
            await store.set_paused(db, chat_id, True, reason, now)
            await outbox.drop_pending_for_chat(db, chat_id, reason, now)


async def migrated(db: Database, old_id: int, new_id: int) -> None:
    async with db.transaction():
        if await store.get_chat(db, old_id) is not None:
            await store.migrate_chat(db, old_id, new_id, int(time.time()))


@dataclass(frozen=True, slots=True)
class ChannelSetup:
    ok: bool
    title: str = ""
    problem: str = ""


async def set_up_channel(bot: Bot, db: Database, user_id: int, reference: str) -> ChannelSetup:
    """Let ``user_id`` manage a channel from their private chat, after Telegram confirms that
    they administer it and that Herald may post there."""
    ref = reference.strip()
    if re.fullmatch(r"-?[0-9]{1,20}", ref):
        target: int | str = int(ref)
    elif re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{3,31}", ref):
        target = "@" + ref.lstrip("@")
    else:
        return ChannelSetup(False, problem="not_found")
    try:
        chat = await bot.get_chat(target)
    except (BadRequest, Forbidden):
        return ChannelSetup(False, problem="not_found")
    if chat.type != "channel":
        return ChannelSetup(False, problem="not_channel")
    if not await is_admin(bot, chat.id, user_id):
        return ChannelSetup(False, chat.title or "", "not_admin")
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except (BadRequest, Forbidden):
        return ChannelSetup(False, chat.title or "", "bot_not_admin")
    if me.status != ChatMemberStatus.ADMINISTRATOR or not getattr(me, "can_post_messages", False):
        return ChannelSetup(False, chat.title or "", "bot_not_admin")
    now = int(time.time())
    async with db.transaction():
        await store.upsert_chat(db, chat.id, "channel", chat.title or "", now)
        await store.set_paused(db, chat.id, False, None, now)
        await store.set_channel_manager(db, chat.id, user_id, now)
    return ChannelSetup(True, chat.title or "")


async def still_admin(bot: Bot, db: Database, user_id: int, chat: Chat) -> bool:
    """A managed channel stays managed only while its manager is still one of its admins."""
    if await is_admin(bot, chat.id, user_id):
        return True
    await store.stop_managing(db, user_id, int(time.time()))
    return False


async def stop_managing(db: Database, user_id: int) -> None:
    await store.stop_managing(db, user_id, int(time.time()))
