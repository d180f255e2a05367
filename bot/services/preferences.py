"""Readers' preferences per chat: delivery plan, quiet hours, time zone, previews, language.

Every change goes through here so the rows a chat has waiting are looked at again under the
new plan (``outbox.recheck_held``): switching to instant delivery sends what was held for a
digest at once, as one digest.
"""

from __future__ import annotations

import time
from datetime import time as clock

from bot import i18n
from bot.services import schedule
from bot.services.schedule import DeliveryPlan
from storage import chat_settings, outbox
from storage.chat_settings import ChatSettings
from storage.db import Database

QUIET_PRESETS = ("2207", "2307", "0008")  # HHHH: start hour, end hour
DAILY_PRESETS = ("0700", "0800", "1200", "1800", "2100")


async def language_for(db: Database, chat_id: int, language_code: str | None) -> str:
    """The chat's language: chosen in /settings, else the user's Telegram language."""
    return (await chat_language(db, chat_id, language_code))[0]


async def chat_language(db: Database, chat_id: int, language_code: str | None) -> tuple[str, bool]:
    """The chat's language, and whether the user's Telegram language is remembered for it.

    The Telegram language is remembered (when it changes) so pushes to the chat, which have no
    user to ask, are rendered in it too. It cannot be while the chat is unknown (its first
    message, before /subscribe stores it): then the second value is False.
    """
    settings, known = await chat_settings.get_known(db, chat_id)
    reported = i18n.pick(language_code) if language_code else None
    remembered = reported is None or reported == settings.user_language
    if not remembered and known:
        await chat_settings.update(db, chat_id, int(time.time()), user_language=reported)
        remembered = True
    language = settings.language or reported or settings.user_language or i18n.DEFAULT
    return language, remembered


def language_of(settings: ChatSettings) -> str:
    """The language pushes to a chat use (no user to ask): chosen, else last reported."""
    return settings.language or settings.user_language or i18n.DEFAULT


def plan_of(settings: ChatSettings) -> DeliveryPlan:
    """The chat's settings as the schedule's plan (bad stored values fall back to instant)."""
    try:
        return DeliveryPlan(
            mode=settings.mode,  # type: ignore[arg-type]
            daily_at=_clock(settings.daily_at),
            quiet_start=_clock(settings.quiet_start),
            quiet_end=_clock(settings.quiet_end),
            tz=settings.tz,
        )
    except (ValueError, KeyError):
        return DeliveryPlan()


def waits(settings: ChatSettings) -> bool:
    """Whether news to this chat may wait at all (a digest or quiet hours)."""
    return settings.mode != "instant" or settings.quiet_start is not None


async def get(db: Database, chat_id: int) -> ChatSettings:
    return await chat_settings.get(db, chat_id)


async def set_mode(
    db: Database, chat_id: int, mode: str, daily_at: str | None = None, now: int | None = None
) -> ChatSettings:
    """Instant, hourly or daily (at ``daily_at``, 'HH:MM' or 'HHMM'; kept when omitted)."""
    if mode not in schedule.MODES:
        raise ValueError(f"unknown delivery mode {mode!r}")
    changes: dict[str, object] = {"mode": mode}
    if daily_at is not None:
        changes["daily_at"] = _hhmm(schedule.parse_clock(_colon(daily_at)))
    elif mode == "daily" and (await chat_settings.get(db, chat_id)).daily_at is None:
        changes["daily_at"] = "08:00"
    return await _change(db, chat_id, now, **changes)


async def set_quiet(db: Database, chat_id: int, text: str, now: int | None = None) -> ChatSettings:
    """'23:00-07:00', '23-7', a preset 'HHHH' or 'off'; ``ValueError`` says what is wrong."""
    if len(text) == 4 and text.isdigit():
        text = f"{text[:2]}-{text[2:]}"
    window = schedule.parse_quiet_hours(text)
    start, end = (None, None) if window is None else (_hhmm(window[0]), _hhmm(window[1]))
    return await _change(db, chat_id, now, quiet_start=start, quiet_end=end)


async def set_timezone(
    db: Database, chat_id: int, name: str, now: int | None = None
) -> ChatSettings:
    """An IANA zone; ``schedule.UnknownTimezone`` carries suggestions for a typo."""
    zone = schedule.find_timezone(name)
    return await _change(db, chat_id, now, tz=zone.key)


async def set_previews(
    db: Database, chat_id: int, on: bool, now: int | None = None
) -> ChatSettings:
    return await _change(db, chat_id, now, previews=int(on))


async def set_language(
    db: Database, chat_id: int, language: str | None, now: int | None = None
) -> ChatSettings:
    """A language Herald speaks, or None to follow the user's Telegram language again."""
    if language is not None and language not in i18n.LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    return await _change(db, chat_id, now, language=language)


async def set_breaking_quiet(
    db: Database, chat_id: int, respects: bool, now: int | None = None
) -> ChatSettings:
    return await _change(db, chat_id, now, breaking_respects_quiet=int(respects))


async def set_thread(
    db: Database, chat_id: int, thread_id: int | None, now: int | None = None
) -> ChatSettings:
    """The forum topic Herald posts to in this chat (None: the General topic)."""
    return await _change(db, chat_id, now, thread_id=thread_id)


async def _change(db: Database, chat_id: int, now: int | None, **changes: object) -> ChatSettings:
    now = int(time.time()) if now is None else now
    async with db.transaction():
        await chat_settings.update(db, chat_id, now, **changes)
        await outbox.recheck_held(db, chat_id)
    return await chat_settings.get(db, chat_id)


def _clock(text: str | None) -> clock | None:
    return None if not text else schedule.parse_clock(text)


def _colon(text: str) -> str:
    return f"{text[:2]}:{text[2:]}" if len(text) == 4 and text.isdigit() else text


def _hhmm(value: clock) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"
