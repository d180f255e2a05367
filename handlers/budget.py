"""The per-user budget, applied to every update before anything else runs.

Counted the moment an update arrives (``screen``, which the fair update processor calls before
the update joins its chat's line): counting when it is handled would let a flooder's backlog,
handled one a second at its chat's pace, refill the budget as fast as it spends it. An update
over the budget is dropped right there, with no database read or Telegram request. The first
one over is let through to ``gate``, in handler group ``GATE`` (-2, ahead of the language
middleware and every feature), which answers it once with a short "slow down" in the user's
Telegram language (the chat's own language would take a database read) and stops it
(``ApplicationHandlerStop``); a tap's answer is a toast, an inline query gets none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from telegram import Chat, Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot import i18n, rendering
from bot.context import HeraldContext
from bot.i18n import _
from bot.sender import reply
from bot.services.budget import UserBudget, Verdict

log = logging.getLogger(__name__)

GATE = -2  # ahead of the language middleware (-1) and every feature (0)

# Set by ``screen`` for this update (one task): over the budget, to be told "slow down".
_over: ContextVar[bool] = ContextVar("herald_over_budget", default=False)


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


def make_screen(budget: UserBudget) -> Callable[[object], bool]:
    """What the update processor asks of each update on arrival: False drops it."""

    def screen(update: object) -> bool:
        if not isinstance(update, Update) or update.effective_user is None:
            return True
        if not counted(update):
            return True
        verdict = budget.take(update.effective_user.id)
        if verdict is Verdict.DROP:
            return False
        if verdict is Verdict.WARN:
            log.info(
                "user %s is over the per-user budget: told once, then dropping",
                update.effective_user.id,
            )
        _over.set(verdict is Verdict.WARN)
        return True

    return screen


async def gate(update: Update, context: HeraldContext) -> None:
    """Group -2: the update ``screen`` found over budget gets its "slow down", nothing else."""
    if not _over.get():
        return
    user = update.effective_user
    await _slow_down(update, i18n.pick(user.language_code if user is not None else None))
    raise ApplicationHandlerStop


async def _slow_down(update: Update, language: str) -> None:
    """One short answer where the user will see it; none for an inline query."""
    with i18n.use(language):
        text = _(rendering.SLOW_DOWN)
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    elif update.effective_message is not None:
        await reply(update.effective_message, rendering.Rendered(text))


def register(app: Application) -> None:
    """Ahead of every other handler (the budget itself is counted by ``screen``)."""
    app.add_handler(TypeHandler(Update, gate), group=GATE)
