"""Readers' replies and broadcasts share one flood budget; replies go first.

python-telegram-bot lets an application route every request through a rate limiter. Herald's
counts each message a reader's command or tap makes against the same global pacer and per-chat
pacer the delivery worker uses, so the two lanes together stay within Telegram's limits; a reply
goes ahead of every broadcast waiting for the same one-second window. A reply that
still meets a 429 is retried after retry_after, a couple of times, instead of being lost.
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
from bot.services.pacing import ChatPacer, GlobalPacer

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

    def __init__(self, pacer: GlobalPacer, chats: ChatPacer) -> None:
        self._pacer = pacer
        self._chats = chats

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
        if endpoint in COUNTED and isinstance(chat_id, int):
            await self._pace(chat_id)
        for attempt in range(MAX_RETRIES + 1):
            metrics.TELEGRAM_REQUESTS.labels("reply", endpoint).inc()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.TELEGRAM_429.labels("reply").inc()
                if attempt == MAX_RETRIES:
                    raise
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.info("reply to %s hit a 429; retrying in %.0f s", chat_id, seconds)
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")

    async def _pace(self, chat_id: int) -> None:
        """Count the reply against the shared budget, ahead of any broadcast. It waits only if
        the last second is already full; a reader tapping through pages gets every edit at
        once otherwise (Telegram tolerates a short burst in a chat), and broadcasts to this
        chat then keep their distance from it."""
        await self._pacer.admit(reply=True)
        self._chats.record(chat_id, chat_id > 0, asyncio.get_running_loop().time())
