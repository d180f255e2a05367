"""Logging set-up: one line a record, and the bot token never written anywhere.

The token is redacted from the **fully formatted** record: the message, the exception's
traceback and the stack, because an exception's text can carry it (httpx puts request URLs,
which hold the token, into its errors). Exceptions nobody caught do not bypass this: the
hooks of ``sys``, ``threading`` and the asyncio loop are pointed at the same logging. Libraries
that log what readers typed or the token are held back: httpx logs every request URL at INFO,
aiosqlite every SQL statement with its parameters (search text, chat ids) at DEBUG.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bot import log_context

log = logging.getLogger("herald")

REDACTED = "<redacted>"


def secret_forms(secrets: list[str]) -> list[str]:
    """What to hide of each secret: itself and, for a bot token (``123:ABC``), its secret half
    (which survives URL encoding of the colon); longest first so nothing is half replaced."""
    forms = {s for s in secrets if s}
    forms |= {s.split(":", 1)[1] for s in secrets if ":" in s and len(s.split(":", 1)[1]) >= 8}
    return sorted(forms, key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    """A ``Formatter`` whose output, exception and stack included, never holds a secret."""

    def __init__(self, fmt: str, datefmt: str, secrets: list[str]) -> None:
        super().__init__(fmt, datefmt)
        self._secrets = secret_forms(secrets)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def format(self, record: logging.LogRecord) -> str:
        text = self.redact(super().format(record))
        if record.exc_text:  # cached by ``format`` for other handlers: keep that clean too
            record.exc_text = self.redact(record.exc_text)
        return text


class JsonFormatter(RedactingFormatter):
    """``HERALD_LOG_FORMAT=json``: one JSON object a line for log collectors.

    Keys: time (UTC, ISO 8601), level, logger, message, and inside a handler or a send the
    update_id and chat_id (``bot.log_context``); a traceback goes in ``exc``. The finished line
    is redacted as the plain lines are: a traceback can quote a URL that holds the token.
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(message)s", "%Y-%m-%d %H:%M:%S", secrets)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id, chat_id = log_context.UPDATE_ID.get(), log_context.CHAT_ID.get()
        if update_id is not None:
            line["update_id"] = update_id
        if chat_id is not None:
            line["chat_id"] = chat_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


def setup_logging(
    level: int, secrets: list[str], stream: object = None, *, json_lines: bool = False
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(secrets)
        if json_lines
        else RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S", secrets
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, which holds the token, at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(level, logging.WARNING))
    # aiosqlite logs each statement and its parameters at DEBUG: readers' searches, chat ids.
    logging.getLogger("aiosqlite").setLevel(max(level, logging.INFO))
    # /post URL: the extractors log a garbage page at ERROR; Herald reports it itself, once.
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(max(level, logging.CRITICAL))
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread


def _uncaught(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    """``sys.excepthook``: the traceback goes through logging (and its redaction)."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    log.critical("uncaught exception", exc_info=(kind, value, traceback))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: as ``_uncaught``, naming the thread."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.critical(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


def install_loop_handler(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Route the asyncio loop's unhandled errors (a task's exception never retrieved, a
    failing callback) through logging; call it first thing in the loop's main coroutine."""
    (loop or asyncio.get_running_loop()).set_exception_handler(_loop_error)


def _loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    message = context.get("message", "unhandled error in the event loop")
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    log.error("%s", message, exc_info=exc_info)
