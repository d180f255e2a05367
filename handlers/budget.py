"""The per-user budget, applied to every update before anything else runs.

Registered in handler group ``GATE`` (-2), ahead of the language middleware (-1) and every
feature, with a ``TypeHandler(Update, ...)``: an update over its user's budget stops here
(``ApplicationHandlerStop``) before any database read or Telegram request. The first one over
is answered once with a short "slow down" in the user's Telegram language (choosing the chat's
own language would take a database read); a tap's answer is a toast, an inline query gets none.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot import i18n, rendering
from bot.config import Settings
from bot.context import HeraldContext
from bot.i18n import _
from bot.sender import reply
from bot.services.budget import UserBudget, Verdict

log = logging.getLogger(__name__)

GATE = -2  # ahead of the language middleware (-1) and every feature (0)


def counted(update: Update) -> bool:
    """Commands, button taps, inline queries, and what a user writes to the bot in private.

    Not counted: membership changes, channel posts, and chatter in a group that is not a
    command (the bot does not answer it).
    """
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.message or update.edited_message
    if message is None or update.effective_user is None:
        return False
    return message.chat.type == Chat.PRIVATE or (message.text or "").startswith("/")


def make_gate(budget: UserBudget):  # noqa: ANN201 (PTB's callback type is long)
    """The group -2 callback over ``budget``."""

    async def gate(update: Update, context: HeraldContext) -> None:
        user = update.effective_user
        if user is None or not counted(update):
            return
        verdict = budget.take(user.id)
        if verdict is Verdict.ALLOWED:
            return
        if verdict is Verdict.WARN:
            log.info("user %s is over the per-user budget: told once, then dropping", user.id)
            await _slow_down(update, i18n.pick(user.language_code))
        raise ApplicationHandlerStop

    return gate


async def _slow_down(update: Update, language: str) -> None:
    """One short answer where the user will see it; none for an inline query."""
    with i18n.use(language):
        text = _(rendering.SLOW_DOWN)
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    elif update.effective_message is not None:
        await reply(update.effective_message, rendering.Rendered(text))


def register(app: Application, settings: Settings) -> None:
    """Ahead of every other handler."""
    budget = UserBudget(settings.user_burst, settings.user_rate)
    app.add_handler(TypeHandler(Update, make_gate(budget)), group=GATE)
