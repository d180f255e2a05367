"""The webhook intake table: store an update once, claim it under a lease, mark it done.

One SQL text for both backends. The claim's lease test is repeated on the updated row itself:
on PostgreSQL two instances that picked the same head both wait for its row lock, and the
second then sees the first one's lease and takes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class Claimed:
    update_id: int
    chat_key: int
    payload: str


async def add(db: Database, update_id: int, chat_key: int, payload: str, now: float) -> bool:
    """Store an update; False when it was stored before (Telegram repeated it)."""
    changed = await db.execute_changes(
        "INSERT INTO intake (update_id, chat_key, payload, received_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (update_id) DO NOTHING",
        (update_id, chat_key, payload, now),
    )
    return changed > 0


async def add_many(db: Database, updates: Sequence[tuple[int, int, str, float]]) -> set[int]:
    """Store (update_id, chat_key, payload, received_at) rows in one statement, so one commit;
    the update_ids stored now (not those stored before)."""
    if not updates:
        return set()
    marks = ", ".join("(?, ?, ?, ?)" for _ in updates)
    rows = await db.fetchall(
        f"INSERT INTO intake (update_id, chat_key, payload, received_at) VALUES {marks} "
        "ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
        [value for update in updates for value in update],
    )
    return {int(r[0]) for r in rows}


async def claim(db: Database, worker: str, limit: int, now: float, lease: float) -> list[Claimed]:
    """Claim up to ``limit`` rows: each chat's oldest pending row, when nobody holds it.

    A chat whose oldest row is held (by this or another instance, lease still running) gives
    nothing: its later updates wait, so one chat's updates are handled one at a time, in order.
    """
    rows = await db.fetchall(
        "UPDATE intake SET claimed_by = ?, lease_until = ?, attempts = attempts + 1 "
        "WHERE (lease_until IS NULL OR lease_until < ?) AND update_id IN ("
        "  SELECT heads.head FROM ("
        "    SELECT min(update_id) AS head FROM intake WHERE status = 'pending' GROUP BY chat_key"
        "  ) AS heads JOIN intake ON intake.update_id = heads.head"
        "  WHERE intake.lease_until IS NULL OR intake.lease_until < ?"
        "  ORDER BY heads.head LIMIT ?"
        ") RETURNING update_id, chat_key, payload",
        (worker, now + lease, now, now, limit),
    )
    return sorted((Claimed(r[0], r[1], r[2]) for r in rows), key=lambda c: c.update_id)


async def mark_done(db: Database, update_id: int, worker: str, now: float) -> None:
    await db.execute(
        "UPDATE intake SET status = 'done', done_at = ?, lease_until = NULL "
        "WHERE update_id = ? AND claimed_by = ?",
        (now, update_id, worker),
    )


async def extend(db: Database, worker: str, update_ids: list[int], until: float) -> None:
    """Renew ``worker``'s lease on rows it is still handling (a slow handler keeps its row)."""
    if update_ids:
        marks = ", ".join("?" * len(update_ids))
        await db.execute(
            f"UPDATE intake SET lease_until = ? WHERE claimed_by = ? AND status = 'pending' "
            f"AND update_id IN ({marks})",
            (until, worker, *update_ids),
        )


async def release(db: Database, worker: str) -> int:
    """Hand back every pending row ``worker`` holds (shutdown): others may claim them now."""
    return await db.execute_changes(
        "UPDATE intake SET claimed_by = NULL, lease_until = NULL "
        "WHERE claimed_by = ? AND status = 'pending'",
        (worker,),
    )


async def oldest_pending_received(db: Database) -> float | None:
    """When the oldest pending update arrived (None: nothing waits)."""
    return await db.scalar("SELECT min(received_at) FROM intake WHERE status = 'pending'")


async def held_by(db: Database, worker: str) -> int:
    """Pending rows ``worker`` still holds (after a clean shutdown: 0)."""
    return await db.scalar(
        "SELECT count(*) FROM intake WHERE claimed_by = ? AND status = 'pending'", (worker,)
    )


async def forget_done(db: Database, before: float) -> int:
    """Drop handled rows older than ``before``: Telegram no longer repeats them."""
    return await db.execute_changes(
        "DELETE FROM intake WHERE status = 'done' AND done_at < ?", (before,)
    )
