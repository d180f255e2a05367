"""Rendering of the Mini App's ways in from a private chat: the "Open Herald" button.

The push's direct-link button (groups and channels) is in ``bot.rendering.push``.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.i18n import N_, _
from bot.rendering.base import Rendered

OPEN_HERALD = N_("📰 Open Herald")


def with_app_button(rendered: Rendered, webapp_url: str | None) -> Rendered:
    """``rendered`` with an "Open Herald" Mini App button under it (private chats only:
    Telegram refuses ``web_app`` buttons elsewhere); unchanged without a Mini App address."""
    if not webapp_url:
        return rendered
    rows = list(rendered.keyboard.inline_keyboard) if rendered.keyboard else []
    rows.append([InlineKeyboardButton(_(OPEN_HERALD), web_app=WebAppInfo(webapp_url))])
    return Rendered(rendered.text, InlineKeyboardMarkup(rows))
