"""Webhooks for the fake Bot API: ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``.

With a webhook set, the fake POSTs each queued update as JSON to the webhook URL with the
``X-Telegram-Bot-Api-Secret-Token`` header (when a secret was given), one at a time and in
order, and repeats an update until it is answered 2xx, backing off like Telegram does (here
from 0.1 s up to 2 s, so tests stay quick). Meanwhile ``getUpdates`` answers 409 Conflict, as
Telegram's does. ``deleteWebhook`` returns the fake to long polling with the queue intact
(``drop_pending_updates`` empties it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bot.sandbox import updates as tg
from bot.sandbox.fake_state import JSON, bad_request

log = logging.getLogger("herald.fakeapi")

SECRET_RULE = re.compile(r"[A-Za-z0-9_-]{1,256}")
FIRST_RETRY, MAX_RETRY = 0.1, 2.0


@dataclass
class Webhook:
    url: str
    secret: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    delivered: list[int] = field(default_factory=list)  # update ids answered 2xx, in order
    attempts: int = 0  # POSTs made, repeats included
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int) -> JSON:
        info: JSON = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
        }
        if self.allowed_updates is not None:
            info["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            info.update(
                last_error_date=self.last_error_date, last_error_message=self.last_error_message
            )
        return info


def checked_webhook(params: JSON) -> Webhook:
    """A ``setWebhook`` call's parameters as Telegram validates them."""
    url = str(params.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not SECRET_RULE.fullmatch(str(secret)):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    allowed = params.get("allowed_updates")
    try:
        connections = int(params.get("max_connections") or 40)
    except (TypeError, ValueError):
        raise bad_request("bad webhook: invalid max_connections") from None
    return Webhook(
        url, secret and str(secret), list(allowed) if allowed else None, max(1, connections)
    )


class WebhookPusher:
    """POSTs the fake's queued updates to one webhook until told to stop."""

    def __init__(
        self,
        hook: Webhook,
        pending: Callable[[], list[JSON]],
        delivered: Callable[[JSON], None],
        changed: Callable[[], asyncio.Event],
    ) -> None:
        self.hook = hook
        self._pending = pending  # the fake's queue (read fresh each time: it is reassigned)
        self._delivered = delivered  # remove an update from the queue
        self._changed = changed  # an event set when something is queued
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fake-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _next(self) -> JSON | None:
        allowed = self.hook.allowed_updates
        for update in list(self._pending()):
            if allowed is None or tg.update_type(update) in allowed:
                return update
            self._delivered(update)  # not wanted: Telegram drops it
        return None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            delay = FIRST_RETRY
            while True:
                wakeup = self._changed()
                update = self._next()
                if update is None:
                    await wakeup.wait()
                    continue
                if await self._post(session, update):
                    self._delivered(update)
                    self.hook.delivered.append(update["update_id"])
                    delay = FIRST_RETRY
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RETRY)

    async def _post(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.hook.secret} if self.hook.secret else {}
        self.hook.attempts += 1
        try:
            async with session.post(self.hook.url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        self.hook.last_error_date, self.hook.last_error_message = int(time.time()), error
        log.info("webhook delivery of update %s failed: %s", update["update_id"], error)
        return False
