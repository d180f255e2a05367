"""Payload factories and the harness that drives a real Herald against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import Application

from bot.app import build_application, serve
from bot.config import Settings
from bot.context import SERVICES_KEY, Services
from bot.rendering.base import EXPIRED
from bot.rendering.subscriptions import ADMINS_ONLY
from bot.sandbox.fake_api import FakeBotAPI, SentMessage
from bot.services.ingest import ArticleInput, ingest, normalise
from storage.db import Database

ROOT = str(Path(__file__).resolve().parents[1])
READER = 1001
EDITOR = 4004
GROUP = -100500


def settings_for(database: Path, api: FakeBotAPI, **overrides: object) -> Settings:
    """Settings that point at the fake API and a temp database, ignoring any local .env.

    Feeds and pages in tests are served on 127.0.0.1, so the fetch guard lets internal
    addresses through unless a test (one that proves the guard) says otherwise.
    """
    # Any free port for Herald's HTTP server: tests run side by side.
    values: dict[str, object] = {"fetch_allow_private": True, "http_port": 0, **overrides}
    return Settings(
        _env_file=None,
        bot_token=api.token,
        api_base_url=api.base_url,
        api_file_url=api.base_file_url,
        database=database,
        **values,
    )


def article(title: str, body: str = "", **fields: object) -> ArticleInput:
    """An article input with sensible defaults for tests."""
    return ArticleInput(title=title, body=body or f"{title}. More words about it.", **fields)


async def store(db: Database, *items: ArticleInput, now: int = 1_700_000_000) -> list[int]:
    """Ingest ``items`` through the real ingest path; their new ids in order."""
    result = await ingest(db, [normalise(item, now) for item in items], now)
    return result.added


def buttons(message: SentMessage) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button, in reading order."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def button_data(message: SentMessage, text_starts: str) -> str:
    for text, data in buttons(message):
        if text.startswith(text_starts):
            return data
    raise AssertionError(f"no button starting {text_starts!r} in {buttons(message)}")


@dataclass
class Herald:
    """A running Herald (real Application, real HTTP) and the fake Telegram it talks to."""

    api: FakeBotAPI
    settings: Settings
    app: Application | None = None

    @property
    def services(self) -> Services:
        assert self.app is not None, "in-process Herald only"
        return self.app.bot_data[SERVICES_KEY]

    async def publish(self, *items: ArticleInput, priority: int = 0) -> list[int]:
        """Publish through the running Herald's own ingest path, as an editor or feed would."""
        now = 1_700_000_000
        result = await ingest(
            self.services.db,
            [normalise(i, now) for i in items],
            now,
            push=True,
            priority=priority,
        )
        self.services.outbox_changed()
        return result.added

    def member_change(
        self, chat_id: int, status: str, *, chat_type: str = "supergroup", title: str = "Group"
    ) -> None:
        """Herald's status in a chat changes (added, removed, blocked by a user)."""
        self.api.set_bot_membership(chat_id, status, chat_type=chat_type, title=title)

    async def send(self, text: str, chat_id: int = READER, **kwargs: object) -> SentMessage:
        """A user sends ``text``; returns the bot's reply message in that chat."""
        mark = self.api.mark()
        self.api.send_text(text, chat_id=chat_id, **kwargs)
        call = await self.api.wait_for(
            "sendMessage", lambda c: int(c.params["chat_id"]) == chat_id, after=mark
        )
        assert call.ok, call.error
        return self.api.messages[chat_id][call.result["message_id"]]

    async def press(
        self, message: SentMessage, data: str, *, forged: bool = False
    ) -> tuple[str | None, SentMessage]:
        """Tap a button; returns (the callback answer's text, the message after the tap)."""
        mark = self.api.mark()
        update = self.api.press_button(message.chat_id, message.message_id, data, forged=forged)
        query_id = update["callback_query"]["id"]
        answer = await self.api.wait_for(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id, after=mark
        )
        assert answer.ok, answer.error
        # The edit (if any) is sent right after the answer; wait for whichever bot call ends
        # handling the update: an edit of this message, or nothing when the button expired.
        if answer.params.get("text") not in (EXPIRED, ADMINS_ONLY):
            await self.api.wait_for(
                "editMessageText",
                lambda c: int(c.params["message_id"]) == message.message_id,
                after=mark,
            )
        return answer.params.get("text"), self.api.messages[message.chat_id][message.message_id]


async def run_herald(
    settings: Settings, api: FakeBotAPI, stop: asyncio.Event
) -> tuple[asyncio.Task, Application]:
    """Start Herald in this process and return once it polls for updates."""
    app = build_application(settings, api.token, api.base_url, api.base_file_url)
    mark = api.mark()
    task = asyncio.create_task(serve(app, settings, stop))
    await api.wait_for("deleteWebhook", after=mark, timeout=15)  # polling starts right after
    return task, app


@asynccontextmanager
async def herald_running(
    settings: Settings, api: FakeBotAPI, *, stop_within: float = 15
) -> AsyncIterator[Herald]:
    """Herald with ``settings`` running in this process for the block, then stopped."""
    stop = asyncio.Event()
    task, app = await run_herald(settings, api, stop)
    try:
        yield Herald(api, settings, app)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=stop_within)


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 10.0, *, every: float = 0.02
) -> None:
    """Wait until ``check()`` holds (state that shows no message, e.g. a paused chat); a
    costly check may be asked less often (``every`` seconds)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {within} s: {check.__name__}")
        await asyncio.sleep(every)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_bot_process(
    api: FakeBotAPI, database: Path | str, cwd: Path, *, log: Path | None = None, **settings: str
) -> asyncio.subprocess.Process:
    """A real ``python -m bot`` against ``api``, configured only through its environment.

    Its log is a pipe (read it with ``communicate``), or the file ``log`` for a process that
    logs more than a pipe holds before the test reads it."""
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "HERALD_BOT_TOKEN": api.token,
        "HERALD_API_BASE_URL": api.base_url,
        "HERALD_DATABASE": str(database),
        "HERALD_HTTP_PORT": "0",
        **{f"HERALD_{name.upper()}": value for name, value in settings.items()},
    }
    stderr = None if log is None else log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE if stderr is None else stderr,
        )
    finally:
        if stderr is not None:
            stderr.close()  # the process has its own copy


def run_cli(
    *args: str, cwd: Path, stdin: str = "", timeout: float = 60, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` to completion as a user runs it, in ``cwd``, with only the given
    ``HERALD_*`` settings (none inherited from the environment running the tests)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HERALD_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    env.update({f"HERALD_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Keep this process's garbage collector from pausing the fake mid-broadcast (tests and
    benchmarks whose fake runs in their own process: a stall there is the measuring side's).

    The fake keeps every message it accepted (100,000 SentMessage objects in memory100k), so
    each full collection walks them all: stalls of up to 0.5 s were measured in the fake's
    loop, and every 429 of that run came right after one (requests stamped late, in a burst).
    Everything set up so far is frozen out of collection and collection is off until the
    broadcast ends; the garbage of a few minutes is small next to 24 GB.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()
