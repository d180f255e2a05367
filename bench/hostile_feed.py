"""``python -m bench.hostile_feed``: one followed feed turns hostile (issue 13, finding 1).

    .venv/bin/python -m bench.hostile_feed                  # 100,000 undated items, 10 chats
    .venv/bin/python -m bench.hostile_feed --items 20000

1. A fresh database follows one feed on 127.0.0.1 and has 10 chats subscribed to everything.
2. First poll: the feed is well behaved (10 dated items).
3. The feed turns hostile: ``--items`` undated items (about 42 bytes each: 4.2 MB for 100,000,
   under the default 5 MB cap). The poll of that document is measured: its wall time, the
   peak RSS of this process (VmHWM, which the hostile poll dominates) and of the feed parser
   process, the articles stored and the outbox rows (pushes) it queued.

The feed is served from this process (aiohttp on 127.0.0.1) and the policy is Herald's
defaults, with the fetch guard letting 127.0.0.1 through. Writes
``bench/out/hostile-feed-<items>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

from aiohttp import web

from bench.common import OUT, machine
from bot.services.feed_fetch import FeedPolicy
from bot.services.feeds import FeedPoller
from storage.db import Database
from storage.feeds import add_feed


def proc_mb(pid: int | str = "self", field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_hwm_mb() -> float:
    """The highest peak RSS among this process's live children (the feed parser), in MB."""
    peak = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                peak = max(peak, proc_mb(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return peak


def good_feed(now: int) -> bytes:
    items = "".join(
        f"<item><title>Harbour council news number {n} today</title><guid>good-{n}</guid>"
        f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(now - 60))}</pubDate>"
        "</item>"
        for n in range(10)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}'.encode()


def hostile_feed(items: int) -> bytes:
    """``items`` undated items, each with a distinct title and nothing else (~42 bytes)."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    body = b"".join(b"<item><title>Spam %07d x</title></item>" % n for n in range(items))
    return head + body + b"</channel></rss>"


async def serve(documents: dict[str, bytes]) -> tuple[web.AppRunner, int]:
    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=documents["now"], content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


def local_policy() -> FeedPolicy:
    """Herald's defaults; the guard (where this version has one) lets 127.0.0.1 through."""
    policy = FeedPolicy()
    if "guard" in {f.name for f in dataclasses.fields(FeedPolicy)}:
        from bot.services.http_fetch import AddressGuard

        policy = dataclasses.replace(policy, guard=AddressGuard(allow_private=True))
    return policy


async def run(items: int) -> dict:
    workdir = OUT / "hostile-feed"
    shutil.rmtree(workdir, ignore_errors=True)
    now = int(time.time())
    documents = {"now": good_feed(now)}
    runner, port = await serve(documents)
    db = await Database.open(workdir / "herald.db")
    try:
        await add_feed(db, f"http://127.0.0.1:{port}/feed.xml", None, None, now)
        for chat in range(1, 11):
            await db.execute(
                "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
                (chat,),
            )
            await db.execute(
                "INSERT INTO subscriptions (chat_id, kind, created_at) VALUES (?, 'all', 0)",
                (chat,),
            )
        async with FeedPoller(db, local_policy()) as poller:
            first = await poller.poll_once(now, force=True)
            outbox_first = await db.scalar("SELECT count(*) FROM outbox")
            documents["now"] = hostile_feed(items)
            before = proc_mb()
            started = time.perf_counter()
            report = await poller.poll_once(now + 900, force=True)
            seconds = time.perf_counter() - started
            peak, parser_peak = proc_mb(), children_hwm_mb()
        counts = {t: await db.scalar(f"SELECT count(*) FROM {t}") for t in ("articles", "outbox")}
    finally:
        await db.close()
        await runner.cleanup()
    return {
        "machine": machine(),
        "items": items,
        "document_bytes": len(documents["now"]),
        "first_poll_added": first.added,
        "outbox_after_first_poll": outbox_first,
        "hostile_poll_seconds": seconds,
        "vm_hwm_before_mb": before,
        "vm_hwm_after_mb": peak,
        "parser_process_hwm_mb": parser_peak,
        "hostile_poll_added": report.added,
        "counts": counts,
        "pushes_queued_by_hostile_poll": counts["outbox"] - outbox_first,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_feed", description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.items))
    out = OUT / f"hostile-feed-{args.items}.json"
    out.write_text(json.dumps(result, indent=2))
    print(
        f"hostile poll of {result['items']:,} undated items ({result['document_bytes']:,} bytes):"
        f" {result['hostile_poll_seconds']:.1f} s, peak RSS {result['vm_hwm_after_mb']:.0f} MB"
        f" (before it {result['vm_hwm_before_mb']:.0f} MB), parser process"
        f" {result['parser_process_hwm_mb']:.0f} MB;"
        f" articles added {result['hostile_poll_added']:,},"
        f" pushes queued {result['pushes_queued_by_hostile_poll']:,}; written {out}"
    )


if __name__ == "__main__":
    main()
