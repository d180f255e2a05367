"""The bot token never reaches a log (issue 13, finding 6): not in messages, not in
tracebacks, not from uncaught exceptions; aiosqlite's SQL parameters stay out at DEBUG."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import REDACTED, setup_logging
from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.samples import seed_samples
from storage.db import Database
from tests.factories import READER, ROOT, start_bot_process

TOKEN = "123456789:AAH-secret-part-of-the-token_xyz"
SECRET_HALF = TOKEN.split(":", 1)[1]


class CarriesToken(Exception):
    """An error whose text holds the token, as an httpx error holds a request URL."""


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``setup_logging`` changes process-wide state: put it back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
def test_an_exception_carrying_the_token_logs_no_token_at_any_level(
    level: str, restore_logging: None
) -> None:
    stream = io.StringIO()
    setup_logging(logging.getLevelName(level), [TOKEN], stream)
    logger = logging.getLogger("herald.test")
    try:
        raise CarriesToken(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    except CarriesToken:
        for name in ("debug", "info", "warning", "error", "critical"):
            getattr(logger, name)("sending failed for %s", TOKEN, exc_info=True, stack_info=True)

    written = stream.getvalue()
    assert "CarriesToken" in written and REDACTED in written  # the error was logged…
    assert TOKEN not in written and SECRET_HALF not in written  # …without the token


UNCAUGHT = f"""
import asyncio, logging, threading
from bot.logs import install_loop_handler, setup_logging
TOKEN = {TOKEN!r}
setup_logging(logging.DEBUG, [TOKEN])

def fail_in_thread():
    raise RuntimeError("thread saw " + TOKEN)

worker = threading.Thread(target=fail_in_thread, name="worker")
worker.start()
worker.join()

async def main():
    install_loop_handler()
    async def fail_in_task():
        raise ValueError("task saw " + TOKEN)
    task = asyncio.get_running_loop().create_task(fail_in_task())
    await asyncio.wait([task])
    del task  # its exception was never retrieved: the loop reports it when it is collected

asyncio.run(main())
raise LookupError("main saw %2F" + TOKEN.replace(":", "%3A"))
"""


def test_uncaught_exceptions_in_threads_tasks_and_main_log_no_token() -> None:
    result = subprocess.run(
        [sys.executable, "-c", UNCAUGHT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    err = result.stderr
    assert "uncaught exception in thread worker" in err and "RuntimeError: thread saw" in err
    assert "ValueError: task saw" in err and "LookupError: main saw" in err
    assert TOKEN not in err and SECRET_HALF not in err
    assert err.count(REDACTED) >= 3


async def test_a_failing_reply_in_the_real_process_logs_no_token(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    """The real ``python -m bot`` at DEBUG: Telegram's error text carries the token (as an
    error from the HTTP layer can); the traceback is logged, the token is not; aiosqlite
    does not log SQL parameters (a reader's search words) at DEBUG."""
    database = tmp_path / "herald.db"
    db = await Database.open(database)
    await seed_samples(db)
    await db.close()
    mark = api.mark()
    process = await start_bot_process(api, database, tmp_path, log_level="DEBUG")
    try:
        await api.wait_for("deleteWebhook", after=mark, timeout=30)
        mark = api.mark()
        api.fail_next("sendMessage", READER, description=f"Bad Request: wrong bot {api.token}")
        api.send_text("/search marmalade zeppelin", chat_id=READER)
        apology = await api.wait_for(  # the failed reply, then Herald's apology
            "sendMessage", lambda c: c.ok and int(c.params["chat_id"]) == READER, after=mark
        )
        assert apology.ok
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = stderr.decode()
    assert "error while handling update" in log and "BadRequest" in log, log[-3000:]
    assert api.token not in log and api.token.split(":")[1] not in log
    # aiosqlite held at INFO: its DEBUG lines (each statement with its parameters) are gone.
    assert " DEBUG aiosqlite:" not in log and " DEBUG telegram" in log
