"""Reader comfort end to end: /settings, quiet hours and digests in real time zones, /here.

The delivery worker's wall clock is a ``Clock`` the test moves, so quiet hours, digest times
and daylight-saving changes are exercised at the instants that matter; everything else (the
bot, HTTP, SQLite, the fake Bot API) is real.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.sandbox.fake_api import SentMessage
from storage import outbox as outbox_store
from storage.db import Database
from tests.factories import GROUP, READER, Herald, article, button_data, buttons, eventually

# Also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

NEW_YORKER = 1002


class Clock:
    """A wall clock the test sets; the delivery worker reads it."""

    def __init__(self, iso: str) -> None:
        self.now = _at(iso)

    def __call__(self) -> float:
        return self.now

    def set(self, iso: str) -> None:
        self.now = _at(iso)


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def _clock(herald: Herald, iso: str) -> Clock:
    clock = Clock(iso)
    assert herald.services.worker is not None
    herald.services.worker.clock = clock
    return clock


def _received(herald: Herald, chat_id: int) -> list[SentMessage]:
    """Pushes and digests in a chat (messages with article buttons), oldest first."""
    return [
        m
        for m in herald.api.messages.get(chat_id, {}).values()
        if m.reply_markup and re.search(r"'[an]:\d+", str(m.reply_markup)) and not m.deleted
    ]


async def _held(db: Database, chat_id: int) -> int:
    return int(
        await db.scalar(
            "SELECT count(*) FROM outbox WHERE chat_id = ? AND status = 'pending' AND held = 1",
            (chat_id,),
        )
    )


async def _wait_held(db: Database, chat_id: int, count: int) -> None:
    async def held() -> bool:
        return await _held(db, chat_id) == count

    await eventually(held)


async def _advance(herald: Herald, clock: Clock, iso: str) -> None:
    clock.set(iso)
    herald.services.outbox_changed(urgent=True)


async def _wait_received(herald: Herald, chat_id: int, count: int) -> list[SentMessage]:
    async def arrived() -> bool:
        return len(_received(herald, chat_id)) >= count

    await eventually(arrived)
    return _received(herald, chat_id)


async def _publish(herald: Herald, *titles: str, priority: int = 0) -> list[int]:
    return await herald.publish(*(article(t) for t in titles), priority=priority)


# --------------------------------------------------------------------------- the panel


async def test_settings_panel_changes_each_setting_in_place(herald: Herald) -> None:
    panel = await herald.send("/settings")
    assert "Delivery: as soon as published" in panel.visible_text
    assert "Quiet hours: off" in panel.visible_text and "Time zone: UTC" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "🕐 Hourly"))
    assert "Delivery: hourly digest" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "📅 Daily"))
    assert "Delivery: daily digest at 08:00" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "18:00"))
    assert "daily digest at 18:00" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "23–07"))
    assert "Quiet hours: 23:00–07:00" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "🖼 Previews: on"))
    assert "Link previews: off" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "🚨 Breaking: at once"))
    assert "Breaking news in quiet hours: waits" in panel.visible_text
    _, panel = await herald.press(panel, button_data(panel, "🌙 No quiet hours"))
    assert "Quiet hours: off" in panel.visible_text

    typo = await herald.send("/timezone Europe/Berln")
    assert "/timezone Europe/Berlin" in typo.visible_text
    city = await herald.send("/timezone Londn")  # only what is about as close as the best
    assert "/timezone Europe/London" in city.visible_text and "Lindeman" not in city.visible_text
    zone = await herald.send("/timezone europe/madrid")
    assert "Time zone set to Europe/Madrid" in zone.visible_text
    quiet = await herald.send("/quiet 22:30-06:15")
    assert "Quiet hours 22:30–06:15 (Europe/Madrid)" in quiet.visible_text
    bad = await herald.send("/quiet sometimes")
    assert "/quiet 23:00-07:00" in bad.visible_text
    digest = await herald.send("/digest daily 6:45")
    assert "once a day at 06:45 (Europe/Madrid)" in digest.visible_text
    wrong = await herald.send("/digest weekly")
    assert "/digest hourly" in wrong.visible_text
    forged = herald.api.press_button(READER, panel.message_id, "g:m:weekly", forged=True)
    answer = await herald.api.wait_for(
        "answerCallbackQuery",
        lambda c: c.params["callback_query_id"] == forged["callback_query"]["id"],
    )
    assert answer.params["text"] == "This button has expired."


async def test_only_admins_change_a_groups_settings(herald: Herald) -> None:
    herald.api.register_chat(GROUP, "supergroup", title="Newsroom fans")
    herald.api.set_chat_member(GROUP, 2002, "administrator")
    herald.api.set_chat_member(GROUP, 3003, "member")
    refused = await herald.send("/settings", chat_id=GROUP, user_id=3003)
    assert "Only this chat's admins" in refused.visible_text
    panel = await herald.send("/settings", chat_id=GROUP, user_id=2002)
    assert "Settings for this group" in panel.visible_text


# ---------------------------------------------------- quiet hours in two time zones


async def test_quiet_hours_hold_news_until_morning_then_one_digest(
    herald: Herald, db: Database
) -> None:
    for chat, zone in ((READER, "Europe/Berlin"), (NEW_YORKER, "America/New_York")):
        await herald.send("/subscribe", chat_id=chat)
        await herald.send(f"/timezone {zone}", chat_id=chat)
        await herald.send("/quiet 23:00-07:00", chat_id=chat)
    # 22:30 UTC is 00:30 in Berlin (quiet) and 18:30 in New York (awake).
    clock = _clock(herald, "2026-06-10T22:30:00")
    await _publish(herald, "Night ferry runs aground", "Storm warning for the coast")

    await _wait_received(herald, NEW_YORKER, 2)
    await _wait_held(db, READER, 2)
    assert _received(herald, READER) == []

    await _advance(herald, clock, "2026-06-11T04:59:00")  # 06:59 in Berlin: still quiet
    await _publish(herald, "Harbour cranes restart at dawn")
    await _wait_held(db, READER, 3)
    assert _received(herald, READER) == []

    await _advance(herald, clock, "2026-06-11T05:00:05")  # 07:00 in Berlin
    (digest,) = await _wait_received(herald, READER, 1)
    assert "Your news digest · 3 articles" in digest.visible_text
    for n, title in enumerate(
        ["Night ferry runs aground", "Storm warning for the coast", "Harbour cranes restart"], 1
    ):
        assert f"{n}. {title}" in digest.visible_text
    assert len(buttons(digest)) == 3 and buttons(digest)[0][0].startswith("1. Night ferry")
    assert await _held(db, READER) == 0
    # New York's quiet hours start at 03:00 UTC: the dawn story waited there too, alone,
    # and goes out at 07:00 New York time as an ordinary push.
    await _advance(herald, clock, "2026-06-11T11:00:05")
    pushes = await _wait_received(herald, NEW_YORKER, 3)
    assert "Harbour cranes restart at dawn" in pushes[-1].visible_text


async def test_breaking_news_ignores_quiet_hours_unless_asked(herald: Herald, db: Database) -> None:
    await herald.send("/subscribe")
    await herald.send("/quiet 22-07")
    _clock(herald, "2026-01-15T23:30:00")
    await _publish(herald, "Dam breach: evacuate the lower town", priority=10)
    (push,) = await _wait_received(herald, READER, 1)
    assert "Dam breach" in push.visible_text

    panel = await herald.send("/settings")
    await herald.press(panel, button_data(panel, "🚨 Breaking: at once"))
    await _publish(herald, "Second breach reported upstream", priority=10)
    await _wait_held(db, READER, 1)
    assert len(_received(herald, READER)) == 1


# ------------------------------------------------------------------------- digests


async def test_hourly_digest_collects_the_hour(herald: Herald, db: Database) -> None:
    await herald.send("/subscribe")
    await herald.send("/digest hourly")
    clock = _clock(herald, "2026-02-02T10:20:00")
    await _publish(herald, "Council meets on the budget", "Library hours extended")
    await _wait_held(db, READER, 2)
    await _advance(herald, clock, "2026-02-02T10:59:59")
    await _publish(herald, "Bus route 7 diverted")
    await _wait_held(db, READER, 3)
    assert _received(herald, READER) == []
    await _advance(herald, clock, "2026-02-02T11:00:01")
    (digest,) = await _wait_received(herald, READER, 1)
    assert "3 articles" in digest.visible_text
    await _publish(herald, "Late story after the digest")
    await _wait_held(db, READER, 1)
    row = await db.fetchone(
        "SELECT not_before FROM outbox WHERE chat_id = ? AND held = 1 AND status = 'pending'",
        (READER,),
    )
    assert row[0] == _at("2026-02-02T12:00:00")


async def test_long_digest_is_split_into_parts(herald: Herald, db: Database) -> None:
    await herald.send("/subscribe")
    await herald.send("/digest daily 08:00")
    clock = _clock(herald, "2026-04-01T20:00:00")
    await _publish(herald, *(f"Story number {n} of the day" for n in range(1, 13)))
    await _wait_held(db, READER, 12)
    await _advance(herald, clock, "2026-04-02T08:00:01")
    first, second = await _wait_received(herald, READER, 2)
    assert "part 1 of 2" in first.visible_text and "part 2 of 2" in second.visible_text
    assert len(buttons(first)) == 10 and len(buttons(second)) == 2
    assert "11. Story number 11" in second.visible_text


async def test_daily_digest_fires_once_across_both_dst_changes(
    herald: Herald, db: Database
) -> None:
    await herald.send("/subscribe")
    await herald.send("/timezone Europe/Berlin")
    await herald.send("/digest daily 08:00")

    # Spring forward: on 29 March 2026 Berlin's 08:00 is 06:00 UTC (it was 07:00 the day before).
    clock = _clock(herald, "2026-03-28T20:00:00")
    await _publish(herald, "Clocks go forward tonight")
    await _wait_held(db, READER, 1)
    await _advance(herald, clock, "2026-03-29T05:59:00")
    await _publish(herald, "Spring market opens")
    await _wait_held(db, READER, 2)
    assert _received(herald, READER) == []
    await _advance(herald, clock, "2026-03-29T06:00:01")
    (spring,) = await _wait_received(herald, READER, 1)
    assert "2 articles" in spring.visible_text

    # Fall back: on 25 October 2026 Berlin's 08:00 is 07:00 UTC again.
    await _advance(herald, clock, "2026-10-24T21:00:00")
    await _publish(herald, "Clocks go back tonight", "Autumn fair closes")
    await _wait_held(db, READER, 2)
    await _advance(herald, clock, "2026-10-25T06:30:00")  # 07:30 in Berlin
    await _publish(herald, "Fog over the estuary")
    await _wait_held(db, READER, 3)
    assert len(_received(herald, READER)) == 1
    await _advance(herald, clock, "2026-10-25T07:00:01")
    autumn = (await _wait_received(herald, READER, 2))[-1]
    assert "3 articles" in autumn.visible_text

    # Later that day nothing more goes out, and the next story waits for Monday's digest.
    await _advance(herald, clock, "2026-10-25T12:00:00")
    await _publish(herald, "Monday's story")
    await _wait_held(db, READER, 1)
    assert len(_received(herald, READER)) == 2
    row = await db.fetchone(
        "SELECT not_before FROM outbox WHERE chat_id = ? AND held = 1 AND status = 'pending'",
        (READER,),
    )
    assert row[0] == _at("2026-10-26T07:00:00")


async def test_switching_to_instant_sends_what_waited(herald: Herald, db: Database) -> None:
    await herald.send("/subscribe")
    await herald.send("/digest daily 08:00")
    _clock(herald, "2026-05-05T12:00:00")
    await _publish(herald, "First waiting story", "Second waiting story")
    await _wait_held(db, READER, 2)
    await herald.send("/digest off")
    (digest,) = await _wait_received(herald, READER, 1)
    assert "2 articles" in digest.visible_text
    assert await outbox_store.has_pending(db) is False


# ------------------------------------------------------------------- previews, topics


async def test_previews_off_and_forum_topic(herald: Herald) -> None:
    await herald.send("/subscribe")
    panel = await herald.send("/settings")
    await herald.press(panel, button_data(panel, "🖼 Previews: on"))
    await herald.publish(article("Picture story", image_url="https://example.com/a.jpg"))
    (push,) = await _wait_received(herald, READER, 1)
    call = next(
        c for c in herald.api.calls_of("sendMessage") if "Picture story" in c.params["text"]
    )
    assert call.params["link_preview_options"] == {"is_disabled": True}

    forum = -100777
    herald.api.register_chat(forum, "supergroup", title="Port fans", forum=True)
    herald.api.set_chat_member(forum, 2002, "administrator")
    await herald.send("/subscribe", chat_id=forum, user_id=2002)
    not_forum = await herald.send("/here", chat_id=READER)
    assert "group with topics" in not_forum.visible_text
    here = await herald.send("/here", chat_id=forum, user_id=2002, thread_id=42)
    assert "post new articles in this topic" in here.visible_text
    await herald.publish(article("Topic story"))

    async def in_topic() -> bool:
        return any(
            m.message_thread_id == 42 and "Topic story" in m.visible_text
            for m in herald.api.messages.get(forum, {}).values()
        )

    await eventually(in_topic)


async def test_a_spanish_reader_gets_settings_and_digests_in_spanish(
    herald: Herald, db: Database
) -> None:
    panel = await herald.send("/settings", language_code="es")
    assert (
        "Tus ajustes" in panel.visible_text
        and "Entrega: en cuanto se publican" in panel.visible_text
    )
    await herald.send("/subscribe", language_code="es")
    await herald.send("/digest hourly", language_code="es")
    clock = _clock(herald, "2026-02-02T10:20:00")
    await _publish(herald, *(f"Noticia número {n}" for n in range(1, 12)))
    await _wait_held(db, READER, 11)
    await _advance(herald, clock, "2026-02-02T11:00:01")
    first, _second = await _wait_received(herald, READER, 2)
    assert "Tu resumen de noticias · parte 1 de 2" in first.visible_text

    _, english = await herald.press(panel, button_data(panel, "English"))
    assert "Your settings" in english.visible_text and "Language: English" in english.visible_text
