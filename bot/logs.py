"""Logging set-up: one line a record, and the bot token never written anywhere."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from bot import log_context


class RedactSecrets(logging.Filter):
    """Replace every secret in a record's final message (httpx logs URLs with the token)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """``HERALD_LOG_FORMAT=json``: one JSON object a line for log collectors.

    Keys: time (UTC, ISO 8601), level, logger, message, and inside a handler or a send the
    update_id and chat_id (``bot.log_context``); a traceback goes in ``exc``. The finished line
    is redacted once more: a traceback can quote a URL that holds the token.
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

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
        text = json.dumps(line, ensure_ascii=False, default=str)
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text


def setup_logging(
    level: int, secrets: list[str], stream: object = None, *, json_lines: bool = False
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(secrets)
        if json_lines
        else logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
        )
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, which holds the token, at INFO: keep it to warnings.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    logging.getLogger("httpcore").setLevel(max(level, logging.WARNING))
    # /post URL: the extractors log a garbage page at ERROR; Herald reports it itself, once.
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(max(level, logging.CRITICAL))
