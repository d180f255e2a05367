"""Per-chat preferences: delivery plan, quiet hours, time zone, previews, language, topic."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from storage.db import Database


@dataclass(frozen=True, slots=True)
class ChatSettings:
    chat_id: int
    mode: str = "instant"
    daily_at: str | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    tz: str = "UTC"
    previews: bool = True
    language: str | None = None
    user_language: str | None = None
    breaking_respects_quiet: bool = False
    thread_id: int | None = None


_COLUMNS = [f.name for f in fields(ChatSettings)]
EDITABLE = frozenset(_COLUMNS) - {"chat_id"}


async def get(db: Database, chat_id: int) -> ChatSettings:
    """The chat's settings, or the defaults when it never changed any."""
    row = await db.fetchone_quick(
        f"SELECT {', '.join(_COLUMNS)} FROM chat_settings WHERE chat_id = ?", (chat_id,)
    )
    return ChatSettings(chat_id) if row is None else _settings(row)


async def get_known(db: Database, chat_id: int) -> tuple[ChatSettings, bool]:
    """The chat's settings and whether the chat is known (a row in ``chats``), in one read:
    every update asks both, for its language."""
    columns = ", ".join(f"s.{name}" for name in _COLUMNS)
    row = await db.fetchone_quick(
        f"SELECT c.id IS NOT NULL, {columns} FROM (SELECT ? AS id) AS q"
        " LEFT JOIN chats AS c ON c.id = q.id"
        " LEFT JOIN chat_settings AS s ON s.chat_id = q.id",
        (chat_id,),
    )
    known = bool(row[0])
    return (ChatSettings(chat_id) if row[1] is None else _settings(row[1:])), known


async def update(db: Database, chat_id: int, now: int, **changes: object) -> None:
    """Change some settings of a known chat (a row in ``chats``), creating its row if needed."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not chat settings: {sorted(unknown)}")
    names = sorted(changes)
    assignments = ", ".join(f"{name} = :{name}" for name in names)
    await db.execute(
        f"""
        INSERT INTO chat_settings (chat_id, {", ".join(names)}, updated_at)
        VALUES (:chat_id, {", ".join(":" + n for n in names)}, :now)
        ON CONFLICT (chat_id) DO UPDATE SET {assignments}, updated_at = :now
        """,
        {"chat_id": chat_id, "now": now, **changes},
    )


async def customised(db: Database) -> list[ChatSettings]:
    """Every chat whose delivery differs from the default (for the delivery worker's cache)."""
    rows = await db.fetchall(f"SELECT {', '.join(_COLUMNS)} FROM chat_settings")
    return [_settings(row) for row in rows]


def _settings(row: Any) -> ChatSettings:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["previews"] = bool(values["previews"])
    values["breaking_respects_quiet"] = bool(values["breaking_respects_quiet"])
    return ChatSettings(**values)


async def version(db: Database) -> tuple[int, int]:
    """Changes whenever a chat's settings change: (rows, latest update)."""
    row = await db.fetchone("SELECT count(*), coalesce(max(updated_at), 0) FROM chat_settings")
    return int(row[0]), int(row[1])
