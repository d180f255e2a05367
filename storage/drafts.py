"""Drafts: a post or correction waiting for its editor's Publish, Breaking or Cancel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Database

POST = "post"
EDIT = "edit"
OPEN = "open"
PUBLISHED = "published"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    kind: str
    editor_id: int
    chat_id: int
    article_id: int | None
    content: dict[str, Any]
    image_file_id: str | None
    status: str


async def create(
    db: Database,
    kind: str,
    editor_id: int,
    chat_id: int,
    content: dict[str, Any],
    image_file_id: str | None,
    article_id: int | None,
    now: int,
) -> int:
    return int(
        await db.scalar(
            """
            INSERT INTO drafts (kind, editor_id, chat_id, article_id, content, image_file_id,
                                created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            (kind, editor_id, chat_id, article_id, json.dumps(content), image_file_id, now),
        )
    )


async def get(db: Database, draft_id: int) -> Draft | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM drafts WHERE id = ?", (draft_id,))
    return None if row is None else _draft(row)


async def set_preview(db: Database, draft_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE drafts SET preview_message_id = ? WHERE id = ?", (message_id, draft_id)
    )


async def close(db: Database, draft_id: int, status: str, now: int) -> Draft | None:
    """Decide an open draft; None when it was decided already (a second tap, another device)."""
    row = await db.fetchone(
        f"UPDATE drafts SET status = ?, decided_at = ? WHERE id = ? AND status = 'open'"
        f" RETURNING {_COLUMNS}",
        (status, now, draft_id),
    )
    return None if row is None else _draft(row)


async def set_article(db: Database, draft_id: int, article_id: int) -> None:
    await db.execute("UPDATE drafts SET article_id = ? WHERE id = ?", (article_id, draft_id))


async def by_preview(db: Database, chat_id: int, message_id: int) -> Draft | None:
    """The draft whose preview is ``message_id`` in ``chat_id`` (a reply to it)."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM drafts WHERE chat_id = ? AND preview_message_id = ?",
        (chat_id, message_id),
    )
    return None if row is None else _draft(row)


_COLUMNS = "id, kind, editor_id, chat_id, article_id, content, image_file_id, status"


def _draft(row: Any) -> Draft:
    return Draft(
        id=row[0],
        kind=row[1],
        editor_id=row[2],
        chat_id=row[3],
        article_id=row[4],
        content=json.loads(row[5]),
        image_file_id=row[6],
        status=row[7],
    )
