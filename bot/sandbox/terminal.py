"""The offline sandbox: chat with the real Herald in this terminal (``python -m bot sandbox``).

Nothing is mocked inside Herald: the unmodified Application (handlers, PTB's HTTP stack, long
polling) runs against :class:`FakeBotAPI` on 127.0.0.1, and this module plays the Telegram app of
one private user. What the reader types becomes updates (``send_text``, ``press_button``); what
Herald sends is printed from the fake's ``on_call`` listener. So the sandbox shows exactly what a
Telegram user would get, and a message Telegram would refuse shows up here as a refusal.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.app import build_application, serve
from bot.config import Settings
from bot.logs import install_loop_handler, setup_logging
from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.samples import seed_samples
from bot.sandbox.terminal_render import Button, ChatView, numbered_buttons
from bot.web.auth import sign_user
from storage.articles import count_articles
from storage.db import Database

log = logging.getLogger(__name__)

USER_ID = 1000  # a private chat: the chat id is the user id
USER_NAME = "You"
SANDBOX_TOKEN = "1000001:HERALD-SANDBOX"
BOT_USERNAME = "HeraldSandboxBot"
REPLY_TIMEOUT = 5.0  # seconds to wait for Herald's answer before showing the prompt anyway
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
LOG_NAME = "herald-sandbox.log"
CONTINUE = "\\"  # a line ending with it goes on on the next line: one message of several lines
PHOTO = "!photo"  # "!photo Caption": send a picture with that caption, as a phone would


async def run_sandbox(settings: Settings, database: Path | None) -> int:
    """Chat with Herald until Ctrl-D or Ctrl-C; 0 on a clean exit, 1 if the bot failed.

    ``database`` None means a fresh sample database in a temporary directory, removed at exit.
    Otherwise it is the reader's own, existing database (the caller checked): it is used as it
    is, never seeded, so a mistyped path cannot turn into a sample database left behind.
    """
    with ExitStack() as cleanup:
        fresh = database is None
        if database is None:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="herald-")))
            database = workdir / "herald.db"
        else:
            workdir = database.resolve().parent
        log_path = workdir / LOG_NAME
        cleanup.enter_context(_logging_to(log_path, settings.log_level_number))
        install_loop_handler()
        articles = await _prepare_database(database, seed=fresh)
        # The one user is an editor too, so /post, /feeds and /stats can be tried here; local
        # pages and feeds are what one tries in a sandbox: the fetch guard lets them in.
        editors = settings.editor_ids | {USER_ID}
        port = _free_port(settings.http_host, settings.http_port)
        sandbox_settings = settings.model_copy(  # model_copy: the sandbox's plain-HTTP app is
            update={  # allowed here on purpose, where HERALD_WEBAPP_URL insists on HTTPS
                "database": database,
                "editor_ids": editors,
                "fetch_allow_private": True,
                "http_port": port,
                "webapp_url": f"http://{settings.http_host}:{port}/app/",
            }
        )
        code = await _run(sandbox_settings, _describe(database, articles, fresh), log_path)
    return code


def _describe(database: Path, articles: int, fresh: bool) -> str:
    """The banner's database line: where, how many articles, and whose."""
    if fresh:
        return f"{database} ({articles:,} sample articles, removed at exit)"
    if articles == 0:
        return f"{database} (no articles yet: add some with `import FILE`)"
    return f"{database} ({articles:,} articles)"


@contextmanager
def _logging_to(path: Path, level: int) -> Iterator[None]:
    """Herald's log lines into ``path``, only warnings and errors to stderr.

    Log lines in the middle of the chat would bury the conversation, but a failure must not go
    unnoticed, so warnings still reach the terminal.
    """
    setup_logging(level, [SANDBOX_TOKEN])  # Herald's format and library levels, to stderr
    root = logging.getLogger()
    to_stderr = root.handlers[0]
    to_stderr.setLevel(max(level, logging.WARNING))
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(to_stderr.formatter)
    root.addHandler(to_file)
    try:
        yield
    finally:
        root.removeHandler(to_file)
        to_file.close()


async def _prepare_database(path: Path, *, seed: bool) -> int:
    """Open (and migrate) the database; with ``seed``, put the sample articles in first."""
    db = await Database.open(path)
    try:
        if seed:
            await seed_samples(db)
        return await count_articles(db)
    finally:
        await db.close()


async def _run(settings: Settings, database: str, log_path: Path) -> int:
    """Start the fake Telegram and the real bot, converse, then stop both in order."""
    view = ChatView.on_stdout(USER_ID)
    fake = FakeBotAPI(token=SANDBOX_TOKEN, bot_username=BOT_USERNAME)
    fake.on_call.append(view.on_call)
    quit_ = asyncio.Event()  # set by Ctrl-C
    with _on_interrupt(quit_.set):
        async with fake:
            stop = asyncio.Event()
            app = build_application(settings, fake.token, fake.base_url, fake.base_file_url)
            server = asyncio.create_task(serve(app, settings, stop), name="herald")
            try:
                started = await _started(fake, server, quit_)
                if started:
                    view.banner(database, log_path, _app_link(settings))
                    await _first_of(_converse(fake, view), server, quit_)
            finally:
                stop.set()
                stopped = await _stopped_cleanly(server)
    ok = stopped and (started or quit_.is_set())
    view.goodbye(ok)
    return 0 if ok else 1


def _free_port(host: str, preferred: int) -> int:
    """``preferred`` when it is free, else any free port: two sandboxes may run at once."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


def _app_link(settings: Settings) -> str:
    """The Mini App's address with initData signed for the sandbox's reader in its hash, the
    way Telegram opens it, so the browser and the terminal are the same person."""
    init_data = sign_user(SANDBOX_TOKEN, USER_ID, first_name="You")
    return f"{settings.webapp_url}#tgWebAppData={quote(init_data, safe='')}"


async def _started(fake: FakeBotAPI, server: asyncio.Task[None], quit_: asyncio.Event) -> bool:
    """Wait until Herald is about to poll; False if it failed or the reader quit first.

    PTB deletes any webhook right before long polling, so that call means "ready" (a getUpdates
    call is recorded only when it returns, up to a poll timeout later).
    """
    try:
        return await _first_of(fake.wait_for("deleteWebhook", timeout=START_TIMEOUT), server, quit_)
    except TimeoutError:
        log.error("Herald did not start within %.0f s", START_TIMEOUT)
        return False


async def _first_of(
    work: Coroutine[Any, Any, object], server: asyncio.Task[None], quit_: asyncio.Event
) -> bool:
    """Run ``work`` until it ends, the bot stops, or the reader quits; True if ``work`` ended.

    An exception from ``work`` (a sandbox bug, or the bot never starting) propagates.
    """
    task = asyncio.ensure_future(work)
    quitting = asyncio.ensure_future(quit_.wait())
    try:
        await asyncio.wait({task, server, quitting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (task, quitting):
            waiter.cancel()
    if not task.done() or task.cancelled():
        return False
    task.result()
    return True


async def _stopped_cleanly(server: asyncio.Task[None]) -> bool:
    """Wait for ``serve`` to finish; log its exception, if any, instead of raising it."""
    try:
        await asyncio.wait_for(server, STOP_TIMEOUT)
    except Exception:
        log.exception("Herald stopped with an error")
        return False
    return True


@contextmanager
def _on_interrupt(callback: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C (and SIGTERM) end the conversation like Ctrl-D does, not with a traceback."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            loop.add_signal_handler(sig, callback)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _converse(fake: FakeBotAPI, view: ChatView) -> None:
    """Read the reader's lines until end of input; each message is said to Herald in turn.

    A line ending with a backslash goes on on the next line, as in a shell, so one message can
    have several lines (``/post Headline\\`` then the body): Telegram's Shift-Enter.
    """
    lines = StdinLines(asyncio.get_running_loop())
    lines.start()
    view.prompt()
    pending: list[str] = []
    while (line := await lines.get()) is not None:
        view.echo(line)
        if line.rstrip().endswith(CONTINUE):
            pending.append(line.rstrip().removesuffix(CONTINUE).rstrip())
            view.prompt_more()
            continue
        message = "\n".join([*pending, line]).strip()
        pending.clear()
        if message:
            await _say(fake, view, message)
            view.prompt()
        elif view.interactive:  # Enter on an empty line: a fresh prompt, as in a shell
            view.prompt(gap=False)
    if "\n".join(pending).strip():  # input ended inside a message: send what there is
        await _say(fake, view, "\n".join(pending).strip())


async def _say(fake: FakeBotAPI, view: ChatView, line: str) -> None:
    """Send a message (or a photo), or press button N for a bare number; then wait for Herald."""
    mark = fake.mark()
    if line == PHOTO or line.startswith((PHOTO + " ", PHOTO + "\n")):
        fake.send_photo(USER_ID, USER_ID, caption=line.removeprefix(PHOTO).strip() or None)
    elif line.isascii() and line.isdigit():
        target = _latest_keyboard(fake)
        if target is None:
            view.note("There are no buttons to press yet: try /latest.")
            return
        message_id, buttons = target
        button = buttons.get(int(line))
        if button is None or button.callback_data is None:
            view.note(f"No button {line} on the last message with buttons (1–{len(buttons)}).")
            return
        fake.press_button(USER_ID, message_id, button.callback_data)
    else:
        fake.send_text(line, chat_id=USER_ID, first_name=USER_NAME)
    if not await _wait_for_reply(fake, mark):
        view.note("Herald did not answer.")


def _latest_keyboard(fake: FakeBotAPI) -> tuple[int, dict[int, Button]] | None:
    """The newest bot message in the chat with pressable buttons, and those buttons."""
    chat = fake.messages.get(USER_ID, {})
    for message_id in sorted(chat, reverse=True):
        buttons = numbered_buttons(chat[message_id].reply_markup)
        if buttons and not chat[message_id].deleted:
            return message_id, buttons
    return None


async def _wait_for_reply(fake: FakeBotAPI, mark: int) -> bool:
    """Wait until Herald answered visibly after ``mark``: a message, an edit or a toast.

    A silent ``answerCallbackQuery`` does not count: after it comes the edit the reader expects,
    and showing the prompt in between would interleave the edit with it.
    """
    waits = [
        fake.wait_for("sendMessage", timeout=REPLY_TIMEOUT, after=mark),
        fake.wait_for("sendPhoto", timeout=REPLY_TIMEOUT, after=mark),
        fake.wait_for("editMessageText", timeout=REPLY_TIMEOUT, after=mark),
        fake.wait_for(
            "answerCallbackQuery", lambda c: bool(c.params.get("text")), REPLY_TIMEOUT, after=mark
        ),
    ]
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return any(not task.cancelled() and task.exception() is None for task in done)


class StdinLines:
    """Lines of stdin, read by a daemon thread and handed to the event loop.

    A daemon thread rather than ``run_in_executor``: an executor thread blocked in a read would
    keep the process alive after Ctrl-D/Ctrl-C until the user pressed Enter. It reads the file
    descriptor with ``os.read`` (no buffered-stream lock), so abandoning it at exit is safe.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()

    def start(self) -> None:
        threading.Thread(target=self._read, name="sandbox-stdin", daemon=True).start()

    async def get(self) -> str | None:
        """The next line without its newline; None at end of input (Ctrl-D)."""
        return await self._queue.get()

    def _read(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        while True:
            try:
                chunk = os.read(sys.stdin.fileno(), 4096)
            except (AttributeError, OSError, ValueError):
                chunk = b""  # no usable stdin: behave as if it were empty
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                self._hand_over(line.removesuffix("\r"))
            if not chunk:
                if pending:
                    self._hand_over(pending)
                self._hand_over(None)
                return

    def _hand_over(self, line: str | None) -> None:
        with suppress(RuntimeError):  # the loop is closed: the sandbox has already ended
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
