"""The one place that turns Telegram's answers into outcomes.

Two paths reach Telegram. Readers' replies and button edits go through python-telegram-bot
(``reply``, ``show``). Broadcasts go through ``BroadcastSender``, a lean HTTP client that sends
the same prepared JSON to many chats: one PTB ``Bot`` saturates a core at roughly 500–850 sends
a second, too few for the 1,000/s paid-broadcast lane. Either way the meaning of Telegram's
errors is decided here:

- ``Sent``: delivered; the message id is kept so corrections can edit it later.
- ``RetryAfter``: 429 flood control; wait ``seconds``, then try again (not the chat's fault).
- ``Blocked``: 403, blocked by the user or removed from the chat: pause the chat, keep its
  settings (not every 403 is forever: "can't initiate conversation" is also a 403).
- ``Migrated``: the group became a supergroup with ``new_chat_id``: move the chat, resend.
- ``Transient``: network trouble or a 5xx: retry with back-off, a bounded number of times.
- ``Rejected``: 400 Bad Request: retrying cannot help; fail with the reason kept. Two kinds
  are named because callers act on them: ``NotModified`` (an edit that changes nothing: the
  copy already says it, which is success for an edit) and ``Gone`` (the message to edit or
  delete is not there any more, or can no longer be edited).
- ``Unknown``: the request timed out: it may have been delivered, and bots have no idempotency
  key, so by default it is not resent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from telegram import CallbackQuery, LinkPreviewOptions, Message
from telegram.error import BadRequest

from bot import metrics
from bot.rendering.base import Rendered
from bot.rendering.push import push_link_preview
from storage.articles import Article

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


@dataclass(frozen=True, slots=True)
class RetryAfter:
    seconds: float


@dataclass(frozen=True, slots=True)
class Blocked:
    reason: str


@dataclass(frozen=True, slots=True)
class Migrated:
    new_chat_id: int


@dataclass(frozen=True, slots=True)
class Transient:
    reason: str


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


@dataclass(frozen=True, slots=True)
class NotModified(Rejected):
    """An edit whose text and buttons are what the message already shows."""


@dataclass(frozen=True, slots=True)
class Gone(Rejected):
    """The message to edit or delete was deleted, or is too old to be edited."""


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str


Outcome = Sent | RetryAfter | Blocked | Migrated | Transient | Rejected | Unknown
# Each outcome's name in metrics and logs.
OUTCOME_NAMES: dict[type, str] = {
    Sent: "sent",
    RetryAfter: "retry_after",
    Blocked: "blocked",
    Migrated: "migrated",
    Transient: "transient",
    Rejected: "rejected",
    Unknown: "unknown",
}

# Telegram's descriptions for the two named rejections (lower case; matched as substrings).
_NOT_MODIFIED = ("message is not modified",)
_GONE = (
    "message to edit not found",
    "message to delete not found",
    "message can't be edited",
)  # "message can't be deleted" is not here: a copy too old to delete gets the notice instead


def rejection(description: str) -> Rejected:
    """A 400's meaning, from its description: the one place Telegram's wording is matched."""
    reason = description.lower()
    if any(text in reason for text in _NOT_MODIFIED):
        return NotModified(description)
    if any(text in reason for text in _GONE):
        return Gone(description)
    return Rejected(description)


def outcome_of(http_status: int, body: dict[str, Any]) -> Outcome:
    """Classify one Bot API response (its HTTP status and decoded JSON body)."""
    if body.get("ok") is True:
        result = body.get("result")
        return Sent(result.get("message_id", 0) if isinstance(result, dict) else 0)
    code = int(body.get("error_code") or http_status)
    description = str(body.get("description") or f"HTTP {http_status}")
    parameters = body.get("parameters") or {}
    if parameters.get("migrate_to_chat_id"):
        return Migrated(int(parameters["migrate_to_chat_id"]))
    if code == 429:
        metrics.TELEGRAM_429.labels("broadcast").inc()
        return RetryAfter(float(parameters.get("retry_after") or 1))
    if code == 401:
        # The token stopped working (revoked?): every send would fail alike. Pause the lane
        # and keep the rows, rather than burn their attempts; the log says why.
        log.error("Telegram answered 401 Unauthorized: check HERALD_BOT_TOKEN")
        return RetryAfter(60.0)
    if code == 403:
        return Blocked(description)
    if code in (400, 404):
        return rejection(description)
    return Transient(description)


class BroadcastSender:
    """Sends prepared messages straight to the Bot API over one pooled HTTP session."""

    def __init__(self, bot_url: str, *, timeout: float, connections: int) -> None:
        """``bot_url`` is the base URL with the token, as ``telegram.Bot.base_url`` gives it."""
        self._url = bot_url.rstrip("/") + "/"
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0))
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            json_serialize=json.dumps,
            trust_env=True,  # HTTPS_PROXY / NO_PROXY, as for readers' replies (bot.telegram_http)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, payload: dict[str, Any]) -> Outcome:
        """POST ``payload`` as JSON to ``method`` and classify the answer."""
        assert self._session is not None, "start() first"
        metrics.TELEGRAM_REQUESTS.labels("broadcast", method).inc()
        try:
            async with self._session.post(self._url + method, json=payload) as response:
                try:
                    body = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    body = {}
                if not isinstance(body, dict):
                    body = {}
                return outcome_of(response.status, body)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            return Transient(f"could not connect: {exc}")  # nothing was sent
        except TimeoutError:
            return Unknown("timed out waiting for Telegram")
        except aiohttp.ServerDisconnectedError as exc:
            # The request was written: like a timeout, it may have been delivered.
            return Unknown(f"connection closed: {exc}")
        except (aiohttp.ClientError, OSError) as exc:
            return Transient(f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            raise


async def reply(message: Message, rendered: Rendered, *, preview: bool = False) -> Message:
    """Answer a reader's message in its chat (and forum topic)."""
    return await message.reply_text(
        rendered.text,
        reply_markup=rendered.keyboard,
        link_preview_options=None if preview else NO_PREVIEW,
        do_quote=message.chat.type != "private",
    )


async def reply_as_push(message: Message, rendered: Rendered, article: Article) -> Message:
    """Answer with ``rendered`` the way the article is pushed: a photo post as that photo."""
    if article.image_file_id:
        return await message.reply_photo(
            article.image_file_id, caption=rendered.text, reply_markup=rendered.keyboard
        )
    return await message.reply_text(
        rendered.text,
        reply_markup=rendered.keyboard,
        link_preview_options=push_link_preview(article),
    )


async def show_below(query: CallbackQuery, rendered: Rendered) -> None:
    """Answer a tap with a new message in the same chat; the tapped message stays as it is."""
    if query.message is not None:
        await query.get_bot().send_message(
            query.message.chat.id,
            rendered.text,
            reply_markup=rendered.keyboard,
            link_preview_options=NO_PREVIEW,
        )


async def show(query: CallbackQuery, rendered: Rendered, *, preview: bool = False) -> None:
    """Replace the message whose button was pressed with ``rendered``.

    Telegram answers an edit that changes nothing with "message is not modified" (a reader
    tapping the same page twice): that is success. An edit of a message that is gone falls back
    to a new message, so the reader always sees an answer.
    """
    try:
        await query.edit_message_text(
            rendered.text,
            reply_markup=rendered.keyboard,
            link_preview_options=None if preview else NO_PREVIEW,
        )
    except BadRequest as exc:
        outcome = rejection(exc.message)
        if isinstance(outcome, NotModified):
            return
        if isinstance(outcome, Gone):
            if query.message is not None and query.message.chat is not None:
                await query.get_bot().send_message(
                    query.message.chat.id,
                    rendered.text,
                    reply_markup=rendered.keyboard,
                    link_preview_options=None if preview else NO_PREVIEW,
                )
                return
        raise
