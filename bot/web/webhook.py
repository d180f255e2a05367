"""The webhook route: Telegram POSTs updates here when ``HERALD_WEBHOOK_URL`` is set.

An update is answered 200 only once it is committed to the intake table (``storage.intake``);
a missing or wrong secret header gets 403 and nothing is stored; a body over
``HERALD_WEBHOOK_MAX_BYTES`` 413; a database that cannot store it in time 503, so Telegram
repeats it (a repeat of a stored update is stored once). python-telegram-bot's own webhook
server acknowledges before handling, which loses an update held in memory at a crash.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from urllib.parse import urlsplit

from aiohttp import web

from bot.services.intake import chat_key
from bot.web.context import SERVICES
from storage import intake
from storage.db import Database

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STORE_TIMEOUT = 3.0  # seconds to commit an update before answering 503


BATCH_MAX = 500  # updates in one INSERT
FLUSHES = 2  # INSERTs in flight at once: the next batch fills while one commits


class IntakeBatch:
    """Updates POSTed at the same time are committed together: one INSERT and one commit (one
    WAL flush on PostgreSQL) for every update that arrived while the previous one committed,
    instead of one each. Each POST is still answered only after its own row is committed.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[tuple[int, int, str, float], asyncio.Future[bool]]] = []
        self._flushes: set[asyncio.Task[None]] = set()

    async def add(self, db: Database, update_id: int, key: int, payload: str, now: float) -> bool:
        """Store one update; False when it was stored before (Telegram repeated it)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(((update_id, key, payload, now), done))
        if len(self._flushes) < FLUSHES:
            task = asyncio.create_task(self._flush(db))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        return await done

    async def _flush(self, db: Database) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
            rows = {row[0]: row for row, _ in batch}  # a repeat within the batch: stored once
            try:
                stored = await intake.add_many(db, list(rows.values()))
            except Exception as exc:  # each POST answers 503; Telegram repeats it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (update_id, *_), done in batch:
                if not done.done():
                    done.set_result(update_id in stored)
                stored.discard(update_id)  # the first POST of an update stored it

    async def close(self, _app: web.Application | None = None) -> None:
        """Let the commits in flight finish (their POSTs' answers depend on them)."""
        if self._flushes:
            await asyncio.wait(set(self._flushes), timeout=STORE_TIMEOUT)


BATCH = web.AppKey("herald.intake_batch", IntakeBatch)


def webhook_path(url: str) -> str:
    """The route Telegram's POSTs reach: the path of ``HERALD_WEBHOOK_URL``."""
    return urlsplit(url).path or "/"


async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES].services
    settings = services.settings
    assert settings.webhook_secret is not None  # the settings require it with a webhook URL
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, settings.webhook_secret.get_secret_value().encode()):
        log.warning("webhook: missing or wrong secret header from %s", request.remote)
        return web.Response(status=403, text="forbidden")
    cap = settings.webhook_max_bytes
    if (request.content_length or 0) > cap:
        return web.Response(status=413, text="too large")
    body = await request.content.read(cap + 1)
    if len(body) > cap:
        return web.Response(status=413, text="too large")
    try:
        update = json.loads(body)
        update_id = int(update["update_id"])
    except (ValueError, TypeError, KeyError):
        log.warning("webhook: a body that is not an update (%d bytes)", len(body))
        return web.Response(status=400, text="not an update")
    try:
        stored = await asyncio.wait_for(
            request.app[BATCH].add(
                services.db, update_id, chat_key(update), body.decode(), time.time()
            ),
            STORE_TIMEOUT,
        )
    except Exception as exc:  # Telegram repeats it later: nothing is lost
        log.warning("webhook: update %s not stored, answering 503: %r", update_id, exc)
        return web.Response(status=503, text="try again")
    if stored and services.intake is not None:
        services.intake.wake()
    return web.Response(text="ok")


def add_routes(app: web.Application, url: str | None) -> None:
    """The POST route when a webhook URL is configured (long polling needs none)."""
    if url:
        app[BATCH] = batch = IntakeBatch()
        app.on_cleanup.append(batch.close)
        app.router.add_post(webhook_path(url), receive)
