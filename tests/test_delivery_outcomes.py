"""Delivery outcomes that need their own settings: a send that times out, and the limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.fake_limits import FloodLimits
from storage import chats, outbox, subscriptions
from storage.db import Database
from tests.factories import READER, Herald, article, eventually, run_herald, settings_for

# Also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


async def _running(api: FakeBotAPI, database: Path | str, **settings: object):  # noqa: ANN202
    stop = asyncio.Event()
    task, app = await run_herald(settings_for(database, api, **settings), api, stop)
    return Herald(api, settings_for(database, api, **settings), app), stop, task


@pytest.mark.parametrize(
    ("resend", "expected_status", "copies"),
    [
        (False, "unknown", 1),  # at-most-once: it may have arrived, so it is not sent again
        (True, "sent", 2),  # at-least-once: sent again, and here the first one had arrived
    ],
)
async def test_timed_out_send(
    tmp_path: Path, resend: bool, expected_status: str, copies: int
) -> None:
    async with FakeBotAPI() as api:
        herald, stop, task = await _running(
            api, tmp_path / "h.db", send_timeout=0.3, resend_unknown=resend
        )
        try:
            await herald.send("/subscribe")
            api.fail_chat(READER, "timeout", hold=1.0, times=1)
            await herald.publish(article("Slow network story", "x"))

            async def settled() -> bool:
                row = await herald.services.db.fetchone("SELECT status FROM outbox")
                return row is not None and row[0] == expected_status

            await eventually(settled)
            row = await herald.services.db.fetchone("SELECT error FROM outbox")
            assert resend or "timed out" in row[0]
            pushed = [m for m in api.delivered(READER) if "Slow network story" in m.visible_text]
            assert len(pushed) == copies
        finally:
            stop.set()
            await task


async def test_broadcast_keeps_global_private_and_group_limits(tmp_path: Path) -> None:
    """21 stories: readers follow a topic three of them have, the group takes everything."""
    readers, group = list(range(5000, 5030)), -100999
    async with FakeBotAPI(limits=FloodLimits()) as api:  # Telegram's: 30/s, 1/s, 20/min
        herald, stop, task = await _running(api, tmp_path / "h.db", broadcast_rate=30)
        try:
            db = herald.services.db
            api.register_chat(group, "supergroup", title="G")
            await chats.upsert_chat(db, group, "supergroup", "G", 0)
            await subscriptions.add_subscription(db, group, "all", 0)
            stories = [
                article(f"Story {i}", f"Text {i}", topics=("x" if i < 3 else "y",))
                for i in range(21)
            ]
            await herald.publish(*stories[:1])  # creates the topics
            topic = await db.scalar("SELECT id FROM topics WHERE name = 'x'")
            for reader in readers:
                await chats.upsert_chat(db, reader, "private", "", 0)
                await subscriptions.add_subscription(db, reader, "topic", 0, topic_id=topic)
            await herald.publish(*stories[1:])

            async def sent_what_the_limits_allow() -> bool:
                counts = api.delivery_counts()
                return counts.get(group, 0) == 20 and all(counts.get(r) == 2 for r in readers)

            await eventually(sent_what_the_limits_allow, within=30)
            held = await db.fetchall(
                "SELECT status FROM outbox WHERE chat_id = ? AND status != 'sent'", (group,)
            )
            assert [r[0] for r in held] in (["pending"], ["sending"])  # the 21st waits
            assert api.stats.rejected_429 == 0
            assert api.stats.max_in_window(1.0) <= 30
            assert all(api.stats.max_in_window(1.0, r) == 1 for r in readers)
        finally:
            stop.set()
            await task


async def test_broadcast_wider_than_a_chunk_reaches_everyone_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """260 readers, chunks of 50: the publish queues the first chunk, the worker queues the
    rest as it sends, and every reader gets the story exactly once (both backends)."""
    monkeypatch.setattr(outbox, "FANOUT_CHUNK", 50)
    readers = list(range(7000, 7260))
    async with FakeBotAPI() as api:
        herald, stop, task = await _running(api, db.path, message_rate=1000, broadcast_rate=1000)
        try:
            db = herald.services.db
            for reader in readers:
                await chats.upsert_chat(db, reader, "private", "", 0)
                await subscriptions.add_subscription(db, reader, "all", 0)
            await herald.publish(article("Wide story", "For every reader."))

            async def everyone_has_it() -> bool:
                counts = api.delivery_counts()
                return all(counts.get(r) == 1 for r in readers)

            await eventually(everyone_has_it, within=30)
            counts = api.delivery_counts()
            assert sorted(counts) == readers and set(counts.values()) == {1}
            assert await outbox.has_pending(db) is False
            assert herald.services.worker.expanded == len(readers) - 50  # queued as it sent

            async def all_recorded_sent() -> bool:  # outcomes are written in small batches
                rows = await db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
                return [tuple(r) for r in rows] == [("sent", len(readers))]

            await eventually(all_recorded_sent, within=10)
        finally:
            stop.set()
            await task
