"""``python -m bench.feeds``: poll 1,000 local feeds × 50 items, then poll them again.

    .venv/bin/python -m bench.feeds                         # 1,000 × 50, concurrency 20
    .venv/bin/python -m bench.feeds --feeds 100 --concurrency 50

1. Builds (or reuses) the synthetic corpus (``bench.corpus``: real BBC + HuffPost text) and
   starts ``bench.feeds.server`` as a separate process serving the feeds on 127.0.0.1.
2. A fresh database gets the feeds and 100 subscriber chats (topics, keywords, one "all"),
   so a poll also fans out to the outbox as in production (no delivery worker runs).
3. Full poll: every feed fetched, parsed and ingested (``push=True``). Targets: ≤ 60 s and
   peak RSS (VmHWM of this process, from /proc) ≤ 300 MB.
4. Re-poll with nothing new: conditional GET, every feed answers 304. Target ≤ 10 s.
5. Re-poll after the server drops its validators: full bodies, unchanged (body hash).

Writes ``bench/out/feeds-<feeds>x<items>-c<concurrency>-b<batch>-p<parsers>.json``; exit
status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

from bench.common import DATA, OUT, REPO, machine
from bench.corpus import build
from bot.services.feed_fetch import FeedPolicy
from bot.services.feeds import FeedPoller, PollReport
from bot.services.http_fetch import AddressGuard
from storage.db import Database
from storage.feeds import add_feed

TARGET_FULL = 60.0
TARGET_REPOLL = 10.0
TARGET_RSS_MB = 300.0
CATEGORIES = ("politics", "business", "sport", "tech", "entertainment", "world news", "travel")
KEYWORDS = ("election", "climate", "inflation", "football", "vaccine", "museum", "strike")


def proc_status_mb(field: str = "VmHWM") -> float:
    """A memory figure of this process from /proc/self/status (VmHWM: peak RSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sqlite_memory_mb() -> float:
    """What SQLite's allocator holds now (page caches, statements), in MB; NaN if unknown."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return float("nan")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return library.sqlite3_memory_used() / 2**20


def children_hwm_mb(exclude: int) -> float:
    """Peak RSS of this process's children but ``exclude`` (the feed parser worker), in MB."""
    peak = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            if int(fields[1]) == os.getpid() and pid != exclude:
                for line in (stat.parent / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            continue
    return peak


def memory() -> dict[str, float]:
    return {
        "vm_hwm": proc_status_mb("VmHWM"),
        "rss_anon": proc_status_mb("RssAnon"),
        "rss_file": proc_status_mb("RssFile"),
        "sqlite": sqlite_memory_mb(),
    }


def start_server(corpus: Path, feeds: int, items: int) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.feeds.server", "--corpus", str(corpus),
         "--feeds", str(feeds), "--items", str(items)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("PORT "):
        process.kill()
        sys.exit(f"bench.feeds: the feed server did not start ({line!r})")
    return process, int(line.split()[1])


async def seed(db: Database, port: int, feeds: int) -> None:
    """The feeds (half with a topic) and 100 subscriber chats."""
    now = int(time.time())
    rng = random.Random(7)
    for i in range(feeds):
        topic = CATEGORIES[i % len(CATEGORIES)] if i % 2 else None
        await add_feed(db, f"http://127.0.0.1:{port}/feed/{i}.xml", topic, None, now)
    # Polled before: a first poll is a feed's archive and pushes nothing (``feed_caps``), and
    # this benchmark measures a poll that fans out, as it always has.
    await db.execute("UPDATE feeds SET last_success_at = 0")
    await db.executemany(
        "INSERT INTO topics (name) VALUES (?) ON CONFLICT DO NOTHING", [(c,) for c in CATEGORIES]
    )
    for chat in range(1, 101):
        await db.execute(
            "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            (chat,),
        )
        if chat == 1:
            kind, topic, pattern = "all", None, None
        elif chat <= 10:
            kind, topic, pattern = "keyword", None, f" {rng.choice(KEYWORDS)} "
        else:
            name = rng.choice(CATEGORIES)
            topic = await db.scalar("SELECT id FROM topics WHERE name = ?", (name,))
            kind, pattern = "topic", None
        await db.execute(
            "INSERT INTO subscriptions (chat_id, kind, topic_id, phrase, pattern, created_at)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            (chat, kind, topic, pattern and pattern.strip(), pattern),
        )


async def timed_poll(poller: FeedPoller, label: str) -> tuple[PollReport, float]:
    report = await poller.poll_once(force=True)
    peak = proc_status_mb("VmHWM")
    print(
        f"{label:<28} {report.seconds:7.1f} s  fetched {report.fetched:5}  304/same "
        f"{report.not_modified:5}  failed {report.failed:3}  added {report.added:6}  "
        f"merged {report.merged:5}  seen {report.seen:6}  writer {report.write_seconds:5.1f} s"
        f" (ingest {report.ingest_seconds:5.1f} s)"
        f"  VmHWM {peak:6.0f} MB",
        flush=True,
    )
    return report, peak


async def run(args: argparse.Namespace) -> dict:
    corpus = build(args.feeds * (args.items - 1), seed=7, out=OUT, data_dir=args.data)
    workdir = OUT / "feeds-bench"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)  # Database.open does not create folders
    server, port = start_server(corpus, args.feeds, args.items)
    db = await Database.open(workdir / "herald.db")
    try:
        await seed(db, port, args.feeds)
        policy = FeedPolicy(
            concurrency=args.concurrency,
            timeout=30.0,
            batch_items=args.batch,
            parse_processes=args.parse_processes,
            max_pushes=args.items,  # every new item pushed, as before the feed caps
            guard=AddressGuard(allow_private=True),  # the feeds are served on 127.0.0.1
        )
        print(f"polling {args.feeds} feeds × {args.items} items, concurrency {args.concurrency}")
        if args.sqlite_cache_mib is not None:  # both connections: the writer and the reader
            await db.execute(f"PRAGMA cache_size = -{args.sqlite_cache_mib * 1024:d}")
            await db.fetchall(f"PRAGMA cache_size = -{args.sqlite_cache_mib * 1024:d}")
        before = proc_status_mb("VmHWM")
        async with FeedPoller(db, policy) as poller:
            full, full_peak = await timed_poll(poller, "full poll")
            after_full = memory() | {"parser_process_hwm": children_hwm_mb(server.pid)}
            repoll, _ = await timed_poll(poller, "re-poll (conditional GET)")
            urllib.request.urlopen(  # noqa: ASYNC210 - one tiny local call between measurements
                urllib.request.Request(f"http://127.0.0.1:{port}/validators/off", method="POST")
            ).close()
            same, peak = await timed_poll(poller, "re-poll (no validators)")
        counts = {
            table: await db.scalar(f"SELECT count(*) FROM {table}")
            for table in ("articles", "feed_items", "outbox")
        }
    finally:
        await db.close()
        server.stdin.close()
        server.wait(timeout=30)
    return {
        "machine": machine(),
        "feeds": args.feeds,
        "items": args.items,
        "concurrency": args.concurrency,
        "batch_items": args.batch,
        "parse_processes": args.parse_processes,
        "vm_hwm_before_mb": before,
        "vm_hwm_full_mb": full_peak,
        "vm_hwm_end_mb": peak,
        "memory_after_full_mb": after_full,
        "sqlite_cache_mib": args.sqlite_cache_mib,
        "load_average": os.getloadavg(),
        "full": asdict(full),
        "repoll": asdict(repoll),
        "repoll_no_validators": asdict(same),
        "counts": counts,
    }


def verdicts(result: dict) -> list[tuple[str, str, str, bool]]:
    full, repoll = result["full"], result["repoll"]
    return [
        ("full poll", f"{full['seconds']:.1f} s", f"≤ {TARGET_FULL:.0f} s",
         full["seconds"] <= TARGET_FULL),
        ("peak RSS (VmHWM)", f"{result['vm_hwm_end_mb']:.0f} MB", f"≤ {TARGET_RSS_MB:.0f} MB",
         result["vm_hwm_end_mb"] <= TARGET_RSS_MB),
        ("re-poll, nothing new", f"{repoll['seconds']:.1f} s", f"≤ {TARGET_REPOLL:.0f} s",
         repoll["seconds"] <= TARGET_REPOLL),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds", description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=FeedPolicy().concurrency)
    parser.add_argument("--batch", type=int, default=FeedPolicy().batch_items)
    parser.add_argument(
        "--parse-processes", type=int, default=FeedPolicy().parse_processes, help="0: a thread"
    )
    parser.add_argument(
        "--sqlite-cache-mib",
        type=int,
        default=None,
        help="override storage/db.py's page cache size (per connection) for this run",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    cache = "" if args.sqlite_cache_mib is None else f"-cache{args.sqlite_cache_mib}"
    name = f"feeds-{args.feeds}x{args.items}-c{args.concurrency}-b{args.batch}"
    out = OUT / f"{name}-p{args.parse_processes}{cache}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\ncounts: {result['counts']}   written: {out}")
    mem = result["memory_after_full_mb"]
    print(
        f"after the full poll: RSS anon {mem['rss_anon']:.0f} MB, file-backed (mmap) "
        f"{mem['rss_file']:.0f} MB; SQLite holds {mem['sqlite']:.0f} MB; "
        f"the parser process peaked at {mem['parser_process_hwm']:.0f} MB; "
        f"load average {', '.join(f'{x:.2f}' for x in result['load_average'])}"
    )
    missed = False
    for name, value, target, ok in verdicts(result):
        print(f"{name:<24} {value:>10}  {target:>10}  {'ok' if ok else 'MISS'}")
        missed |= not ok
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
