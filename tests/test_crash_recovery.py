"""SIGKILL in the middle of a broadcast, then a restart: nobody is missed, and only the sends
that were in flight at the kill can arrive twice."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.sandbox.fake_api import FakeBotAPI
from bot.services.ingest import ingest, normalise
from storage import chats, subscriptions
from storage.db import Database
from tests.factories import article, eventually, start_bot_process, store

READERS = 400
IN_FLIGHT = 8  # HERALD_SEND_CONCURRENCY: the most sends that can be in flight at the kill


def _pushed(api: FakeBotAPI, chat_id: int) -> int:
    return sum(1 for m in api.messages.get(chat_id, {}).values() if "Read" in str(m.reply_markup))


async def _start(api: FakeBotAPI, database: Path, tmp_path: Path) -> asyncio.subprocess.Process:
    return await start_bot_process(
        api, database, tmp_path, broadcast_rate="300", send_concurrency=str(IN_FLIGHT)
    )


async def test_sigkill_mid_broadcast_then_restart(tmp_path: Path) -> None:
    database = tmp_path / "herald.db"
    db = await Database.open(database)
    for reader in range(1, READERS + 1):
        await chats.upsert_chat(db, reader, "private", "", 0)
        await subscriptions.add_subscription(db, reader, "all", 0)
    await store(db, article("Archive story"))  # stored, never pushed
    item = normalise(article("Breaking: the headline everyone must get", "Body."), 1)
    await ingest(db, [item], 1, push=True)
    await db.close()

    async with FakeBotAPI(latency=0.02) as api:
        for reader in range(1, READERS + 1):
            api.register_chat(reader, "private")
        first = await _start(api, database, tmp_path)

        async def some_delivered() -> bool:
            return sum(_pushed(api, r) > 0 for r in range(1, READERS + 1)) >= READERS // 3

        try:
            await eventually(some_delivered, within=30)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        at_kill = sum(_pushed(api, r) > 0 for r in range(1, READERS + 1))
        assert at_kill < READERS, "the broadcast finished before the kill: nothing was tested"

        second = await _start(api, database, tmp_path)
        try:

            async def all_delivered() -> bool:
                return all(_pushed(api, r) > 0 for r in range(1, READERS + 1))

            await eventually(all_delivered, within=60)
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 0, stderr.decode()[-2000:]
        assert "resuming" in stderr.decode()

    twice = [r for r in range(1, READERS + 1) if _pushed(api, r) > 1]
    assert all(_pushed(api, r) <= 2 for r in range(1, READERS + 1))
    assert len(twice) <= IN_FLIGHT, f"{len(twice)} readers got the headline twice"
    check = await Database.open(database)
    try:
        rows = await check.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
    finally:
        await check.close()
    assert dict((r[0], r[1]) for r in rows) == {"sent": READERS}
