"""Readers' replies and broadcasts share one flood budget; replies go first.

python-telegram-bot lets an application route every request through a rate limiter. Herald's
counts each message a reader's command or tap makes (a send or an edit: Telegram's flood
control counts both) against the same global pacer and per-chat pacer the delivery worker
uses, so the two lanes together stay within Telegram's limits. A reply waits for its own
chat's spacing (1 s in a private chat, 20 a minute in a group) and goes ahead of broadcasts
within its share of the global budget (``GlobalPacer``). Answers to button taps and inline
queries are not messages: they are never paced.

With several instances on PostgreSQL each message is also taken from the bot's one budget
shared by all of them (``FleetBudget``), and a 429 pauses every instance.

Every wait gives the update's slot back (``stepped_out``), and so does a 429: the reply is
retried after ``retry_after`` a couple of times, instead of being lost, without keeping any
other reader's update from running meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.services.fleet_budget import FleetBudget
from bot.services.pacing import ChatPacer, GlobalPacer
from bot.update_slots import stepped_out

log = logging.getLogger(__name__)

# Requests that put a message in a chat: these count against Telegram's limits.
COUNTED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "sendDocument",
        "copyMessage",
        "forwardMessage",
    }
)
MAX_RETRIES = 2

Result = bool | dict[str, Any] | list[dict[str, Any]]


class SharedRateLimiter(BaseRateLimiter[None]):
    """A PTB rate limiter over Herald's pacers (see the module docstring)."""

    def __init__(self, pacer: GlobalPacer, chats: ChatPacer, fleet: FleetBudget) -> None:
        self._pacer = pacer
        self._chats = chats
        self._fleet = fleet

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        chat_id = data.get("chat_id")
        paced = endpoint in COUNTED and isinstance(chat_id, int)
        for attempt in range(MAX_RETRIES + 1):
            if paced:
                if self._fleet.shared:  # other instances send for this bot: the shared budget
                    async with stepped_out():
                        await self._fleet.take()
                await self._pace(chat_id)
            metrics.TELEGRAM_REQUESTS.labels("reply", endpoint).inc()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.TELEGRAM_429.labels("reply").inc()
                if attempt == MAX_RETRIES:
                    raise
                await self._back_off(chat_id if paced else None, _seconds(exc))
        raise AssertionError("unreachable")

    async def _pace(self, chat_id: int) -> None:
        """Wait until the chat may receive again and the budget has room, then count it.

        Both must hold at the same moment: a broadcast to this chat may take its turn while
        the reply waits for the budget, so the chat is looked at again after.
        """
        loop = asyncio.get_running_loop()
        private = chat_id > 0
        while True:
            ready = self._chats.ready_at(chat_id, private, loop.time())
            if ready > loop.time():
                async with stepped_out():
                    await asyncio.sleep(ready - loop.time())
            if not self._pacer.try_admit(reply=True):
                async with stepped_out():
                    await self._pacer.admit(reply=True)
            now = loop.time()
            if self._chats.ready_at(chat_id, private, now) <= now:
                self._chats.record(chat_id, private, now)
                return

    async def _back_off(self, chat_id: int | None, seconds: float) -> None:
        """A 429: the chat waits ``retry_after`` (broadcasts to it too), out of its slot."""
        log.info("reply to %s hit a 429; retrying in %.0f s", chat_id, seconds)
        loop = asyncio.get_running_loop()
        if chat_id is not None:
            self._chats.block(chat_id, loop.time() + seconds)
        async with stepped_out():
            await self._fleet.pause(seconds)
            await asyncio.sleep(seconds)


def _seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
