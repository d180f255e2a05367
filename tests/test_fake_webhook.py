"""The fake Bot API's webhooks, driven by a real PTB ``Bot`` and a small aiohttp receiver."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from bot.sandbox.fake_api import FakeBotAPI
from tests.factories import eventually


class Receiver:
    """A webhook endpoint that answers the first ``failures`` POSTs with 500."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[int, str | None]] = []  # (update_id, secret header)
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.received.append(
            (update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        self.arrived.set()
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(text="ok")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_updates_are_posted_in_order_with_the_secret(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    async with Receiver() as hook:
        first = api.send_text("before the webhook", chat_id=1)
        assert await bot.set_webhook(
            hook.url, secret_token="s3cret_-X", allowed_updates=["message"]
        )
        second = api.send_text("after", chat_id=1)
        api.add_update({"poll": {"id": "1"}})  # not an allowed update: dropped
        third = api.send_text("last", chat_id=2)
        await hook.until(3)
        ids = [first["update_id"], second["update_id"], third["update_id"]]
        assert hook.received == [(i, "s3cret_-X") for i in ids]
        info = await bot.get_webhook_info()
        assert info.url == hook.url and info.pending_update_count == 0
        assert info.allowed_updates == ("message",)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)


async def test_a_failed_post_is_repeated_until_answered_2xx(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    async with Receiver(failures=2) as hook:
        await bot.set_webhook(hook.url)
        update = api.send_text("hello", chat_id=1)
        await hook.until(3)
        assert [u for u, _ in hook.received] == [update["update_id"]] * 3
        assert hook.received[0][1] is None  # no secret set: no header
        assert api.webhook is not None

        async def delivered() -> bool:
            return api.webhook.delivered == [update["update_id"]]

        await eventually(delivered)
        info = await bot.get_webhook_info()
        assert "500" in (info.last_error_message or "")


async def test_delete_webhook_returns_to_polling(api: FakeBotAPI, bot: telegram.Bot) -> None:
    async with Receiver() as hook:
        with pytest.raises(BadRequest, match="unallowed characters"):
            await bot.set_webhook(hook.url, secret_token="no spaces allowed")
        await bot.set_webhook("http://127.0.0.1:9/unreachable")
        kept = api.send_text("queued while the webhook fails", chat_id=1)
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        updates = await bot.get_updates(timeout=5)
        assert [u.update_id for u in updates] == [kept["update_id"]]
