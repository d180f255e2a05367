"""One reader cannot starve the others (issue 13, finding 2), with Telegram's limits enforced.

The real bot against the fake Bot API with ``FloodLimits()`` on (30 a second, 1 a second to a
private chat, 20 a minute to a group): any reply that breaks a limit shows up as a 429 in
``api.stats``. The tests assert what readers get and in which order the fake received it,
never how long something took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import telegram

from bot.i18n import _
from bot.rendering.base import SLOW_DOWN
from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.fake_limits import FloodLimits
from bot.sandbox.fake_state import ApiCall
from storage import chats, subscriptions
from tests.factories import Herald, article, eventually, herald_running, settings_for

FLOODER, OTHER = 7001, 7002
AUDIENCE = list(range(8000, 8060))  # private chats subscribed to everything

# Reading RetryAfter.retry_after warns about its future type.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@asynccontextmanager
async def running(tmp_path: Path, **settings: object) -> AsyncIterator[Herald]:
    """Herald against a fake that enforces Telegram's flood limits."""
    async with FakeBotAPI(limits=FloodLimits()) as api:
        config = settings_for(tmp_path / "h.db", api, **settings)
        async with herald_running(config, api, stop_within=30) as herald:
            yield herald


async def seed(herald: Herald) -> None:
    """Something to read, and an audience for broadcasts."""
    db = herald.services.db
    await herald.publish(*(article(f"Rain story {i}", "Rain all week.") for i in range(6)))
    for chat in AUDIENCE:
        await chats.upsert_chat(db, chat, "private", "", 0)
        await subscriptions.add_subscription(db, chat, "all", 0)


async def drained(herald: Herald) -> None:
    """Every update fetched so far has been handled (or dropped)."""
    app = herald.app
    assert app is not None

    async def idle() -> bool:
        return app.update_queue.empty() and app.update_processor.current_concurrent_updates == 0

    await eventually(idle, within=30)


def sends_to(api: FakeBotAPI, chat_id: int) -> list[ApiCall]:
    return [c for c in api.calls_of("sendMessage") if int(c.params["chat_id"]) == chat_id]


def index_of(api: FakeBotAPI, call: ApiCall) -> int:
    return api.calls.index(call)


async def test_a_flooding_reader_is_told_once_then_dropped(tmp_path: Path) -> None:
    async with running(tmp_path, user_burst=3, user_rate=1) as herald:
        api = herald.api
        await seed(herald)
        mark = api.mark()
        for _i in range(40):
            api.send_text("/search rain", chat_id=FLOODER)
        await herald.send("/latest", chat_id=OTHER)  # sent after the flood: a sentinel
        await drained(herald)

        replies = [c for c in sends_to(api, FLOODER) if c.ok and api.calls.index(c) >= mark]
        texts = [c.params["text"] for c in replies]
        assert texts.count(_(SLOW_DOWN)) == 1, texts
        assert len(texts) == 3 + 1, "the burst is answered, the rest gets one 'slow down'"
        assert texts[-1] == _(SLOW_DOWN)
        assert api.stats.rejected_429 == 0, "no 429 storm"


async def test_another_reader_is_answered_during_a_flood_and_a_broadcast(tmp_path: Path) -> None:
    async with running(tmp_path, user_burst=5, user_rate=0.01) as herald:
        api = herald.api
        await seed(herald)
        mark = api.mark()
        await herald.publish(article("Breaking: the river rises", "Water everywhere."))
        for _i in range(100):
            api.send_text("/search rain", chat_id=FLOODER)
        answer = await herald.send("/latest", chat_id=OTHER)
        assert "Rain story" in answer.visible_text

        async def broadcast_done() -> bool:
            return all(
                any("river rises" in m.visible_text for m in api.delivered(c)) for c in AUDIENCE
            )

        await eventually(broadcast_done, within=30)
        pushes = [
            c
            for c in api.calls_of("sendMessage")
            if c.ok and "river rises" in c.params.get("text", "") and api.calls.index(c) >= mark
        ]
        other = sends_to(api, OTHER)[-1]
        assert index_of(api, other) < index_of(api, pushes[-1]), "answered while it ran"
        assert api.stats.rejected_429 == 0


async def test_replies_keep_their_chats_spacing(tmp_path: Path) -> None:
    """Three commands at once from one chat: three answers, none refused with a 429."""
    async with running(tmp_path) as herald:
        api = herald.api
        await seed(herald)
        for command in ("/latest", "/search rain", "/help"):
            api.send_text(command, chat_id=OTHER)

        async def three_answers() -> bool:
            return len([c for c in sends_to(api, OTHER) if c.ok]) == 3

        await eventually(three_answers, within=30)
        assert api.stats.rejected_429 == 0
        assert api.stats.max_in_window(1.0, OTHER) == 1


async def test_a_429_on_a_reply_does_not_hold_up_other_readers(tmp_path: Path) -> None:
    """Readers whose chat just got a message from elsewhere: their replies meet a 429.

    Their retries wait out ``retry_after`` without holding an update slot: a reader who
    writes after them is answered before any of those retries goes out.
    """
    async with running(tmp_path, update_slots=4) as herald:
        api = herald.api
        await seed(herald)
        unlucky = list(range(7100, 7110))
        async with telegram.Bot(api.token, base_url=api.base_url) as other_client:
            for chat in unlucky:  # Herald does not know of these: its own pacer cannot help
                await other_client.send_message(chat, "from another bot session")
        for chat in unlucky:
            api.send_text("/latest", chat_id=chat)

        async def all_refused_once() -> bool:
            refused = {int(c.params["chat_id"]) for c in api.calls_of("sendMessage") if not c.ok}
            return refused >= set(unlucky)

        await eventually(all_refused_once, within=10)
        answer = await herald.send("/latest", chat_id=OTHER)
        assert "Rain story" in answer.visible_text

        async def retried() -> bool:
            return all(any(c.ok for c in sends_to(api, chat)[1:]) for chat in unlucky)

        await eventually(retried, within=30)
        first_retry = min(
            index_of(api, next(c for c in sends_to(api, chat)[1:] if c.ok)) for chat in unlucky
        )
        assert index_of(api, sends_to(api, OTHER)[-1]) < first_retry


async def test_taps_and_inline_queries_are_answered_ahead_of_a_broadcast(tmp_path: Path) -> None:
    """Answers to taps and inline queries are not messages: a broadcast never delays them."""
    async with running(tmp_path, broadcast_rate=10) as herald:
        api = herald.api
        await seed(herald)
        listing = await herald.send("/latest", chat_id=OTHER)
        mark = api.mark()
        await herald.publish(article("Breaking: the river rises", "Water everywhere."))
        await api.wait_for(
            "sendMessage", lambda c: "river rises" in c.params.get("text", ""), after=mark
        )
        tap = api.press_button(
            OTHER,
            listing.message_id,
            listing.reply_markup["inline_keyboard"][0][0]["callback_data"],
        )
        query_id = api.send_inline_query(OTHER, "rain")
        tap_answer = await api.wait_for(
            "answerCallbackQuery",
            lambda c: c.params["callback_query_id"] == tap["callback_query"]["id"],
            after=mark,
        )
        inline_answer = await api.wait_for(
            "answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id, after=mark
        )
        pushes = [
            c
            for c in api.calls_of("sendMessage")
            if "river rises" in c.params.get("text", "") and api.calls.index(c) >= mark
        ]
        assert len(pushes) < len(AUDIENCE) / 2, "both answered early in the broadcast"
        assert tap_answer.ok and inline_answer.ok
        assert api.stats.rejected_429 == 0


async def test_replies_use_the_whole_budget_when_no_broadcast_runs(tmp_path: Path) -> None:
    """With nothing to push, readers are not held to the broadcast rate."""
    async with running(tmp_path, broadcast_rate=3) as herald:
        api = herald.api
        await seed(herald)
        readers = list(range(7200, 7225))
        for chat in readers:
            api.send_text("/latest", chat_id=chat)

        async def all_answered() -> bool:
            return all(any(c.ok for c in sends_to(api, chat)) for chat in readers)

        await eventually(all_answered, within=30)
        assert api.stats.max_in_window(1.0) >= 10, "more than 3 (the broadcast rate) a second"
        assert api.stats.rejected_429 == 0
