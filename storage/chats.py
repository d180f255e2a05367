"""Chats Herald delivers to: private chats, groups, supergroups and channels."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

PRIVATE = "private"
CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    kind: str
    title: str
    paused: bool
    paused_reason: str | None
    managed_by: int | None
    managing: int | None


async def upsert_chat(db: Database, chat_id: int, kind: str, title: str, now: int) -> None:
    """Remember a chat (or refresh its kind and title); its settings are kept."""
    await db.execute(
        """
        INSERT INTO chats (id, kind, title, created_at, updated_at)
        VALUES (:id, :kind, :title, :now, :now)
        ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                                       updated_at = excluded.updated_at
        """,
        {"id": chat_id, "kind": kind, "title": title, "now": now},
    )


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    row = await db.fetchone(
        "SELECT id, kind, title, paused, paused_reason, managed_by, managing"
        " FROM chats WHERE id = ?",
        (chat_id,),
    )
    if row is None:
        return None
    return Chat(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])


async def set_paused(
    db: Database, chat_id: int, paused: bool, reason: str | None, now: int
) -> bool:
    """Pause (blocked, kicked, removed) or resume a chat; its subscriptions stay."""
    changed = await db.execute_changes(
        "UPDATE chats SET paused = :p, paused_reason = :r, updated_at = :now"
        " WHERE id = :id AND paused != :p",
        {"p": int(paused), "r": reason if paused else None, "now": now, "id": chat_id},
    )
    return changed > 0


async def migrate_chat(db: Database, old_id: int, new_id: int, now: int) -> None:
    """A group became a supergroup: everything of ``old_id`` now belongs to ``new_id``.

    Foreign keys cascade the new id to subscriptions and the outbox. If the supergroup is
    already known (an update raced us), the old chat's subscriptions are merged into it.
    Message ids of the old group mean nothing in the supergroup (it numbers its messages
    afresh), so delivered copies forget theirs: corrections and retractions never touch a
    supergroup message by an old group's number.
    """
    await db.execute(
        "UPDATE outbox SET message_id = NULL WHERE chat_id = ? AND message_id IS NOT NULL",
        (old_id,),
    )
    await db.execute(
        "UPDATE outbox SET status = 'failed', error = 'the group became a supergroup'"
        " WHERE chat_id = ? AND kind != 'new' AND status IN ('pending', 'sending')",
        (old_id,),
    )
    if await get_chat(db, new_id) is None:
        await db.execute(
            "UPDATE chats SET id = :new, kind = 'supergroup', updated_at = :now WHERE id = :old",
            {"new": new_id, "old": old_id, "now": now},
        )
        return
    await db.execute(
        """
        INSERT INTO subscriptions (chat_id, kind, topic_id, phrase, pattern, created_at)
        SELECT :new, kind, topic_id, phrase, pattern, created_at FROM subscriptions
        WHERE chat_id = :old
        ON CONFLICT DO NOTHING
        """,
        {"new": new_id, "old": old_id},
    )
    await db.execute(
        """
        UPDATE outbox SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS (
            SELECT 1 FROM outbox o WHERE o.chat_id = :new
            AND o.article_id = outbox.article_id AND o.kind = outbox.kind)
        """,
        {"new": new_id, "old": old_id},
    )
    await db.execute("DELETE FROM chats WHERE id = ?", (old_id,))


async def set_channel_manager(db: Database, channel_id: int, user_id: int, now: int) -> None:
    """``user_id`` manages ``channel_id``, from their private chat, from now on."""
    await db.execute(
        "UPDATE chats SET managed_by = :user, updated_at = :now WHERE id = :channel",
        {"user": user_id, "now": now, "channel": channel_id},
    )
    await db.execute(
        "UPDATE chats SET managing = :channel, updated_at = :now WHERE id = :user",
        {"user": user_id, "now": now, "channel": channel_id},
    )


async def stop_managing(db: Database, user_id: int, now: int) -> None:
    await db.execute(
        "UPDATE chats SET managing = NULL, updated_at = :now WHERE id = :user",
        {"user": user_id, "now": now},
    )


async def paused_chats(db: Database) -> int:
    return int(await db.scalar("SELECT count(*) FROM chats WHERE paused = 1"))
