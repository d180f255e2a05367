"""Editors added at run time and the audit log of everything editors did."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class Editor:
    user_id: int
    name: str
    added_by: int
    added_at: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: int
    editor_id: int
    action: str
    article_id: int | None
    detail: str


async def list_editors(db: Database) -> list[Editor]:
    rows = await db.fetchall(
        "SELECT user_id, name, added_by, added_at FROM editors ORDER BY added_at, user_id"
    )
    return [Editor(r["user_id"], r["name"], r["added_by"], r["added_at"]) for r in rows]


async def add_editor(db: Database, user_id: int, name: str, added_by: int, now: int) -> bool:
    """Add an editor; False when they were one already."""
    added = await db.execute_changes(
        "INSERT INTO editors (user_id, name, added_by, added_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO NOTHING",
        (user_id, name, added_by, now),
    )
    return added > 0


async def remove_editor(db: Database, user_id: int) -> bool:
    return await db.execute_changes("DELETE FROM editors WHERE user_id = ?", (user_id,)) > 0


async def record(
    db: Database, editor_id: int, action: str, article_id: int | None, detail: str, now: int
) -> None:
    await db.execute(
        "INSERT INTO audit_log (at, editor_id, action, article_id, detail) VALUES (?, ?, ?, ?, ?)",
        (now, editor_id, action, article_id, detail[:500]),
    )


async def recent(db: Database, limit: int) -> list[AuditEntry]:
    """The newest entries first."""
    rows = await db.fetchall(
        "SELECT at, editor_id, action, article_id, detail FROM audit_log"
        " ORDER BY at DESC, id DESC LIMIT ?",
        (limit,),
    )
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4]) for r in rows]
