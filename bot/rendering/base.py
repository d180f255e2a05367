"""What every rendering module shares: Telegram's limits, escaping, and every callback prefix.

Rendering turns domain objects into HTML text and inline keyboards. It is pure: no I/O, no
database, no Bot API. Every text is escaped here and fitted to Telegram's limits (4096 a
message and 1024 a caption, counted in UTF-16 code units, and 64 bytes of callback data), so no
caller has to remember to. Every text a reader sees goes through ``_`` (``bot.i18n``) and dates
are written with Babel in the current language.

Callback data prefixes, one letter each, all defined here so that a handler's pattern and the
keyboard that makes the data cannot drift apart, and two surfaces can never take one letter:

- ``a:<article>:<origin>``, ``l:<topic or empty>:<page>``, ``s:<search>:<page>``: reading
  (open an article, page /latest or /search results); ``n:<article>`` opens an article in a
  new message below the tapped one;
- ``u:<subscription>`` removes a subscription, ``t:<topic>`` adds a topic;
- ``g:<setting>:<value>``: the /settings panel;
- ``d:<draft>:<p|b|c>``: an editor's draft (publish, breaking, cancel);
- ``f:<page>``: a page of the editors' feed list.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import date as date_type

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from telegram import InlineKeyboardMarkup

from bot import i18n
from bot.i18n import N_, _

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 60

# Reading: "a:<article>:<origin>", "l:<topic or empty>:<page>", "s:<search>:<page>";
# "n:<article>" opens the article in a new message, leaving the tapped one as it is (under a
# draft's preview: the draft and its Publish/Cancel buttons stay; under a digest: the digest).
OPEN = "a"
LATEST = "l"
SEARCH = "s"
OPEN_NEW = "n"
CALLBACK_PATTERN = r"^[alsn]:"
# Subscription buttons: "u:<subscription>" removes one, "t:<topic>" adds a topic.
REMOVE_SUBSCRIPTION = "u"
ADD_TOPIC = "t"
SUBSCRIPTION_PATTERN = r"^[ut]:\d{1,18}$"
# The /settings panel: "g:<setting>:<value>" (see bot.rendering.settings).
SETTING = "g"
SETTINGS_PATTERN = r"^g:[mdqpbl]:[a-z0-9]{1,8}$"
# Draft buttons: "d:<draft>:<p publish | b breaking | c cancel>".
DRAFT = "d"
PUBLISH, BREAKING, CANCEL = "p", "b", "c"
DRAFT_PATTERN = r"^d:\d{1,18}:[pbc]$"
# The editors' feed list pages: "f:<page>".
FEEDS_PAGE = "f"
FEEDS_PATTERN = r"^f:\d{1,6}$"

# Every prefix above, for the test that keeps them distinct.
PREFIXES = (
    OPEN, LATEST, SEARCH, OPEN_NEW, REMOVE_SUBSCRIPTION, ADD_TOPIC, SETTING, DRAFT, FEEDS_PAGE
)  # fmt: skip

# Constants are marked with N_ for extraction and translated where they are shown: _(EXPIRED).
EXPIRED = N_("This button has expired.")
UNKNOWN_COMMAND = N_("Sorry, I don't know that command. Send /help to see what I can do.")
SORRY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
SORRY_BUTTON = N_("Sorry, something went wrong. Please try again.")
# Said once to a user over their budget of commands, taps and inline queries (bot.services.budget).
SLOW_DOWN = N_("You're going a little fast: please wait a few seconds, then try again.")


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Cut plain text to at most ``limit`` UTF-16 units, at a word boundary, with '…'."""
    if utf16_len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    while cut and utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def escaped_within(text: str, limit: int) -> str:
    """HTML-escape ``text`` and shorten it first so the escaped form fits ``limit`` units."""
    budget = limit
    while True:
        result = html.escape(shorten(text, budget), quote=False)
        if utf16_len(result) <= limit or budget <= 0:
            return result if utf16_len(result) <= limit else ""
        budget -= utf16_len(result) - limit


def callback(*parts: object) -> str:
    data = ":".join(str(p) for p in parts)
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts '٣' and '²', which Herald never writes."""
    return text.isascii() and text.isdigit()


NBSP = "\u00a0"


def date(ts: int) -> str:
    """'14 Nov 2023' / '14 nov 2023': Babel's month names, not strftime's C-locale English.

    Its spaces are non-breaking, so a narrow screen never wraps a date inside ("10⏎Nov").
    """
    return _day(datetime.fromtimestamp(ts, UTC).date(), i18n.current())


@functools.lru_cache(maxsize=4096)
def _day(day: date_type, language: str) -> str:
    """Babel takes ~50 µs a date; a page of results shows five, mostly of a few days."""
    return format_date(day, "d MMM y", locale=language).replace(" ", NBSP)


def date_time(ts: int) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    text = format_datetime(when, "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=i18n.current())
    return text.replace(" ", NBSP)


def either(choices: list[str]) -> str:
    """'a or b', 'a, b, or c', 'a, b o c': the current language's way to list alternatives."""
    return format_list(choices, style="or", locale=i18n.current())


def updated_mark(ts: int) -> str:
    """The correction mark on an article page and on pushed copies."""
    updated = _("Updated {date}").format(date=date_time(ts))
    return f"<i>✏️ {updated}</i>"
