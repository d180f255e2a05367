"""Rendering of digests: the articles a chat's quiet hours or digest plan kept back, in one go.

Numbered headlines, each also a button that opens the article below the digest (the digest
stays, with the other headlines still to read); split into several messages of
``PER_MESSAGE`` headlines so every part fits Telegram's limits (4096 characters, and a keyboard
a phone can still scroll).
"""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import _, ngettext
from bot.rendering.base import (
    MAX_BUTTON_TITLE,
    OPEN_NEW,
    Rendered,
    callback,
    escaped_within,
    shorten,
)
from bot.rendering.push import NO_PREVIEW
from storage.articles import Headline

PER_MESSAGE = 10


def digest(headlines: list[Headline]) -> list[Rendered]:
    """The digest of ``headlines`` (newest last, as they arrived), one message per part."""
    parts = [headlines[i : i + PER_MESSAGE] for i in range(0, len(headlines), PER_MESSAGE)]
    return [
        _part(items, number, len(parts), number * PER_MESSAGE - PER_MESSAGE + 1)
        for number, items in enumerate(parts, start=1)
    ]


def calls(headlines: list[Headline]) -> list[tuple[str, dict[str, Any]]]:
    """The digest as Bot API calls, minus the chat: what the delivery worker sends, in order."""
    return [
        (
            "sendMessage",
            {
                "text": part.text,
                "parse_mode": "HTML",
                "link_preview_options": NO_PREVIEW,
                "reply_markup": part.keyboard.to_dict() if part.keyboard else None,
            },
        )
        for part in digest(headlines)
    ]


def _part(items: list[Headline], part: int, parts: int, first: int) -> Rendered:
    if parts == 1:
        heading = ngettext(
            "🗞 <b>Your news digest</b> · {count} article",
            "🗞 <b>Your news digest</b> · {count} articles",
            len(items),
        ).format(count=len(items))
    else:
        heading = _("🗞 <b>Your news digest</b> · part {part} of {parts}").format(
            part=part, parts=parts
        )
    lines = [heading, ""]
    rows = []
    for offset, item in enumerate(items):
        number = first + offset
        source = f" <i>{html.escape(item.source)}</i>" if item.source else ""
        lines.append(f"{number}. {escaped_within(item.title, 300)}{source}")
        rows.append(
            [
                InlineKeyboardButton(
                    shorten(f"{number}. {item.title}", MAX_BUTTON_TITLE),
                    callback_data=callback(OPEN_NEW, item.id),
                )
            ]
        )
    lines += ["", _("Tap a headline to read it.")]
    return Rendered("\n".join(lines), InlineKeyboardMarkup(rows))
