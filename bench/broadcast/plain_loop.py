"""The baseline most bots use, run as its own process like Herald: PTB and ``AIORateLimiter``.

``sequential``: ``for chat in chats: await bot.send_message(chat, text)``, the loop found in
most tutorials. ``gather``: the same sends started together (at most ``--concurrency`` in
flight) and left to ``AIORateLimiter`` to pace, the usual "fix" for the sequential loop's speed.
Either way a failed send is counted and the loop goes on, as a careful plain bot would.

    python -m bench.broadcast.plain_loop --base-url URL --token T --first 1 --chats 1000
        --seconds 60 --payload payload.json [--mode sequential|gather]

Prints one JSON line: {"sent": n, "errors": {"RetryAfter": n, ...}, "seconds": s}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest


async def broadcast(args: argparse.Namespace, payload: dict[str, Any]) -> dict[str, Any]:
    concurrent = args.mode == "gather"
    request = HTTPXRequest(connection_pool_size=args.concurrency if concurrent else 1)
    bot = ExtBot(args.token, base_url=args.base_url, request=request, rate_limiter=AIORateLimiter())
    markup = InlineKeyboardMarkup.de_json(payload.get("reply_markup"), bot)
    errors: Counter[str] = Counter()
    sent = 0
    deadline = time.monotonic() + args.seconds

    async def send(chat: int) -> None:
        nonlocal sent
        try:
            await bot.send_message(
                chat,
                payload["text"],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            sent += 1
        except TelegramError as exc:
            errors[type(exc).__name__] += 1

    started = time.monotonic()
    async with bot:
        chats = range(args.first, args.first + args.chats)
        if not concurrent:
            for chat in chats:
                if time.monotonic() > deadline:
                    break
                await send(chat)
        else:
            slots = asyncio.Semaphore(args.concurrency)

            async def bounded(chat: int) -> None:
                async with slots:
                    if time.monotonic() <= deadline:
                        await send(chat)

            await asyncio.gather(*(bounded(chat) for chat in chats))
    return {"sent": sent, "errors": dict(errors), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast.plain_loop")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--first", type=int, required=True, help="first chat id")
    parser.add_argument("--chats", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop starting sends after")
    parser.add_argument("--payload", required=True, help="JSON file: text and reply_markup")
    parser.add_argument("--mode", choices=("sequential", "gather"), default="sequential")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args(argv)
    payload = json.loads(Path(args.payload).read_text())
    print(json.dumps(asyncio.run(broadcast(args, payload))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
