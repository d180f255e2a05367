"""Webhook intake: Herald takes updates by POST from the fake Bot API, stores each before
answering, handles each once, in each chat's order, and picks up what a dead process held."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_application, serve
from bot.sandbox import updates as tg
from bot.sandbox.fake_api import FakeBotAPI
from bot.web.webhook import SECRET_HEADER
from storage import intake
from storage.db import Database
from tests.factories import (
    READER,
    Herald,
    article,
    eventually,
    free_port,
    settings_for,
    start_bot_process,
    store,
)

SECRET = "webhook_SECRET-123"


def _message(text: str) -> dict:
    return tg.message_dict(1, tg.chat_dict(READER), tg.user_dict(READER, "Reader"), text=text)


@dataclass
class Hooked:
    herald: Herald
    url: str
    db: Database

    async def post(self, update: dict, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url, json=update, headers=headers) as response:
                return response.status

    async def rows(self) -> list[tuple[int, str, str | None]]:
        found = await self.db.fetchall(
            "SELECT update_id, status, claimed_by FROM intake ORDER BY update_id"
        )
        return [tuple(r) for r in found]


async def _start(tmp_path: Path, api: FakeBotAPI, db: Database):  # noqa: ANN202
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = settings_for(
        db.path, api, http_port=port, webhook_url=url, webhook_secret=SECRET, intake_lease=2
    )
    app = build_application(settings, api.token, api.base_url, api.base_file_url)
    stop = asyncio.Event()
    mark = api.mark()
    task = asyncio.create_task(serve(app, settings, stop))
    await api.wait_for("setWebhook", after=mark, timeout=15)
    return Hooked(Herald(api, settings, app), url, db), stop, task


@pytest.fixture
async def hooked(tmp_path: Path, api: FakeBotAPI, db: Database) -> AsyncIterator[Hooked]:
    running, stop, task = await _start(tmp_path, api, db)
    yield running
    stop.set()
    await asyncio.wait_for(task, timeout=15)


async def test_herald_sets_its_webhook_with_the_secret(hooked: Hooked) -> None:
    hook = hooked.herald.api.webhook
    assert hook is not None and hook.url == hooked.url and hook.secret == SECRET
    assert not hooked.herald.api.calls_of("getUpdates")  # no polling in webhook mode


async def test_missing_or_wrong_secret_is_refused_and_nothing_stored(hooked: Hooked) -> None:
    update = {"update_id": 77, "message": _message("/start")}
    assert await hooked.post(update, secret=None) == 403
    assert await hooked.post(update, secret="wrong") == 403
    assert await hooked.post(update, secret=SECRET + "x") == 403
    assert await hooked.rows() == []


async def test_a_body_over_the_cap_is_refused(hooked: Hooked) -> None:
    huge = {"update_id": 78, "message": _message("x" * (hooked.herald.settings.webhook_max_bytes))}
    assert await hooked.post(huge) == 413
    assert await hooked.rows() == []


async def test_the_same_update_posted_three_times_is_handled_once(hooked: Hooked) -> None:
    api = hooked.herald.api
    update = {
        "update_id": 9001,
        "message": _message("/start"),
    }
    statuses = [await hooked.post(update) for _ in range(3)]
    assert statuses == [200, 200, 200]
    await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == READER)

    async def done() -> bool:
        return [(u, s) for u, s, _ in await hooked.rows()] == [(9001, "done")]

    await eventually(done)
    assert len([c for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) == READER]) == 1


async def test_a_readers_messages_are_answered_in_order(hooked: Hooked) -> None:
    api = hooked.herald.api
    words = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    await store(hooked.db, *[article(f"{w} report", f"All about {w}.") for w in words])
    mark = api.mark()
    # The first reply meets a 429 and waits a second: the later messages, stored meanwhile,
    # must wait for it rather than overtake it.
    api.fail_next("sendMessage", READER, retry_after=1)
    for word in words:
        api.send_text(f"/search {word}", chat_id=READER)

    async def all_answered() -> bool:
        return len(_replies(api, mark)) == 5

    await eventually(all_answered, within=20)
    answers = _replies(api, mark)
    assert [next(w for w in words if f"{w} report" in a) for a in answers] == words


def _replies(api: FakeBotAPI, mark: int) -> list[str]:
    return [
        api.messages[READER][c.result["message_id"]].visible_text
        for c in api.calls[mark:]
        if c.method == "sendMessage" and c.ok and int(c.params["chat_id"]) == READER
    ]


async def test_database_down_answers_503_and_telegram_repeats(hooked: Hooked) -> None:
    api = hooked.herald.api
    locker = sqlite3.connect(hooked.db.path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # no other writer gets in: the database is "down"
        update = api.send_text("/start", chat_id=READER)

        async def refused() -> bool:
            hook = api.webhook
            return hook is not None and "503" in (hook.last_error_message or "")

        await eventually(refused, within=10)
        assert (await _get(hooked, "/readyz"))[0] in (200, 503)  # reads may still work
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == READER, timeout=15)

    async def handled() -> bool:
        return [(u, s) for u, s, _ in await hooked.rows()] == [(update["update_id"], "done")]

    await eventually(handled)
    assert len([c for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) == READER]) == 1


async def _get(hooked: Hooked, path: str) -> tuple[int, str]:
    base = hooked.url.rsplit("/telegram/", 1)[0]
    async with aiohttp.ClientSession() as session:
        async with session.get(base + path) as response:
            return response.status, await response.text()


async def test_an_update_claimed_by_a_dead_process_is_processed(
    tmp_path: Path, api: FakeBotAPI, db: Database
) -> None:
    update = {
        "update_id": 555,
        "message": _message("/start"),
    }
    now = time.time()
    await intake.add(db, 555, READER, json.dumps(update), now - 120)
    claimed = await intake.claim(db, "dead-host:1:abc", 10, now - 120, lease=60)
    assert [c.update_id for c in claimed] == [555]  # held by a process that then died
    running, stop, task = await _start(tmp_path, api, db)
    try:
        reply = await api.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == READER)
        assert "/latest" in api.messages[READER][reply.result["message_id"]].visible_text

        async def done_here() -> bool:
            rows = await running.rows()
            return rows[0][1] == "done" and rows[0][2] != "dead-host:1:abc"

        await eventually(done_here)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_sigterm_finishes_or_hands_back_and_exits_0(tmp_path: Path) -> None:
    """A real ``python -m bot`` in webhook mode, SIGTERMed while it handles updates."""
    database = tmp_path / "h.db"
    port = free_port()
    async with FakeBotAPI() as api:
        mark = api.mark()
        process = await start_bot_process(
            api,
            database,
            tmp_path,
            http_port=str(port),
            webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
            webhook_secret=SECRET,
        )
        try:
            await api.wait_for("setWebhook", after=mark, timeout=30)
            api.latency = 20.0  # from now on every reply hangs: handlers are in flight at SIGTERM
            for reader in range(3001, 3013):
                api.send_text("/start", chat_id=reader)
            reader_db = sqlite3.connect(database)

            async def claimed() -> bool:
                held = reader_db.execute(
                    "SELECT count(*) FROM intake WHERE status = 'pending' "
                    "AND claimed_by IS NOT NULL"
                ).fetchone()[0]
                return held > 0

            await eventually(claimed, within=15)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=10)
        finally:
            if process.returncode is None:
                process.kill()
            _, stderr = await process.communicate()
    log = stderr.decode()
    assert process.returncode == 0, log[-2000:]
    left = reader_db.execute(
        "SELECT count(*) FROM intake WHERE status = 'pending' AND claimed_by IS NOT NULL"
    ).fetchone()[0]
    handed_back = reader_db.execute(
        "SELECT count(*) FROM intake WHERE status = 'pending' AND attempts > 0"
    ).fetchone()[0]
    reader_db.close()
    assert left == 0 and handed_back >= 1 and "handed back" in log
    assert SECRET not in log and api.token not in log


async def test_a_slow_update_keeps_its_lease_and_is_handled_once(hooked: Hooked) -> None:
    """The lease (2 s here) runs out while the reply takes 3.5 s: it is renewed, not lost."""
    api = hooked.herald.api
    api.latency = 3.5
    update = api.send_text("/start", chat_id=READER)

    async def done() -> bool:
        return [(u, s) for u, s, _ in await hooked.rows()] == [(update["update_id"], "done")]

    await eventually(done, within=15)
    attempts = await hooked.db.scalar("SELECT attempts FROM intake")
    assert attempts == 1
    assert len([c for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) == READER]) == 1
