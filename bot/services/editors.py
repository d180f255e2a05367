"""Who may run the newsroom, and the record of what they did.

Owners are the ids in ``HERALD_EDITOR_IDS``: they cannot be removed from Telegram and only they
may add or remove editors. Editors added at run time live in the database. Every editor action
goes through ``audit`` so ``/audit`` can answer "who did that, and when?".
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import editors as store
from storage.db import Database
from storage.editors import AuditEntry, Editor

AUDIT_SHOWN = 20


class NotAllowed(PermissionError):
    """The user may not do this; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Roster:
    owners: frozenset[int]
    editors: list[Editor]

    @property
    def ids(self) -> frozenset[int]:
        return self.owners | {e.user_id for e in self.editors}


async def roster(db: Database, owners: frozenset[int]) -> Roster:
    return Roster(owners, [e for e in await store.list_editors(db) if e.user_id not in owners])


async def add_editor(
    db: Database, owners: frozenset[int], actor: int, user_id: int, name: str, now: int
) -> bool:
    """Make ``user_id`` an editor; False when they already were. Owners only."""
    _owner_only(owners, actor)
    if user_id in owners:
        return False
    async with db.transaction():
        added = await store.add_editor(db, user_id, name, actor, now)
        if added:
            await store.record(db, actor, "editor added", None, f"{user_id} {name}".strip(), now)
    return added


async def remove_editor(
    db: Database, owners: frozenset[int], actor: int, user_id: int, now: int
) -> bool:
    """Take ``user_id``'s editor rights; False when they had none. Owners only."""
    _owner_only(owners, actor)
    if user_id in owners:
        raise NotAllowed("owners are set by HERALD_EDITOR_IDS and cannot be removed here")
    async with db.transaction():
        removed = await store.remove_editor(db, user_id)
        if removed:
            await store.record(db, actor, "editor removed", None, str(user_id), now)
    return removed


async def audit(
    db: Database, editor_id: int, action: str, article_id: int | None, detail: str, now: int
) -> None:
    """Record one editor action (inside the caller's transaction when there is one)."""
    await store.record(db, editor_id, action, article_id, detail, now)


async def recent_actions(db: Database, limit: int = AUDIT_SHOWN) -> list[AuditEntry]:
    return await store.recent(db, limit)


def _owner_only(owners: frozenset[int], actor: int) -> None:
    if actor not in owners:
        raise NotAllowed("only owners (HERALD_EDITOR_IDS) may add or remove editors")
