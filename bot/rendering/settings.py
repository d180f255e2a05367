"""Rendering of /settings: one message with buttons, and the replies to its text commands.

Callback data: ``g:<setting>:<value>``, where setting is m (delivery mode), d (daily time,
HHMM), q (quiet hours, HHHH or off), p (previews 0/1), b (breaking respects quiet 0/1), l
(language code, or auto).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n
from bot.i18n import N_, _
from bot.rendering.base import SETTING, Rendered, callback, either
from bot.services.preferences import DAILY_PRESETS, QUIET_PRESETS, plan_of
from storage.chat_settings import ChatSettings

MODE_NAMES = {
    "instant": N_("as soon as published"),
    "hourly": N_("hourly digest"),
    "daily": N_("daily digest"),
}

TIMEZONE_USAGE = N_(
    "Send your time zone as a city name, e.g. <code>/timezone Europe/Madrid</code> or "
    "<code>/timezone America/New_York</code>."
)
QUIET_USAGE = N_(
    "Send quiet hours as a range, e.g. <code>/quiet 23:00-07:00</code>, or <code>/quiet off</code>."
)
DIGEST_USAGE = N_(
    "Choose <code>/digest off</code> (news as soon as it is published), "
    "<code>/digest hourly</code> or <code>/digest daily 08:00</code>."
)
HERE_ONLY_TOPICS = N_(
    "/here works in a group with topics: send it inside the topic where Herald should post."
)


def panel(settings: ChatSettings, now: float, group: bool) -> Rendered:
    """The settings message: what is set, and buttons to change it."""
    plan = plan_of(settings)
    local = datetime.fromtimestamp(now, UTC).astimezone(plan.zone)
    mode = _(MODE_NAMES[settings.mode])
    if settings.mode == "daily":
        mode = _("daily digest at {time}").format(time=settings.daily_at)
    quiet = _("off")
    if settings.quiet_start:
        quiet = f"{settings.quiet_start}–{settings.quiet_end}"
    language = i18n.LANGUAGES.get(settings.language or "", "")
    if not settings.language:
        language = _("as in Telegram ({language})").format(language=i18n.LANGUAGES[i18n.current()])
    lines = [
        _("⚙️ <b>Settings for this group</b>") if group else _("⚙️ <b>Your settings</b>"),
        "",
        _("<b>Delivery:</b> {mode}").format(mode=mode),
        _("<b>Quiet hours:</b> {quiet}").format(quiet=quiet),
        _("<b>Time zone:</b> {zone} (now {time})").format(
            zone=html.escape(settings.tz), time=local.strftime("%H:%M")
        ),
        _("<b>Link previews:</b> {state}").format(state=_("on") if settings.previews else _("off")),
        _("<b>Language:</b> {language}").format(language=html.escape(language)),
        _("<b>Breaking news in quiet hours:</b> {state}").format(
            state=_("waits") if settings.breaking_respects_quiet else _("delivered at once")
        ),
        "",
        _(
            "Tap to change. Other times: <code>/digest daily 06:45</code>, "
            "<code>/quiet 22:30-06:30</code>, <code>/timezone Europe/Madrid</code>."
        ),
    ]
    return Rendered("\n".join(lines), _keyboard(settings))


def _keyboard(settings: ChatSettings) -> InlineKeyboardMarkup:
    def button(label: str, key: str, value: str, chosen: bool = False) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            ("• " if chosen else "") + label, callback_data=callback(SETTING, key, value)
        )

    rows = [
        [
            button(_("⚡ Instant"), "m", "instant", settings.mode == "instant"),
            button(_("🕐 Hourly"), "m", "hourly", settings.mode == "hourly"),
            button(_("📅 Daily"), "m", "daily", settings.mode == "daily"),
        ]
    ]
    if settings.mode == "daily":
        current = (settings.daily_at or "").replace(":", "")
        rows.append([button(f"{t[:2]}:{t[2:]}", "d", t, t == current) for t in DAILY_PRESETS])
    quiet = (settings.quiet_start or "")[:2] + (settings.quiet_end or "")[:2]
    rows.append(
        [button(_("🌙 No quiet hours"), "q", "off", not settings.quiet_start)]
        + [button(f"{q[:2]}–{q[2:]}", "q", q, q == quiet) for q in QUIET_PRESETS]
    )
    rows.append(
        [
            button(
                _("🖼 Previews: on") if settings.previews else _("🖼 Previews: off"),
                "p",
                "0" if settings.previews else "1",
            ),
            button(
                _("🚨 Breaking: waits")
                if settings.breaking_respects_quiet
                else _("🚨 Breaking: at once"),
                "b",
                "0" if settings.breaking_respects_quiet else "1",
            ),
        ]
    )
    languages = [
        button(name, "l", code, settings.language == code) for code, name in i18n.LANGUAGES.items()
    ]
    rows.append([*languages, button(_("Auto"), "l", "auto", settings.language is None)])
    return InlineKeyboardMarkup(rows)


def parse_button(data: str) -> tuple[str, str] | None:
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != SETTING:
        return None
    return parts[1], parts[2]


def timezone_set(zone: str, now: float) -> str:
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(zone))
    return _("🕰 Time zone set to {zone}. It is {time} there now.").format(
        zone=html.escape(zone), time=local.strftime("%H:%M")
    )


def unknown_timezone(name: str, suggestions: tuple[str, ...]) -> str:
    text = _("I don't know the time zone “{name}”.").format(name=html.escape(name[:60]))
    if suggestions:
        options = either([f"<code>/timezone {html.escape(s)}</code>" for s in suggestions])
        text += " " + _("Did you mean {options}?").format(options=options)
    return text + "\n" + _(TIMEZONE_USAGE)


def quiet_set(settings: ChatSettings) -> str:
    if not settings.quiet_start:
        return _("🔔 Quiet hours are off: news arrives at any time.")
    return _(
        "🌙 Quiet hours {start}–{end} ({zone}). News that arrives then waits and comes as one "
        "digest when they end."
    ).format(start=settings.quiet_start, end=settings.quiet_end, zone=html.escape(settings.tz))


def digest_set(settings: ChatSettings) -> str:
    if settings.mode == "instant":
        return _("⚡ News arrives as soon as it is published.")
    if settings.mode == "hourly":
        return _("🕐 News arrives once an hour, as one digest.")
    return _("📅 News arrives once a day at {time} ({zone}), as one digest.").format(
        time=settings.daily_at, zone=html.escape(settings.tz)
    )


def here_set(thread_id: int | None) -> str:
    if thread_id is None:
        return _("📌 Herald posts to the General topic again.")
    return _("📌 Herald will post new articles in this topic.")
