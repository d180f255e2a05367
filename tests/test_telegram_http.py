"""PTB over Herald's aiohttp transport (``bot.telegram_http``), against the fake Bot API over
real HTTP on 127.0.0.1: what PTB's callers see (objects, errors) must be what ``HTTPXRequest``
gives them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ApplicationBuilder

from bot.sandbox.fake_api import FakeBotAPI
from bot.sender import BroadcastSender, Sent
from bot.telegram_http import AiohttpRequest

CHAT = 4242


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        request=AiohttpRequest(read_timeout=0.5),
        get_updates_request=AiohttpRequest(1),
    ) as client:
        yield client


async def test_messages_buttons_and_text_arrive_as_sent(api: FakeBotAPI, bot: telegram.Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ещё ›", callback_data="n:l:0:1")]])
    sent = await bot.send_message(
        CHAT, "<b>Новости</b> &amp; more", parse_mode="HTML", reply_markup=markup
    )
    assert sent.text == "Новости & more" and sent.reply_markup == markup
    stored = api.last_message(CHAT)
    assert stored is not None and stored.text == "<b>Новости</b> &amp; more"
    edited = await bot.edit_message_text("Second", chat_id=CHAT, message_id=sent.message_id)
    assert edited.text == "Second"
    assert await bot.get_me() == bot.bot


async def test_an_upload_and_its_download(api: FakeBotAPI, bot: telegram.Bot) -> None:
    """The OPML export is Herald's one upload (multipart); an OPML import is a download."""
    data = b'<?xml version="1.0"?><opml version="2.0"><body/></opml>\n'
    sent = await bot.send_document(
        CHAT, telegram.InputFile(data, filename="herald-feeds.opml"), caption="<i>Feeds</i>"
    )
    assert sent.document.file_name == "herald-feeds.opml" and sent.caption == "<i>Feeds</i>"
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == data


async def test_telegram_errors_keep_their_meaning(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.fail_next("sendMessage", CHAT, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "too fast")
    assert "Retry in 7 seconds" in flood.value.message
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
    api.fail_chat(CHAT, "blocked")
    with pytest.raises(Forbidden):
        await bot.send_message(CHAT, "anyone there?")


async def test_a_late_answer_is_timed_out(api: FakeBotAPI, bot: telegram.Bot) -> None:
    """Delivered, answered after the read timeout: ``TimedOut`` (PTB's "maybe sent")."""
    api.fail_chat(CHAT, "timeout", hold=5.0, times=1)
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "slow")
    assert api.last_message(CHAT) is not None


async def test_an_unreachable_api_is_a_network_error_without_the_token(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    await api.stop()
    with pytest.raises(NetworkError) as failure:
        await bot.send_message(CHAT, "hello?")
    assert not isinstance(failure.value, TimedOut)
    assert failure.value.message.startswith("aiohttp.")
    assert api.token not in failure.value.message
    assert api.token.split(":")[1] not in failure.value.message


async def test_polling_an_unreachable_api_reports_each_failed_poll_once(
    api: FakeBotAPI,
) -> None:
    """What ``bot.app`` logs as one line per failed poll: PTB's loop keeps retrying, and each
    failure reaches the error callback once, as a ``NetworkError``."""
    app = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(1))
        .build()
    )
    failures: list[TelegramError] = []
    twice = asyncio.Event()

    def failed(exc: TelegramError) -> None:
        failures.append(exc)
        if len(failures) >= 2:
            twice.set()

    async with app:
        await app.updater.start_polling(error_callback=failed)
        await api.stop()
        try:
            await asyncio.wait_for(twice.wait(), timeout=20)
        finally:
            await app.updater.stop()
    assert all(isinstance(exc, NetworkError) for exc in failures)
    assert all(api.token.split(":")[1] not in str(exc) for exc in failures)


async def test_a_proxy_in_the_environment_carries_both_lanes(
    api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Telegram is reachable only through a proxy, ``HTTP(S)_PROXY`` is how an operator
    says so: readers' replies (PTB over ``AiohttpRequest``) and broadcasts (``BroadcastSender``)
    both go through it. Here the "proxy" forwards to the fake, and the Bot API's address is a
    name that does not resolve, so a call that skipped the proxy would fail."""
    origin = api.base_url.removesuffix("/bot")
    seen: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append(f"{request.host} {request.rel_url.path.rsplit('/', 1)[-1]}")
        async with aiohttp.ClientSession() as session:
            async with session.request(
                request.method,
                origin + request.rel_url.path_qs,
                data=await request.read(),
                headers={"Content-Type": request.headers.get("Content-Type", "")},
            ) as answer:
                return web.Response(
                    body=await answer.read(), status=answer.status, content_type="application/json"
                )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with telegram.Bot(
            api.token, base_url="http://telegram.invalid/bot", request=AiohttpRequest()
        ) as client:
            reply = await client.send_message(CHAT, "through the proxy")
        sender = BroadcastSender(
            f"http://telegram.invalid/bot{api.token}", timeout=5.0, connections=2
        )
        await sender.start()
        try:
            outcome = await sender.call("sendMessage", {"chat_id": CHAT + 1, "text": "broadcast"})
        finally:
            await sender.close()
    finally:
        await runner.cleanup()
    assert reply.text == "through the proxy"
    assert isinstance(outcome, Sent)
    assert api.last_message(CHAT + 1).text == "broadcast"
    assert seen.count("telegram.invalid sendMessage") == 2
