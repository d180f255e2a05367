"""What a log line is about: the update being handled and the chat, as context variables.

Set by the handler hook (``bot.observe``) for every update and by the delivery worker for every
send; PTB runs each update in its own task and the worker each send in its own, so the values
never leak from one to another. ``bot.logs.JsonFormatter`` writes them into each line.
"""

from __future__ import annotations

from contextvars import ContextVar

UPDATE_ID: ContextVar[int | None] = ContextVar("herald_update_id", default=None)
CHAT_ID: ContextVar[int | None] = ContextVar("herald_chat_id", default=None)
