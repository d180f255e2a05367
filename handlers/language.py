"""The reader's language for one update, set before any feature handler runs.

Registered in handler group -1 with a ``TypeHandler(Update, ...)``, so it sees every update and
then lets PTB carry on with the other groups. PTB runs all of one update's groups in one task,
and each concurrent update in a task of its own (a copy of the fetcher's context), so the
language set here holds for exactly this update: an English and a Spanish reader writing in the
same moment never get each other's language.

It always sets a language, even for updates without a chat: when updates are processed one at a
time they share the fetcher's task, and a language left over from the previous update must not
leak into the next.

A second pass after the features (group ``AFTER``) remembers the user's Telegram language for a
chat that this very update made known (``/subscribe`` as the first message) and tells the
delivery worker: pushes have no user to ask, and without it a Spanish reader's first pushed
headlines would arrive in English. It reads the database only after an update that stored a
chat (``chats.stored_a_chat``): an unknown reader's /latest costs one read, not two of each.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot import i18n
from bot.context import SERVICES_KEY, HeraldContext, Services
from bot.services import chats, preferences

log = logging.getLogger(__name__)

BEFORE = -1  # ahead of every feature (they live in the default group 0)
AFTER = 100  # once the features have run


# Set by the first pass for this update (one task): the language still has to be remembered.
_unremembered: ContextVar[bool] = ContextVar("herald_language_unremembered", default=False)


async def choose_language(update: Update, context: HeraldContext) -> None:
    """Set the chat's language (chosen in /settings, else the user's Telegram language)."""
    language, remembered = await _language(update, _services(context))
    i18n.set_language(language)
    _unremembered.set(not remembered)


async def remember_language(update: Update, context: HeraldContext) -> None:
    """Store the user's Telegram language if the chat became known only during this update."""
    chat, user, services = update.effective_chat, update.effective_user, _services(context)
    if not _unremembered.get() or not chats.stored_a_chat():
        return  # the usual case: remembered already, or the chat is still unknown
    if chat is None or user is None or services is None:
        return
    try:
        _, remembered = await preferences.chat_language(services.db, chat.id, user.language_code)
        if remembered:  # the chat is known now: tell the delivery worker
            services.settings_changed(await preferences.get(services.db, chat.id))
    except Exception:  # only pushes' language is at stake; the reader was already answered
        log.warning("could not remember the language of chat %s", chat.id, exc_info=True)


async def _language(update: Update, services: Services | None) -> tuple[str, bool]:
    """The update's language, and whether the user's Telegram language is remembered."""
    chat, user = update.effective_chat, update.effective_user
    language_code = user.language_code if user is not None else None
    if chat is None or services is None:
        # Inline queries and the like have no chat to remember a choice for: the user's own
        # Telegram language is all there is.
        return i18n.pick(language_code), True
    try:
        return await preferences.chat_language(services.db, chat.id, language_code)
    except Exception:  # a reply in the user's Telegram language beats no reply at all
        log.warning("could not read the language of chat %s", chat.id, exc_info=True)
        return i18n.pick(language_code), True


def _services(context: HeraldContext) -> Services | None:
    """None before ``start_services`` ran (updates are only fetched after it, but be safe)."""
    return context.application.bot_data.get(SERVICES_KEY)


def register(app: Application) -> None:
    """Before and after every feature's handlers."""
    app.add_handler(TypeHandler(Update, choose_language), group=BEFORE)
    app.add_handler(TypeHandler(Update, remember_language), group=AFTER)
