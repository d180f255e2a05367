"""A client for Herald's Mini App API, signing initData as Telegram does."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from bot.app import WEB_KEY
from bot.web.auth import sign_user
from tests.factories import Herald


def base_url(herald: Herald) -> str:
    assert herald.app is not None
    return herald.app.bot_data[WEB_KEY].base_url


def init_data(herald: Herald, user_id: int, language: str = "en", **extra: Any) -> str:
    return sign_user(herald.api.token, user_id, language_code=language, **extra)


async def call(
    herald: Herald,
    method: str,
    path: str,
    *,
    auth: str | None = None,
    json: Any = None,
) -> tuple[int, Any]:
    """(status, JSON body) of one API request; ``auth`` is the raw initData, if any."""
    headers = {} if auth is None else {"Authorization": f"tma {auth}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url(herald) + path, headers=headers, json=json) as response,
    ):
        return response.status, await response.json(content_type=None)


def now() -> int:
    return int(time.time())
