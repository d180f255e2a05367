"""The aiohttp application and its life cycle inside the bot's event loop.

Route groups are added by ``make_app``: the Mini App (``/app/``) and its API (``/api/``) now;
issue 9's webhook intake, ``/healthz``, ``/readyz`` and ``/metrics`` go in ``make_app`` as
further groups, each its own module with an ``add_routes(app)``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from bot.context import Services
from bot.web import api, ops, webhook
from bot.web.context import SERVICES, WebContext

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The page loads Telegram's script and nothing else from outside; article images are https.
CSP = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; "
    "img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
)


async def index(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC_DIR / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    return response


async def to_app(request: web.Request) -> web.Response:
    raise web.HTTPFound("/app/" + (f"?{request.query_string}" if request.query_string else ""))


def add_webapp_routes(app: web.Application) -> None:
    app.router.add_get("/app", to_app)
    app.router.add_get("/app/", index)
    app.router.add_static("/app/static/", STATIC_DIR, append_version=False)


def make_app(context: WebContext) -> web.Application:
    """Herald's HTTP application with every route group registered."""
    app = web.Application(client_max_size=64 * 1024)
    app[SERVICES] = context
    add_webapp_routes(app)
    api.add_routes(app)
    ops.add_routes(app)  # /healthz, /readyz, /metrics
    webhook.add_routes(app, context.services.settings.webhook_url)
    return app


class WebServer:
    """Herald's HTTP server on ``HERALD_HTTP_HOST:HERALD_HTTP_PORT`` (port 0: any free one)."""

    def __init__(self, services: Services, bot_token: str, bot_username: str | None) -> None:
        self.context = WebContext(services, bot_token, bot_username)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        settings = self.context.services.settings
        self._runner = web.AppRunner(make_app(self.context), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.http_host, settings.http_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("HTTP server on %s (Mini App at /app/)", self.base_url)

    @property
    def base_url(self) -> str:
        host = self.context.services.settings.http_host
        return f"http://{host if ':' not in host else f'[{host}]'}:{self.port}"

    @property
    def app_url(self) -> str:
        return f"{self.base_url}/app/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
