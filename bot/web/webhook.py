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

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STORE_TIMEOUT = 3.0  # seconds to commit an update before answering 503


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
            intake.add(services.db, update_id, chat_key(update), body.decode(), time.time()),
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
        app.router.add_post(webhook_path(url), receive)
