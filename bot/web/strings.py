"""The Mini App's own words, from the same gettext catalogs as the chat.

The page asks ``/api/strings`` once and fills its labels from the answer, so English and
Spanish (and any later language) come from ``bot/locale`` with no second catalog in JavaScript.
"""

from __future__ import annotations

from bot import i18n
from bot.i18n import N_, _
from bot.rendering.settings import MODE_NAMES

MENU_BUTTON = N_("Herald")
NEEDS_TELEGRAM = N_("Open Herald from Telegram to manage your subscriptions and settings here.")

UI: dict[str, str] = {
    "latest": N_("Latest"),
    "search": N_("Search"),
    "mine": N_("My news"),
    "all_topics": N_("All"),
    "search_placeholder": N_("Search articles"),
    "search_hint": N_('Words, "an exact phrase", word*, -leave_out, a OR b'),
    "no_articles": N_("No articles yet."),
    "nothing_found": N_("Nothing found for “{query}”."),
    "loading": N_("Loading…"),
    "load_more": N_("More"),
    "related": N_("Related stories"),
    "open_original": N_("Open original"),
    "share": N_("Share"),
    "back": N_("Back"),
    "by": N_("By {authors}"),
    "not_found": N_("This article is no longer available."),
    "subscriptions": N_("Subscriptions"),
    "no_subscriptions": N_("You follow nothing yet: add a topic or a phrase."),
    "add": N_("Add"),
    "remove": N_("Remove"),
    "subscribe_placeholder": N_('A topic, or a "phrase" in quotes'),
    "add_topic": N_("Add a topic"),
    "everything": N_("Everything"),
    "settings": N_("Settings"),
    "delivery": N_("Delivery"),
    "daily_at": N_("Daily digest at"),
    "quiet_hours": N_("Quiet hours"),
    "quiet_off": N_("No quiet hours"),
    "time_zone": N_("Time zone"),
    "previews": N_("Link previews"),
    "language": N_("Language"),
    "as_in_telegram": N_("As in Telegram"),
    "save": N_("Save"),
    "saved": N_("Saved."),
    "needs_telegram": NEEDS_TELEGRAM,
    "error": N_("Something went wrong. Please try again."),
    "expired": N_("This session has expired: close Herald and open it again."),
}


def ui_strings() -> dict[str, str]:
    """Every label of the page in the current language (``i18n.use`` around the call)."""
    strings = {key: _(text) for key, text in UI.items()}
    strings.update({f"mode_{mode}": _(name) for mode, name in MODE_NAMES.items()})
    return strings


def languages() -> dict[str, str]:
    return dict(i18n.LANGUAGES)
