"""Delivery with several instances: 3 ``python -m bot`` processes on one PostgreSQL database,
the fake Bot API enforcing paid broadcasts' 1000 messages a second (issue 9's target: ≥ 900/s).

Only the leader broadcasts, and every send is also taken from the flood budget the instances
share in PostgreSQL, so this measures what that costs the broadcast lane.

    .venv/bin/python -m bench.fleet [--chats 30000] [--instances 3] [--rate 1000]

Needs a PostgreSQL server (``HERALD_BENCH_POSTGRES``, default the CI machine's
``postgresql://postgres@127.0.0.1:5432/test``); it creates a database for the run and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.common import bot_commit, machine
from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.fake_limits import FloodLimits
from bot.services.ingest import ArticleInput, ingest, normalise
from storage.db import Database
from storage.postgres import database_url
from tests.factories import no_gc_pauses
from tests.fleet import Fleet

SERVER = os.environ.get("HERALD_BENCH_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stalls(times: list[float]) -> dict[str, float]:
    """Gaps of more than 50 ms between two sends: how many, and the time they took."""
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a > 0.05]
    return {"count": len(gaps), "seconds": round(sum(gaps), 2)}


def _steady(times: list[float]) -> float:
    """The median of the sends in each 100 ms, as a rate: what the lane keeps up between
    stalls (on a shared machine, a neighbour's burst stalls it; this figure discounts that)."""
    if len(times) < 2:
        return float("nan")
    start = times[0]
    bins = [0] * (int((times[-1] - start) * 10) + 1)
    for moment in times:
        bins[int((moment - start) * 10)] += 1
    return 10.0 * statistics.median(bins[1:-1] or bins)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__)
    parser.add_argument("--chats", type=int, default=30_000)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000, help="Telegram's limit, messages/s")
    return parser.parse_args()


async def _seed(url: str, chats: int) -> None:
    """``chats`` private chats subscribed to everything, written in one COPY each."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        async with conn.cursor().copy(
            "COPY chats (id, kind, title, created_at, updated_at) FROM STDIN"
        ) as copy:
            for chat_id in range(1, chats + 1):
                await copy.write_row((chat_id, "private", "", 0, 0))
        async with conn.cursor().copy(
            "COPY subscriptions (chat_id, kind, created_at) FROM STDIN"
        ) as copy:
            for chat_id in range(1, chats + 1):
                await copy.write_row((chat_id, "all", 0))


async def run(args: argparse.Namespace) -> dict:
    name = f"herald_bench_fleet_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(SERVER, name)
    try:
        db = await Database.open(url)  # migrations
        await db.close()
        await _seed(url, args.chats)
        limits = FloodLimits(global_per_second=args.rate)
        times: list[float] = []
        async with FakeBotAPI(limits=limits, record_calls=False) as api:
            api.on_call.append(
                lambda call: times.append(call.time) if call.method == "sendMessage" else None
            )
            settings = {
                "message_rate": str(args.rate),
                "broadcast_rate": str(args.rate),
                "send_concurrency": "100",
                "log_level": "WARNING",
            }
            with tempfile.TemporaryDirectory() as folder:
                async with Fleet(api, url, Path(folder), settings) as fleet:
                    for index in range(args.instances):
                        await fleet.start(index)
                    await fleet.leader()
                    db = await Database.open(url)
                    item = ArticleInput(title="Fleet benchmark headline", body="Body.")
                    pids = {i: inst.process.pid for i, inst in fleet.instances.items()}
                    cpu_before = {i: _cpu_seconds(pid) for i, pid in pids.items()}
                    own_before = time.process_time()
                    started = time.monotonic()
                    await ingest(db, [normalise(item, 1)], push=True)
                    queued = time.monotonic() - started
                    await db.close()
                    all_sent = asyncio.Event()
                    api.on_call.append(
                        lambda call: all_sent.set() if api.stats.sent >= args.chats else None
                    )
                    budget = args.chats / args.rate * 5 + 60
                    # The fake keeps every message it accepted: its full collections stalled
                    # the lane ~0.3 s every 10 s, the benchmark's fault, not Herald's.
                    with no_gc_pauses(), contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(all_sent.wait(), budget)
                    wall = time.monotonic() - started
                    cpu_used = {i: _cpu_seconds(pid) - cpu_before[i] for i, pid in pids.items()}
                    cpu = {i: round(100 * used / wall) for i, used in cpu_used.items()}
                    own = round(100 * (time.process_time() - own_before) / wall)
        delivered = api.stats.sent
        span = times[-1] - times[0] if len(times) > 1 else float("nan")
        return {
            "commit": bot_commit(),
            "machine": machine(),
            "loadavg": os.getloadavg(),
            "instances": args.instances,
            "chats": args.chats,
            "limit": args.rate,
            "delivered": delivered,
            "seconds_first_to_last": round(span, 2),
            "rate": round((len(times) - 1) / span, 1) if span == span else None,
            "steady_rate_median_100ms": _steady(times),
            "rejected_429": api.stats.rejected_429,
            "max_in_1s": api.stats.max_in_window(1.0),
            "fan_out_seconds": round(queued, 2),
            "stalls_over_50ms": _stalls(times),
            "cpu_percent_of_a_core": {"instances": cpu, "fake_and_bench": own},
            "leader_cpu_ms_per_send": round(1000 * max(cpu_used.values()) / max(delivered, 1), 3),
            "target": "≥ 900/s",
        }
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    result = asyncio.run(run(parse_args()))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
