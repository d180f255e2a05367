"""The Mini App's JSON API: authenticate, call a ``bot.services`` function, answer JSON.

Reading (front page, search, article, topics, strings) works without a user, so the app is a
public front page in an ordinary browser too; a request that *does* carry initData must carry
valid initData. Subscriptions and settings need a signed user and only ever change that user's
private chat: a group's or channel's settings are not editable from the app.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot import i18n
from bot.rendering import subscriptions as chat_texts
from bot.services import chats, preferences, reading, schedule, search, stats, subscriptions
from bot.web import auth, strings, views
from bot.web.auth import WebAppUser
from bot.web.context import SERVICES, WebContext

log = logging.getLogger(__name__)

AUTH_SCHEME = "tma "
MAX_PAGE = 10_000
PAGE_SIZE = 20
MAX_TEXT = 300


def _ctx(request: web.Request) -> WebContext:
    return request.app[SERVICES]


def _unauthorized(request: web.Request, reason: str) -> web.HTTPUnauthorized:
    log.info("web app: 401 for %s %s (%s)", request.method, request.path, reason)
    return web.HTTPUnauthorized(text='{"error": "unauthorized"}', content_type="application/json")


def signed_user(request: web.Request) -> WebAppUser | None:
    """``Authorization: tma <initData>``: the signed user; no header: a guest (None).

    A header that does not prove a user is 401 everywhere, reading included, so a client
    never silently falls back to being a guest.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    if not header.startswith(AUTH_SCHEME):
        raise _unauthorized(request, "not the tma scheme")
    ctx = _ctx(request)
    try:
        return auth.validate(
            header[len(AUTH_SCHEME) :], ctx.bot_token, max_age=ctx.services.settings.webapp_max_age
        )
    except auth.InvalidInitData as exc:
        raise _unauthorized(request, str(exc)) from None


def _user(request: web.Request) -> WebAppUser:
    """The signed user; a guest gets 401 (changing anything needs Telegram's signature)."""
    user = signed_user(request)
    if user is None:
        raise _unauthorized(request, "no initData")
    return user


def _int(request: web.Request, name: str, default: int = 0) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_PAGE:
        raise _bad(f"{name} must be a small whole number")
    return int(raw)


def _bad(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


def _not_found(reason: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": reason}), content_type="application/json")


async def _language(request: web.Request) -> str:
    """The reader's language: chosen in /settings, else Telegram's; the page's for a guest."""
    user = signed_user(request)
    if user is None:
        return i18n.pick(request.query.get("lang"))
    db = _ctx(request).services.db
    return await preferences.language_for(db, user.id, user.language_code)


async def _answer(request: web.Request, build: Any) -> web.Response:
    """Run ``build()`` in the reader's language and answer its JSON."""
    with i18n.use(await _language(request)):
        return web.json_response(await build())


async def get_strings(request: web.Request) -> web.Response:
    async def build() -> dict[str, Any]:
        user = signed_user(request)
        return {
            "language": i18n.current(),
            "strings": strings.ui_strings(),
            "languages": strings.languages(),
            "user": None if user is None else {"id": user.id, "first_name": user.first_name},
        }

    return await _answer(request, build)


async def get_topics(request: web.Request) -> web.Response:
    db = _ctx(request).services.db

    async def build() -> dict[str, Any]:
        return {"topics": [views.topic(t) for t in await reading.topics(db)]}

    return await _answer(request, build)


async def get_latest(request: web.Request) -> web.Response:
    db = _ctx(request).services.db
    topic, page = _int(request, "topic"), _int(request, "page")

    async def build() -> dict[str, Any]:
        found = await reading.latest_page(db, topic or None, page, PAGE_SIZE)
        if found is None:
            raise _not_found("no such topic")
        return views.latest(found)

    return await _answer(request, build)


async def get_search(request: web.Request) -> web.Response:
    db = _ctx(request).services.db
    query, page = request.query.get("q", "")[: search.MAX_QUERY_CHARS], _int(request, "page")

    async def build() -> dict[str, Any]:
        return views.search(query, await search.find(db, query, page, PAGE_SIZE))

    return await _answer(request, build)


async def get_article(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    raw = request.match_info["article_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise _bad("article id must be a number")

    async def build() -> dict[str, Any]:
        view = await reading.open_article(ctx.services.db, int(raw))
        if view is None:
            raise _not_found("no such article")
        await stats.count_tap(ctx.services.db, view.article.id)
        return views.article(view, ctx.direct_link(view.article.id))

    return await _answer(request, build)


async def get_me(request: web.Request) -> web.Response:
    """The user's private chat: subscriptions, the topics to add, and settings."""
    user, db = _user(request), _ctx(request).services.db

    async def build() -> dict[str, Any]:
        return await _mine(db, user.id)

    return await _answer(request, build)


async def _mine(db: Any, chat_id: int) -> dict[str, Any]:
    return {
        "subscriptions": [views.subscription(s) for s in await subscriptions.list_for(db, chat_id)],
        "topics": [views.topic(t) for t in await reading.topics(db)],
        "settings": views.settings(await preferences.get(db, chat_id)),
    }


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _bad("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


async def post_subscriptions(request: web.Request) -> web.Response:
    """``{"action": "subscribe"|"unsubscribe", "text": …}``: the same rules as the commands."""
    user, services = _user(request), _ctx(request).services
    body = await _body(request)
    action, text = body.get("action"), body.get("text", "")
    if action not in ("subscribe", "unsubscribe") or not isinstance(text, str):
        raise _bad("action must be subscribe or unsubscribe, text a string")
    if not text.strip():
        raise _bad("say what to subscribe to")
    await chats.remember(services.db, user.id, "private", "")
    change_of = subscriptions.subscribe if action == "subscribe" else subscriptions.unsubscribe

    async def build() -> dict[str, Any]:
        change = await change_of(services.db, user.id, text[:MAX_TEXT])
        log.info("web app: user %s %s %r", user.id, action, text[:MAX_TEXT])
        reply = chat_texts.change(action, change).text
        return {"message_html": reply, **await _mine(services.db, user.id)}

    return await _answer(request, build)


async def delete_subscription(request: web.Request) -> web.Response:
    user, db = _user(request), _ctx(request).services.db
    raw = request.match_info["subscription_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise _bad("subscription id must be a number")

    async def build() -> dict[str, Any]:
        if not await subscriptions.remove_one(db, user.id, int(raw)):
            raise _not_found("no such subscription")
        return await _mine(db, user.id)

    return await _answer(request, build)


async def post_settings(request: web.Request) -> web.Response:
    """``{"key": …, "value": …}``, one setting at a time, checked as the chat checks it."""
    user, ctx = _user(request), _ctx(request)
    body = await _body(request)
    key, value = body.get("key"), body.get("value")
    await chats.remember(ctx.services.db, user.id, "private", "")
    try:
        changed = await _apply(ctx.services.db, user.id, key, value)
    except schedule.UnknownTimezone:
        raise _bad("unknown time zone") from None
    except (ValueError, TypeError) as exc:
        log.info("web app: user %s sent a bad setting %r=%r: %s", user.id, key, value, exc)
        raise _bad(f"bad value for {key}") from None
    ctx.services.settings_changed(changed)

    async def build() -> dict[str, Any]:
        return await _mine(ctx.services.db, user.id)

    return await _answer(request, build)


async def _apply(db: Any, chat_id: int, key: object, value: object) -> Any:
    if key == "mode" and isinstance(value, str):
        return await preferences.set_mode(db, chat_id, value)
    if key == "daily_at" and isinstance(value, str):
        return await preferences.set_mode(db, chat_id, "daily", value)
    if key == "quiet" and isinstance(value, str):
        return await preferences.set_quiet(db, chat_id, value)
    if key == "timezone" and isinstance(value, str):
        return await preferences.set_timezone(db, chat_id, value[:64])
    if key == "previews" and isinstance(value, bool):
        return await preferences.set_previews(db, chat_id, value)
    if key == "language" and (value is None or isinstance(value, str)):
        return await preferences.set_language(db, chat_id, value or None)
    raise ValueError(f"unknown setting {key!r}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/strings", get_strings)
    app.router.add_get("/api/topics", get_topics)
    app.router.add_get("/api/latest", get_latest)
    app.router.add_get("/api/search", get_search)
    app.router.add_get("/api/article/{article_id}", get_article)
    app.router.add_get("/api/me", get_me)
    app.router.add_post("/api/subscriptions", post_subscriptions)
    app.router.add_delete("/api/subscriptions/{subscription_id}", delete_subscription)
    app.router.add_post("/api/settings", post_settings)
