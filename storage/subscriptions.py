"""What each chat wants: everything, topics, or keywords and phrases."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database

ALL = "all"
TOPIC = "topic"
KEYWORD = "keyword"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    chat_id: int
    kind: str
    topic_id: int | None
    label: str  # the topic's name or the phrase as typed; '' for everything


@dataclass(frozen=True, slots=True)
class SubscriberCount:
    kind: str  # ALL, TOPIC or KEYWORD
    label: str
    chat_kind: str
    chats: int


async def add_subscription(
    db: Database,
    chat_id: int,
    kind: str,
    now: int,
    *,
    topic_id: int | None = None,
    phrase: str | None = None,
    pattern: str | None = None,
) -> bool:
    """Add one subscription; False when the chat already had it."""
    changed = await db.execute_changes(
        """
        INSERT INTO subscriptions (chat_id, kind, topic_id, phrase, pattern, created_at)
        VALUES (:chat, :kind, :topic, :phrase, :pattern, :now) ON CONFLICT DO NOTHING
        """,
        {
            "chat": chat_id,
            "kind": kind,
            "topic": topic_id,
            "phrase": phrase,
            "pattern": pattern,
            "now": now,
        },
    )
    return changed > 0


async def list_subscriptions(db: Database, chat_id: int) -> list[Subscription]:
    rows = await db.fetchall(
        """
        SELECT s.id, s.chat_id, s.kind, s.topic_id, coalesce(t.name, s.phrase, '') AS label
        FROM subscriptions s LEFT JOIN topics t ON t.id = s.topic_id
        WHERE s.chat_id = ? ORDER BY s.kind, label
        """,
        (chat_id,),
    )
    return [Subscription(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def remove_subscription(db: Database, chat_id: int, subscription_id: int) -> bool:
    changed = await db.execute_changes(
        "DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", (subscription_id, chat_id)
    )
    return changed > 0


async def remove_all(db: Database, chat_id: int) -> int:
    return await db.execute_changes("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))


async def subscriber_counts(db: Database) -> list[SubscriberCount]:
    """Chats per subscription (everything, each topic, keywords) and kind of chat."""
    rows = await db.fetchall(
        """
        SELECT s.kind, CASE s.kind WHEN 'topic' THEN t.name ELSE '' END AS label, c.kind,
               count(DISTINCT s.chat_id)
        FROM subscriptions s JOIN chats c ON c.id = s.chat_id
        LEFT JOIN topics t ON t.id = s.topic_id
        WHERE c.paused = 0
        GROUP BY s.kind, label, c.kind ORDER BY 4 DESC
        """
    )
    return [SubscriberCount(r[0], r[1], r[2], r[3]) for r in rows]
