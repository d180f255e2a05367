"""Flood limits, persistent per-chat failures and delivery counting of the fake Bot API.

Driven by a real PTB ``Bot`` over HTTP, like ``test_fake_api``. Time windows are real
(``time.monotonic()``): tests stay fast by using small counts, never by waiting a window out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
import telegram
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.sandbox.fake_api import FakeBotAPI, FloodLimits
from bot.sandbox.fake_limits import SendStats

CHAT = 4242
GROUP = -1001

# Reading RetryAfter.retry_after warns about its future type (see ``seconds``).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def seconds(value: int | timedelta) -> float:
    """``RetryAfter.retry_after`` is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, timedelta) else value


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(limits=FloodLimits()) as server:
        yield server


async def post_messages(api: FakeBotAPI, chat_ids: list[int], text: str = "hi") -> list[int]:
    """sendMessage form POSTs (as PTB encodes them) over parallel connections; HTTP statuses."""
    url = f"{api.base_url}{api.token}/sendMessage"
    async with aiohttp.ClientSession() as session:

        async def post(chat_id: int) -> int:
            data = {"chat_id": str(chat_id), "text": text, "parse_mode": "HTML"}
            async with session.post(url, data=data) as response:
                await response.read()
                return response.status

        return list(await asyncio.gather(*(post(chat_id) for chat_id in chat_ids)))


# ---------------------------------------------------------------------- window semantics


def test_windows_are_half_open_and_retry_after_is_rounded_up() -> None:
    limits = FloodLimits(global_per_second=2, private_per_second=4, group_per_minute=1)
    stats = SendStats()
    assert stats.admit(limits, 1, True, 0.0) is None
    assert stats.admit(limits, 2, True, 0.5) is None
    flood = stats.admit(limits, 3, True, 0.99)  # 3rd send within [0, 1): 0.01 s to wait
    assert flood is not None and flood.body() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert stats.admit(limits, 3, True, 1.0) is None, "the send at 0.0 left the window"
    assert stats.admit(limits, 2, True, 1.6) is None  # 1.1 s after chat 2's previous send
    assert stats.admit(limits, 2, True, 1.8) is not None, "private: 0.2 s < 1/4 s apart"
    assert stats.admit(limits, 2, True, 2.0) is None, "rejected sends do not count"
    assert stats.admit(limits, -5, False, 3.0) is None
    group_flood = stats.admit(limits, -5, False, 3.5)
    assert group_flood is not None and group_flood.parameters == {"retry_after": 60}
    assert stats.admit(limits, -5, False, 63.0) is None

    assert (stats.sent, stats.rejected_429) == (7, 3)
    assert stats.send_times(2) == [0.5, 1.6, 2.0]
    assert stats.send_times() == [0.0, 0.5, 1.0, 1.6, 2.0, 3.0, 63.0]
    assert stats.max_in_window(1.0) == 2 and stats.max_in_window(1.01) == 3
    assert stats.max_in_window(0.25, chat_id=2) == 1 and stats.max_in_window(60, -5) == 1
    assert stats.max_in_window(1.0, chat_id=999) == 0
    assert sorted(stats.chats()) == [-5, 1, 2, 3]


def test_flood_limits_are_frozen_and_validated() -> None:
    limits = FloodLimits()
    assert (limits.global_per_second, limits.private_per_second, limits.group_per_minute) == (
        30,
        1,
        20,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.global_per_second = 100  # type: ignore[misc]
    with pytest.raises(ValueError):
        FloodLimits(global_per_second=0)
    with pytest.raises(ValueError):
        FloodLimits(private_per_second=0)


# ---------------------------------------------------------------------- flood limits via PTB


async def test_global_limit_rejects_the_31st_send_within_a_second(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    for chat_id in range(1, 31):  # distinct private chats: only the global limit can trip
        await bot.send_message(chat_id, "news")
    assert time.monotonic() - started < 0.9, "machine too slow for a 1 s window test"
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(31, "news")
    assert seconds(flood.value.retry_after) == 1
    failed = api.calls_of("sendMessage")[-1]
    assert not failed.ok and failed.error == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert (api.stats.sent, api.stats.rejected_429) == (30, 1)
    assert api.stats.max_in_window(1.0) == 30
    assert 31 not in api.delivery_counts() and api.delivered(31) == []


async def test_private_chat_gets_one_message_per_second(api: FakeBotAPI, bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "first")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "second")
    assert seconds(flood.value.retry_after) == 1
    await bot.send_message(CHAT + 1, "another user is not affected")
    # Edits count as sends too; answering callbacks or reading members does not.
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("edited", chat_id=CHAT, message_id=1)
    await bot.get_chat_member(CHAT, CHAT)
    await bot.send_chat_action(CHAT, "typing")
    assert [m.text for m in api.delivered(CHAT)] == ["first"]
    assert (api.stats.sent, api.stats.rejected_429) == (2, 2)


async def test_rejected_sends_do_not_count(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.limits = FloodLimits(private_per_second=5)  # one per 0.2 s
    await bot.send_message(CHAT, "first")
    first = api.stats.send_times(CHAT)[0]
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "too soon")
    await asyncio.sleep(first + 0.21 - time.monotonic())
    await bot.send_message(CHAT, "in time: measured from the accepted send, not the 429")
    assert len(api.delivered(CHAT)) == 2 and api.stats.rejected_429 == 1


async def test_group_gets_twenty_messages_a_minute(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.register_chat(GROUP, "supergroup", title="Newsroom")
    for i in range(20):  # no per-second limit in groups: a burst of 20 is fine
        await bot.send_message(GROUP, f"item {i}")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(GROUP, "21st")
    assert 59 <= seconds(flood.value.retry_after) <= 60
    assert api.stats.max_in_window(60, GROUP) == 20


async def test_small_group_and_channel_limits(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.limits = FloodLimits(group_per_minute=3)
    api.register_chat(-2, "group")
    api.register_chat(-3, "channel", username="wire")
    for chat in (-2, "@wire"):
        for _ in range(3):
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(chat, "4th in a minute")
    assert api.delivery_counts() == {-2: 3, -3: 3}
    assert api.stats.send_times(-3) == [c.time for c in api.calls_of("sendMessage")[4:7]]


async def test_a_paced_sender_gets_no_429(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.limits = FloodLimits(global_per_second=30, private_per_second=10, group_per_minute=3)
    api.register_chat(GROUP, "group")
    for i in range(3):  # the group's whole minute budget at once is allowed
        await bot.send_message(GROUP, f"group {i}")
    users = [11, 12, 13]
    for i in range(21):
        await bot.send_message(users[i % 3], f"user {i}")
        await asyncio.sleep(0.04)  # <= 25 sends/s overall, each user every >= 0.12 s
    assert api.stats.rejected_429 == 0 and api.stats.sent == 24
    assert api.stats.max_in_window(1.0) <= 30
    assert all(api.stats.max_in_window(0.1, user) == 1 for user in users)
    assert api.stats.max_in_window(60, GROUP) == 3
    assert api.delivery_counts() == {GROUP: 3, 11: 7, 12: 7, 13: 7}


async def test_limits_can_be_switched_at_run_time() -> None:
    async with FakeBotAPI() as api, telegram.Bot(api.token, base_url=api.base_url) as bot:
        for _ in range(3):
            await bot.send_message(CHAT, "no limits by default")
        assert api.stats.sent == 3 and api.stats.max_in_window(1.0, CHAT) == 3
        api.limits = FloodLimits()
        with pytest.raises(RetryAfter):  # sends made before enforcement still count
            await bot.send_message(CHAT, "limited")
        api.fail_next("sendMessage", CHAT + 1, retry_after=5)
        with pytest.raises(RetryAfter):  # fail_next is scripted: not a send
            await bot.send_message(CHAT + 1, "injected")
        assert (api.stats.sent, api.stats.rejected_429) == (3, 1)
        api.limits = None
        await bot.send_message(CHAT, "unlimited again")


# ---------------------------------------------------------------------- per-chat failures


async def test_blocked_chats_are_forbidden_until_healed(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.limits = None
    sent = await bot.send_message(CHAT, "before")
    api.fail_chat(CHAT, "blocked")
    api.register_chat(GROUP, "supergroup")
    api.fail_chat(GROUP, "blocked")
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "hello?")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.edit_message_text("edit", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hello?")
    assert [c.error["error_code"] for c in api.calls if not c.ok] == [403] * 4
    api.heal_chat(CHAT)
    await bot.send_message(CHAT, "after")
    assert [m.text for m in api.delivered(CHAT)] == ["before", "after"]


async def test_migrated_group(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.register_chat(-100, "group", title="Old group")
    api.fail_chat(-100, "migrated", migrate_to=-1001234567)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-100, "hi")
    assert migrated.value.new_chat_id == -1001234567
    error = api.calls_of("sendMessage")[-1].error
    assert error == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001234567},
    }
    moved = await bot.send_message(-1001234567, "hi again")
    assert moved.chat.type == "supergroup" and moved.chat.title == "Old group"
    with pytest.raises(ChatMigrated):
        await bot.send_message(-100, "the old id keeps failing")
    with pytest.raises(ValueError):
        api.fail_chat(CHAT, "migrated", migrate_to=-1009)


async def test_timeout_delivers_but_the_client_cannot_know(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    api.fail_chat(CHAT, "timeout", hold=1.0)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "did it arrive?", read_timeout=0.3)
    assert time.monotonic() - started < 0.9
    assert [m.text for m in api.delivered(CHAT)] == ["did it arrive?"]
    assert api.delivery_counts() == {CHAT: 1} and api.calls_of("sendMessage")[-1].ok
    api.heal_chat(CHAT)
    with pytest.raises(RetryAfter):  # the held send counted: it was delivered
        await bot.send_message(CHAT, "prompt again", read_timeout=0.3)
    api.limits = None
    await bot.send_message(CHAT, "prompt again", read_timeout=0.3)


async def test_server_error_twice_then_ok(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.limits = None
    api.fail_chat(CHAT, "server_error", times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(CHAT, "news")
    await bot.send_message(CHAT, "news")
    api.fail_chat(CHAT, "server_error", error_code=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "news")
    await bot.send_message(CHAT, "news")
    assert [c.error["error_code"] for c in api.calls if not c.ok] == [500, 500, 502]
    assert api.delivery_counts() == {CHAT: 2}


async def test_bad_request_chat(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.fail_chat(CHAT, "bad_request")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(CHAT, "x")
    api.fail_chat(CHAT + 1, "bad_request", description="PEER_ID_INVALID")
    with pytest.raises(BadRequest, match="Peer_id_invalid"):
        await bot.send_message(CHAT + 1, "x")
    with pytest.raises(ValueError):
        api.fail_chat(CHAT, "exploded")  # type: ignore[arg-type]
    assert api.delivery_counts() == {}


# ---------------------------------------------------------------------- counting, speed


async def test_delivery_counts_across_many_chats() -> None:
    async with FakeBotAPI(record_calls=False) as api:
        chats = list(range(1, 1001))
        assert set(await post_messages(api, [*chats, 7])) == {200}
        counts = api.delivery_counts()
        assert len(counts) == 1000 and counts[7] == 2
        assert [c for c, n in counts.items() if n > 1] == [7]
        api.messages[7][1].deleted = True
        assert [m.message_id for m in api.delivered(7)] == [2]
        assert api.delivery_counts()[7] == 2, "deliveries stay counted after deletion"
        assert api.calls == [] and api.mark() == 0 and api.stats.sent == 1001
        with pytest.raises(ValueError):
            api.delivery_counts("getMe")


async def test_latency_does_not_serialize_requests() -> None:
    async with FakeBotAPI(latency=0.2, limits=FloodLimits()) as api:
        started = time.monotonic()
        statuses = await post_messages(api, list(range(1, 26)))
        assert time.monotonic() - started < 0.6
        assert statuses == [200] * 25
        # Flood checks use the arrival time, before the latency.
        assert max(api.stats.send_times()) - started < 0.2


async def test_client_giving_up_during_latency_still_delivers() -> None:
    async with FakeBotAPI(latency=0.5) as api:
        async with telegram.Bot(api.token, base_url=api.base_url) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(CHAT, "outcome unknown", read_timeout=0.1)
        call = await api.wait_for("sendMessage", timeout=2)
        assert call.ok and [m.text for m in api.delivered(CHAT)] == ["outcome unknown"]
