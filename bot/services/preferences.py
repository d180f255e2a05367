"""Readers' preferences per chat: language now; delivery plan, quiet hours and more follow."""

from __future__ import annotations

import time

from bot import i18n
from storage import chat_settings, chats
from storage.db import Database


async def language_for(db: Database, chat_id: int, language_code: str | None) -> str:
    """The chat's language: chosen in /settings, else the user's Telegram language.

    The Telegram language is remembered (when it changes) so pushes to the chat, which have no
    user to ask, are rendered in it too.
    """
    settings = await chat_settings.get(db, chat_id)
    reported = i18n.pick(language_code) if language_code else None
    if reported and reported != settings.user_language and await _known_chat(db, chat_id):
        await chat_settings.update(db, chat_id, int(time.time()), user_language=reported)
    return settings.language or reported or settings.user_language or i18n.DEFAULT


async def _known_chat(db: Database, chat_id: int) -> bool:
    return await chats.get_chat(db, chat_id) is not None
