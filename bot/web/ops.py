"""The operator's endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` only shows the process answers (no database, no Telegram). ``/readyz`` checks
the database answers within a second and the update handling runs, and says what waits;
503 when not ready, so a load balancer stops sending webhooks here. ``/metrics`` renders
``bot.metrics``; the only value computed here is the outbox by status, a state the database
holds (refreshed at most once a second, with the same one-second bound).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from aiohttp import web

from bot import metrics
from bot.web.context import SERVICES
from storage import intake, outbox

log = logging.getLogger(__name__)

DB_TIMEOUT = 1.0  # seconds the database gets to answer a readiness check


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _database_answers(request: web.Request) -> tuple[dict[str, int], float | None]:
    """Outbox rows by status and the oldest pending intake time; raises when unreachable."""
    db = request.app[SERVICES].services.db
    if isinstance(db.path, Path) and str(db.path) != ":memory:" and not db.path.exists():
        # SQLite keeps answering from an open file that was moved or deleted underneath it;
        # for an operator that database is gone (a volume unmounted, a file removed).
        raise FileNotFoundError(db.path)
    return await asyncio.wait_for(
        _both(outbox.count_by_status(db), intake.oldest_pending_received(db)), DB_TIMEOUT
    )


async def _both(first, second):  # noqa: ANN001, ANN202 - two awaitables, one after the other
    return await first, await second


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES].services
    now = time.time()
    body: dict[str, object] = {"leader": services.leading()}
    try:
        by_status, oldest = await _database_answers(request)
        body["database"] = "ok"
    except Exception as exc:  # any failure to answer is "not ready"; say which
        by_status, oldest = {}, None
        body["database"] = f"unreachable: {type(exc).__name__}"
    running = services.running()
    body["handlers"] = "running" if running else "stopped"
    body["outbox_pending"] = by_status.get(outbox.PENDING, 0)
    body["outbox_audiences"] = by_status.get(outbox.AUDIENCES, 0)  # pending is a floor if > 0
    body["intake_oldest_pending_age"] = None if oldest is None else round(now - oldest, 3)
    last = metrics.FeedPolls.last
    body["feed_last_poll_age"] = None if last is None else round(now - last, 3)
    ready = body["database"] == "ok" and running
    body["status"] = "ready" if ready else "not ready"
    return web.json_response(body, status=200 if ready else 503)


async def metrics_page(request: web.Request) -> web.Response:
    try:
        by_status, _ = await _database_answers(request)
        for status in (outbox.PENDING, outbox.SENDING, outbox.SENT, outbox.FAILED, outbox.UNKNOWN):
            metrics.OUTBOX_ROWS.labels(status).set(by_status.get(status, 0))
        metrics.OUTBOX_AUDIENCES.set(by_status.get(outbox.AUDIENCES, 0))
    except Exception as exc:  # the counters still answer; the gauge keeps its last value
        log.warning("outbox not readable for /metrics: %s", type(exc).__name__)
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
