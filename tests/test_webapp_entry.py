"""Ways into the Mini App: "Open Herald" under /start and /latest in private chats, the chat
menu button, a direct link under headlines pushed to groups and channels, and the fake Bot
API refusing what Telegram refuses (web_app buttons outside private chats, plain-HTTP apps)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo
from telegram.error import BadRequest

from bot.sandbox.fake_api import FakeBotAPI, SentMessage
from storage.db import Database
from tests.factories import (
    GROUP,
    Herald,
    article,
    button_data,
    eventually,
    herald_running,
    settings_for,
    store,
)

APP_URL = "https://news.example.org/app/"


@pytest.fixture
async def with_app(tmp_path: Path, api: FakeBotAPI, db: Database) -> AsyncIterator[Herald]:
    """Herald with a Mini App address and short name."""
    settings = settings_for(db.path, api, webapp_url=APP_URL, webapp_short_name="news")
    async with herald_running(settings, api) as herald:
        yield herald


def web_app_buttons(message: SentMessage) -> list[tuple[str, str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b["web_app"]["url"]) for row in rows for b in row if "web_app" in b]


def url_buttons(message: SentMessage) -> list[tuple[str, str]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b["url"]) for row in rows for b in row if "url" in b]


async def test_start_and_latest_carry_open_herald_in_private_chats(
    with_app: Herald, db: Database
) -> None:
    await store(db, *[article(f"Story {i}") for i in range(8)])
    assert web_app_buttons(await with_app.send("/start")) == [("📰 Open Herald", APP_URL)]
    first = await with_app.send("/latest")
    assert web_app_buttons(first) == [("📰 Open Herald", APP_URL)]
    _, older = await with_app.press(first, button_data(first, "Older"))
    assert web_app_buttons(older) == [("📰 Open Herald", APP_URL)]
    spanish = await with_app.send("/start", chat_id=3003, language_code="es")
    assert web_app_buttons(spanish) == [("📰 Abrir Herald", APP_URL)]


async def test_groups_get_no_web_app_button(with_app: Herald, db: Database) -> None:
    await store(db, article("Story"))
    with_app.api.register_chat(GROUP, "supergroup", title="Newsroom")
    reply = await with_app.send("/latest", chat_id=GROUP)
    assert "Story" in reply.visible_text and web_app_buttons(reply) == []


async def test_menu_button_opens_the_app(with_app: Herald) -> None:
    assert with_app.api.menu_buttons[None] == {
        "type": "web_app",
        "text": "Herald",
        "web_app": {"url": APP_URL},
    }


async def test_without_an_app_address_nothing_points_at_it(herald: Herald) -> None:
    assert web_app_buttons(await herald.send("/start")) == []
    assert herald.api.calls_of("setChatMenuButton") == []


async def test_group_pushes_link_to_the_article_in_the_app(with_app: Herald, db: Database) -> None:
    with_app.api.register_chat(GROUP, "supergroup", title="Newsroom")
    with_app.api.set_chat_member(GROUP, 7007, "administrator")
    with_app.member_change(GROUP, "administrator", title="Newsroom")
    subscribed = await with_app.send("/subscribe", chat_id=GROUP, user_id=7007)
    assert "Subscribed" in subscribed.visible_text
    [article_id] = await with_app.publish(article("Flood barrier opens"))

    async def pushed() -> bool:
        return any("Flood barrier" in m.visible_text for m in with_app.api.delivered(GROUP))

    await eventually(pushed)
    push = next(m for m in with_app.api.delivered(GROUP) if "Flood barrier" in m.visible_text)
    link = f"https://t.me/HeraldTestBot/news?startapp=a{article_id}"
    assert ("📰 Open in Herald", link) in url_buttons(push)
    assert web_app_buttons(push) == []


async def test_fake_refuses_web_app_buttons_where_telegram_does(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    app = InlineKeyboardMarkup([[InlineKeyboardButton("Open", web_app=WebAppInfo(APP_URL))]])
    await bot.send_message(1001, "private is fine", reply_markup=app)
    api.register_chat(GROUP, "supergroup", title="Newsroom")
    with pytest.raises(BadRequest, match="(?i)button_type_invalid"):
        await bot.send_message(GROUP, "not in a group", reply_markup=app)
    plain = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Open", web_app=WebAppInfo("http://news.example.org/app/"))]]
    )
    with pytest.raises(BadRequest, match="(?i)button_url_invalid"):
        await bot.send_message(1001, "HTTPS only", reply_markup=plain)
    with pytest.raises(BadRequest, match="(?i)button_url_invalid"):
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp("App", WebAppInfo("http://news.example.org/app/"))
        )
    await bot.set_chat_menu_button(menu_button=MenuButtonWebApp("App", WebAppInfo(APP_URL)))
    assert api.menu_buttons[None]["web_app"] == {"url": APP_URL}
