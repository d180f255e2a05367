"""Chats as Herald sees them: who may change a chat's settings, and joins, leaves, migrations.

Only a group's (or channel's) admins may change what it receives. Asking Telegram on every
command would cost a request each time, so answers are cached for a short while.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden

from storage import chats as store
from storage import outbox
from storage.chats import Chat
from storage.db import Database

ADMIN_TTL = 60.0
ADMINS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
# Telegram's user for anonymous group admins: its messages carry the group as sender_chat.
ANONYMOUS_ADMIN = 1087968824

# Set when the current update (one task) stored a chat, so what waits for a chat to be known
# (the language middleware's second pass) reads the database only after such updates.
_stored: ContextVar[bool] = ContextVar("herald_chat_stored", default=False)


def stored_a_chat() -> bool:
    """Whether this update stored (remembered or re-joined) a chat."""
    return _stored.get()


class AdminCache:
    """Whether a user administers a chat, asked of Telegram at most once a minute."""

    def __init__(self, ttl: float = ADMIN_TTL) -> None:
        self._ttl = ttl
        self._answers: dict[tuple[int, int], tuple[float, bool]] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        key = (chat_id, user_id)
        cached = self._answers.get(key)
        now = time.monotonic()
        if cached and cached[0] > now:
            return cached[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
            answer = member.status in ADMINS
        except (BadRequest, Forbidden):
            answer = False
        if len(self._answers) > 10_000:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        self._answers[key] = (now + self._ttl, answer)
        return answer

    def forget(self, chat_id: int) -> None:
        self._answers = {k: v for k, v in self._answers.items() if k[0] != chat_id}


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


async def set_up_channel(
    bot: Bot, db: Database, admins: AdminCache, user_id: int, reference: str
) -> ChannelSetup:
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
    if not await admins.is_admin(bot, chat.id, user_id):
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


async def still_admin(bot: Bot, db: Database, admins: AdminCache, user_id: int, chat: Chat) -> bool:
    """A managed channel stays managed only while its manager is still one of its admins."""
    if await admins.is_admin(bot, chat.id, user_id):
        return True
    await store.stop_managing(db, user_id, int(time.time()))
    return False


async def stop_managing(db: Database, user_id: int) -> None:
    await store.stop_managing(db, user_id, int(time.time()))
