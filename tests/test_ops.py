"""The operator's view: /healthz, /readyz and /metrics of a running Herald, JSON log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import WEB_KEY
from bot.logs import JsonFormatter
from bot.sandbox.fake_api import FakeBotAPI
from storage import outbox
from tests.factories import (
    READER,
    Herald,
    article,
    button_data,
    eventually,
    settings_for,
    start_bot_process,
    store,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _get(herald: Herald, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(herald.app.bot_data[WEB_KEY].base_url + path) as response:
            return response.status, await response.text()


async def _samples(herald: Herald) -> Samples:
    status, text = await _get(herald, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_what_a_scripted_run_did(herald: Herald) -> None:
    api, db = herald.api, herald.services.db
    await store(db, *[article(f"Archive story {i}") for i in range(8)])
    before = await _samples(herald)
    await herald.send("/start")
    latest = await herald.send("/latest")
    await herald.press(latest, button_data(latest, "Older"))
    blocked, flooded, fine = 2002, 2003, 2001
    for reader in (fine, blocked, flooded):
        await herald.send("/subscribe", chat_id=reader)
    api.fail_chat(blocked, "blocked")
    api.fail_next("sendMessage", flooded, retry_after=1)
    await herald.publish(article("Metrics story", "Counted once."))

    async def settled() -> bool:
        counts = await outbox.count_by_status(db)
        return counts.get(outbox.SENT) == 2 and counts.get(outbox.FAILED) == 1

    await eventually(settled, within=15)
    after = await _samples(herald)

    assert _delta(before, after, "herald_updates_total", type="message") == 5
    assert _delta(before, after, "herald_updates_total", type="callback_query") == 1
    assert _delta(before, after, "herald_deliveries_total", outcome="sent") == 2
    assert _delta(before, after, "herald_deliveries_total", outcome="blocked") == 1
    assert _delta(before, after, "herald_deliveries_total", outcome="retry_after") == 1
    assert _delta(before, after, "herald_telegram_429_total", lane="broadcast") == 1
    broadcast_sends = _delta(
        before, after, "herald_telegram_requests_total", lane="broadcast", method="sendMessage"
    )
    assert broadcast_sends == 4  # fine, blocked, flooded, flooded again
    replies = _delta(
        before, after, "herald_telegram_requests_total", lane="reply", method="sendMessage"
    )
    assert replies == 5
    assert _delta(before, after, "herald_handler_seconds_count") == 6
    assert after[("herald_outbox_rows", (("status", "sent"),))] == 2
    assert after[("herald_outbox_rows", (("status", "failed"),))] == 1
    assert after[("herald_leader", ())] == 1
    labels = {value for (_, pairs) in after for _, value in pairs}
    for private in (str(READER), str(blocked), "Metrics story"):
        assert private not in labels


async def test_healthz_and_readyz_follow_the_database(herald: Herald) -> None:
    assert (await _get(herald, "/healthz"))[0] == 200
    status, body = await _get(herald, "/readyz")
    ready = json.loads(body)
    assert status == 200, body
    assert ready["status"] == "ready" and ready["leader"] is True
    assert ready["outbox_pending"] == 0 and ready["intake_oldest_pending_age"] is None
    assert "feed_last_poll_age" in ready

    path = herald.services.db.path
    away = path.with_name("moved-away.db")
    path.rename(away)
    try:

        async def not_ready() -> bool:
            return (await _get(herald, "/readyz"))[0] == 503

        await eventually(not_ready, within=2)
        status, body = await _get(herald, "/readyz")
        assert json.loads(body)["database"].startswith("unreachable")
        assert (await _get(herald, "/healthz"))[0] == 200  # the process still answers
    finally:
        away.rename(path)

    async def ready_again() -> bool:
        return (await _get(herald, "/readyz"))[0] == 200

    await eventually(ready_again, within=2)


async def _lines_until(stream: asyncio.StreamReader, done, within: float = 20) -> list[str]:  # noqa: ANN001
    """Read stderr lines until ``done(lines)`` holds."""
    lines: list[str] = []
    async with asyncio.timeout(within):
        while not done(lines):
            raw = await stream.readline()
            if not raw:
                break
            lines.append(raw.decode())
    return lines


async def test_json_log_lines_carry_update_and_chat(tmp_path: Path, api: FakeBotAPI) -> None:
    mark = api.mark()
    process = await start_bot_process(
        api, tmp_path / "h.db", tmp_path, log_level="DEBUG", log_format="json"
    )
    try:
        await api.wait_for("deleteWebhook", after=mark, timeout=30)
        herald = Herald(api, settings_for(tmp_path / "h.db", api))
        await herald.send("/start")
        # The Bot API is gone: each failed poll is one line, not a traceback.
        await api.stop()
        assert process.stderr is not None
        lines = await _lines_until(
            process.stderr, lambda seen: sum("polling for updates failed" in s for s in seen) >= 2
        )
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    lines += rest.decode().splitlines() if rest else []
    records = [json.loads(line) for line in lines if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    in_handler = [r for r in records if r.get("update_id") is not None]
    assert in_handler and all(r["chat_id"] == READER for r in in_handler)
    failed_polls = [r for r in records if "polling for updates failed" in r["message"]]
    assert len(failed_polls) >= 2 and not any("exc" in r for r in failed_polls)
    text = "\n".join(lines)
    assert "Traceback" not in text
    assert api.token not in text and api.token.split(":")[1] not in text


async def test_unreachable_bot_api_logs_one_line_per_delivery_retry(
    herald: Herald, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await herald.send("/subscribe")
    await herald.api.stop()  # Telegram is gone: nothing listens on its port any more
    await herald.publish(article("Nobody hears this", "Yet."))

    def retries() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "failed, retry in" in r.getMessage()]

    async def retried_twice() -> bool:
        return len(retries()) >= 2

    await eventually(retried_twice, within=15)
    assert all(r.exc_info is None and "could not connect" in r.getMessage() for r in retries())
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("bot")]


async def test_json_lines_of_a_send_carry_its_chat(herald: Herald) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([herald.api.token]))
    delivery_log = logging.getLogger("bot.services.delivery")
    delivery_log.addHandler(handler)
    level = delivery_log.level
    delivery_log.setLevel(logging.INFO)
    try:
        await herald.send("/subscribe")
        herald.api.fail_chat(READER, "blocked")
        await herald.publish(article("Blocked reader story", "Never arrives."))

        async def paused() -> bool:
            return "paused" in stream.getvalue()

        await eventually(paused)
    finally:
        delivery_log.removeHandler(handler)
        delivery_log.setLevel(level)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    line = next(r for r in records if "paused" in r["message"])
    assert line["chat_id"] == READER and "update_id" not in line
    assert line["logger"] == "bot.services.delivery" and line["level"] == "INFO"
