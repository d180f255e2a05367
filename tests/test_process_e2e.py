"""The real ``python -m bot`` process, configured only through its environment, against the
project's fake Bot API: a reader's whole walk, then a clean SIGTERM shutdown."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.samples import seed_samples
from storage.db import Database
from tests.factories import Herald, button_data, buttons, settings_for, start_bot_process


async def test_reader_walk_against_a_real_process(tmp_path: Path, api: FakeBotAPI) -> None:
    database = tmp_path / "herald.db"
    db = await Database.open(database)
    await seed_samples(db)
    await db.close()
    mark = api.mark()
    process = await start_bot_process(api, database, tmp_path, log_level="DEBUG")
    try:
        await api.wait_for("deleteWebhook", after=mark, timeout=30)
        herald = Herald(api, settings_for(database, api))

        welcome = await herald.send("/start")
        assert "/latest" in welcome.visible_text

        latest = await herald.send("/latest")
        assert len([t for t, _ in buttons(latest) if t[0].isdigit()]) == 5
        _, older = await herald.press(latest, button_data(latest, "Older"))
        assert buttons(older)[0][0].startswith("6.")

        # A message is edited in place: read its buttons before pressing one.
        headline = buttons(older)[0][0].removeprefix("6. ").rstrip("…")
        _, opened = await herald.press(older, button_data(older, "6."))
        assert opened.visible_text.startswith(headline)
        related = [d for t, d in buttons(opened) if t.startswith("🔗")]
        assert related, "every sample article belongs to a story with related articles"
        _, other = await herald.press(opened, related[0])
        assert other.edit_count == 3 and "◀ Back to the list" in [t for t, _ in buttons(other)]

        found = await herald.send("/search comet")
        assert "Tessaly" in found.visible_text and "Results for" in found.visible_text
        nothing = await herald.send("/search qwxzv")
        assert "Nothing found" in nothing.visible_text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert process.returncode == 0, log[-2000:]
    assert "Herald is running as @" in log and "stopping" in log
    assert api.token not in log and api.token.split(":")[1] not in log
