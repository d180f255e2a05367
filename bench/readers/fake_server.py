"""The fake Bot API in its own process, plus a small control API for the readers' driver.

    python -m bench.readers.fake_server --latency 0.05 [--limits]

Prints one JSON line ``{"base_url": ..., "control": ..., "token": ...}`` once both listen.
The control API (``/ctl/*`` on its own port) lets the driver queue readers' updates in
batches and read back, per step, when the bot's answer to each one arrived. Both clocks are
this process's ``time.monotonic()``: an update is "sent" when the fake queues it (from then
``getUpdates`` can hand it out) and "answered" when the bot's answering request *arrives*
(before the fake's artificial latency), so the latency is what a reader would wait.

What answers what:
* ``/search`` and ``/latest``: the next ``sendMessage`` to that private chat (oldest first);
* a button tap: the edit of the tapped message (editMessageText/Caption/ReplyMarkup), or an
  ``answerCallbackQuery`` carrying text (an "expired" notice, which edits nothing);
* an inline query: ``answerInlineQuery`` with its id.
A tap presses a real button (``callback_data``) on the newest message with buttons the bot
sent to that reader; a reader with none taps in another reader's chat that has one (as that
chat's user), so every tap is one the bot really offered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.fake_api import ApiCall, FakeBotAPI, FloodLimits

EDITS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})


@dataclass
class Pending:
    """One reader update waiting for the bot's answer."""

    kind: str
    step: str
    sent: float
    answered: float | None = None


@dataclass
class Tracker:
    """Matches the bot's calls to the readers' updates (see the module docstring)."""

    api: FakeBotAPI
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    texts: dict[int, deque[Pending]] = field(default_factory=dict)  # chat -> oldest first
    taps: dict[tuple[int, int], deque[Pending]] = field(default_factory=dict)
    queries: dict[str, Pending] = field(default_factory=dict)  # callback/inline query id
    steps: dict[str, list[Pending]] = field(default_factory=dict)
    keyboards: dict[int, int] = field(default_factory=dict)  # chat -> newest message w/ buttons
    calls: dict[str, int] = field(default_factory=dict)  # bot's calls by method
    setup_calls: int = 0  # setMyCommands seen: the bot is up

    def __call__(self, call: ApiCall) -> None:
        self.calls[call.method] = self.calls.get(call.method, 0) + 1
        method, params = call.method, call.params
        if method == "setMyCommands":
            self.setup_calls += 1
        raw = params.get("chat_id")
        chat = int(raw) if isinstance(raw, int | str) and str(raw).lstrip("-").isdigit() else None
        if method == "sendMessage" and chat is not None:
            if call.ok and isinstance(call.result, dict) and call.result.get("reply_markup"):
                self.keyboards[chat] = int(call.result["message_id"])
            self._answer(self.texts.get(chat), call.time)
        elif method in EDITS and chat is not None:
            message = int(params.get("message_id") or 0)
            self._answer(self.taps.get((chat, message)), call.time)
        elif method == "answerCallbackQuery" and params.get("text"):
            self._answer_query(str(params.get("callback_query_id")), call.time)
        elif method == "answerInlineQuery":
            self._answer_query(str(params.get("inline_query_id")), call.time)

    def _answer(self, queue: deque[Pending] | None, at: float) -> None:
        while queue:
            item = queue.popleft()
            if item.answered is None:
                item.answered = at
                return

    def _answer_query(self, query_id: str, at: float) -> None:
        item = self.queries.pop(query_id, None)
        if item is not None and item.answered is None:
            item.answered = at

    def queue(self, step: str, action: dict[str, Any]) -> bool:
        """Queue one reader update; False when a tap found no button anywhere."""
        kind, chat = action["kind"], int(action["chat"])
        item = Pending(kind, step, time.monotonic())
        if kind in ("search", "latest"):
            self.texts.setdefault(chat, deque()).append(item)
            self.api.send_text(action["text"], chat_id=chat)
        elif kind == "inline":
            item.sent = time.monotonic()
            query_id = self.api.send_inline_query(chat, action["text"])
            self.queries[query_id] = item
        elif kind == "tap":
            if not self._tap(chat, item):
                return False
        else:
            raise ValueError(f"unknown action {kind!r}")
        self.steps.setdefault(step, []).append(item)
        return True

    def _tap(self, chat: int, item: Pending) -> bool:
        if chat not in self.keyboards:
            if not self.keyboards:
                return False
            chat = self.rng.choice(list(self.keyboards))
        message_id = self.keyboards[chat]
        msg = self.api.messages.get(chat, {}).get(message_id)
        rows = (msg.reply_markup or {}).get("inline_keyboard", []) if msg else []
        data = [b["callback_data"] for row in rows for b in row if b.get("callback_data")]
        if not data:
            del self.keyboards[chat]
            return False
        update = self.api.press_button(chat, message_id, self.rng.choice(data))
        self.queries[update["callback_query"]["id"]] = item
        self.taps.setdefault((chat, message_id), deque()).append(item)
        return True

    def results(self, step: str) -> dict[str, Any]:
        items = self.steps.get(step, [])
        return {
            "items": [[i.kind, None if i.answered is None else i.answered - i.sent] for i in items],
            "pending": sum(1 for i in items if i.answered is None),
        }


def control_app(tracker: Tracker) -> web.Application:
    async def updates(request: web.Request) -> web.Response:
        body = await request.json()
        skipped = sum(not tracker.queue(body["step"], a) for a in body["actions"])
        return web.json_response({"skipped": skipped})

    async def results(request: web.Request) -> web.Response:
        return web.json_response(tracker.results(request.query["step"]))

    async def status(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ready": tracker.setup_calls > 0,
                "calls": tracker.calls,
                "rejected_429": tracker.api.stats.rejected_429,
                "cpu": time.process_time(),
            }
        )

    async def reset(request: web.Request) -> web.Response:
        tracker.setup_calls = 0
        tracker.calls.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/ctl/updates", updates)
    app.router.add_get("/ctl/results", results)
    app.router.add_get("/ctl/status", status)
    app.router.add_post("/ctl/reset", reset)
    return app


async def serve(latency: float, limits: bool) -> None:
    api = FakeBotAPI(latency=latency, limits=FloodLimits() if limits else None, record_calls=False)
    await api.start()
    tracker = Tracker(api)
    api.on_call.append(tracker)
    runner = web.AppRunner(control_app(tracker), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    print(
        json.dumps(
            {
                "base_url": api.base_url,
                "control": f"http://127.0.0.1:{port}",
                "token": api.token,
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await api.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readers.fake_server")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per Bot API call")
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's flood limits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("herald.fakeapi").setLevel(logging.ERROR)
    asyncio.run(serve(args.latency, args.limits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
