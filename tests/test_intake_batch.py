"""Webhook updates POSTed at the same time are committed together (bot.web.webhook.IntakeBatch,
storage.intake.add_many): each is still stored once, and only the first POST of an update
says it stored it."""

from __future__ import annotations

import asyncio

from bot.web.webhook import IntakeBatch
from storage import intake
from storage.db import Database

BACKENDS = ("sqlite", "postgresql")


async def _stored(db: Database) -> list[int]:
    return [int(r[0]) for r in await db.fetchall("SELECT update_id FROM intake ORDER BY 1")]


async def test_add_many_stores_each_update_once(db: Database) -> None:
    assert await intake.add_many(db, [(1, 7, "{}", 1.0), (2, 8, "{}", 1.0)]) == {1, 2}
    assert await intake.add_many(db, [(2, 8, "{}", 2.0), (3, 7, "{}", 2.0)]) == {3}
    assert await intake.add_many(db, []) == set()
    assert await _stored(db) == [1, 2, 3]


async def test_concurrent_posts_share_commits_and_repeats_are_stored_once(db: Database) -> None:
    batch = IntakeBatch()
    ids = [n // 3 for n in range(90)]  # every update POSTed three times, all at once
    results = await asyncio.gather(
        *(batch.add(db, update_id, update_id % 5, f'{{"update_id": {update_id}}}', 1.0)
          for update_id in ids)
    )
    firsts = sorted(u for u, stored in zip(ids, results, strict=True) if stored)
    assert firsts == list(range(30))  # exactly one POST of each says it stored it
    assert await _stored(db) == list(range(30))
    assert await batch.add(db, 5, 0, "{}", 2.0) is False  # a later repeat
    await batch.close()
