"""What the web handlers reach through their ``web.Application``: Herald's services and keys."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.context import Services

START_PREFIX = "a"  # startapp=a<article id> opens that article


@dataclass(slots=True)
class WebContext:
    """Built once at start-up; the token only ever checks signatures and is never logged."""

    services: Services
    bot_token: str
    bot_username: str | None = None

    def direct_link(self, article_id: int) -> str | None:
        """The Mini App's direct link that opens one article (needs the app's short name)."""
        return direct_link(self.bot_username, self.services.settings.webapp_short_name, article_id)


def direct_link(bot_username: str | None, short_name: str | None, article_id: int) -> str | None:
    if not bot_username or not short_name:
        return None
    return f"https://t.me/{bot_username}/{short_name}?startapp={START_PREFIX}{article_id}"


SERVICES = web.AppKey("herald.web", WebContext)
