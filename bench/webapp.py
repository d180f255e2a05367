"""Mini App API benchmark: /api/search and /api/latest latency at 100k articles, server side.

It builds (or reuses) the synthetic corpus of ``bench.corpus``, stores it into a database in
``bench/out/`` through ``read_articles`` + ``insert_articles`` (articles, topics and the FTS
index exactly as the import writes them; the related-story index, which neither endpoint
reads, is skipped to keep the run short), starts Herald's real HTTP application
(``bot.web.server.make_app``) on 127.0.0.1 and sends signed requests one at a time over a
keep-alive connection, as one reader's app does. Server time is measured by a middleware
around the handler (initData check, service call, JSON); the client's wall time per request,
loopback HTTP included, is shown next to it.

    .venv/bin/python -m bench.webapp --articles 100000 [--reuse] [--json]

Targets (at 100k articles): /api/search p95 ≤ 50 ms, /api/latest p95 ≤ 20 ms, server side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bench import corpus
from bench.common import DATA, OUT, machine, median, percentile
from bench.scale import make_queries
from bot.config import Settings
from bot.context import Services
from bot.services import reading, search
from bot.services.importer import BATCH, ImportSummary, read_articles
from bot.web import api
from bot.web.auth import sign_user
from bot.web.context import WebContext
from bot.web.server import make_app
from storage.articles import insert_articles
from storage.db import Database

TARGETS = {"search_p95_ms": 50.0, "latest_p95_ms": 20.0}
TOKEN = "123456:BENCH-TOKEN"


async def fill(db: Database, path: Path) -> dict[str, Any]:
    """Store the corpus without the related-story index (see the module docstring)."""
    summary, now, batch, started = ImportSummary(), int(time.time()), [], time.perf_counter()
    for _number, new in read_articles(path, summary, now):
        batch.append(new)
        if len(batch) >= BATCH:
            async with db.transaction():
                await insert_articles(db, batch)
            batch.clear()
    if batch:
        async with db.transaction():
            await insert_articles(db, batch)
    added = int(await db.scalar("SELECT count(*) FROM articles"))
    return {"added": added, "seconds": time.perf_counter() - started}


async def open_database(args: argparse.Namespace) -> tuple[Database, Path, dict[str, Any]]:
    source = corpus.build(args.articles, args.seed, args.out, args.data)
    path = args.out / f"webapp-{args.articles}-seed{args.seed}.db"
    marker = path.with_suffix(".filled.json")
    if args.reuse and path.is_file() and marker.is_file():
        return await Database.open(path), path, {**json.loads(marker.read_text()), "reused": True}
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), marker):
        stale.unlink(missing_ok=True)
    db = await Database.open(path)
    print(f"storing {source.name} into {path} …", flush=True)
    filled = await fill(db, source)
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    marker.write_text(json.dumps(filled))
    return db, path, filled


def server_timer(samples: dict[str, list[float]]) -> Any:
    @web.middleware
    async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        route = request.path.split("/")[2]
        samples.setdefault(route, []).append(1000 * (time.perf_counter() - started))
        return response

    return timed


def latest_paths(rng: random.Random, topics: list[int], count: int) -> list[str]:
    """What a reader's front page asks for: mostly page 0, some scrolling, some topics."""
    paths = []
    for _ in range(count):
        page = rng.choice((0, 0, 0, 1, 2, 5))
        topic = rng.choice([0, 0] + topics)
        paths.append(f"latest?page={page}" + (f"&topic={topic}" if topic else ""))
    return paths


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db, path, filled = await open_database(args)
    settings = Settings(_env_file=None, bot_token=TOKEN, database=path, http_port=0)
    samples: dict[str, list[float]] = {}
    app = make_app(WebContext(Services(settings=settings, db=db), TOKEN, "HeraldBenchBot"))
    app.middlewares.append(server_timer(samples))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    headers = {"Authorization": "tma " + sign_user(TOKEN, 1001)}
    rng = random.Random(args.seed)
    queries = [
        q for qs in make_queries(rng, args.data, args.queries, args.articles).values() for q in qs
    ]
    rng.shuffle(queries)
    topics = [int(t) for (t,) in await db.fetchall("SELECT id FROM topics")]
    client: dict[str, list[float]] = {"search": [], "latest": []}
    services_ms: dict[str, list[float]] = {}
    try:
        async with aiohttp.ClientSession(headers=headers) as session:

            async def get(kind: str, path_query: str, keep: bool = True) -> None:
                started = time.perf_counter()
                async with session.get(base + path_query) as response:
                    await response.read()
                    assert response.status == 200, (path_query, response.status)
                if keep:
                    client[kind].append(1000 * (time.perf_counter() - started))

            async def direct(kind: str, call: Any) -> None:
                started = time.perf_counter()
                await call
                services_ms.setdefault(kind, []).append(1000 * (time.perf_counter() - started))

            warm = make_queries(random.Random(args.seed + 1), args.data, 3, args.articles)
            for text in [q for qs in warm.values() for q in qs]:
                await get("search", "search?q=" + quote(text), keep=False)
            for p in latest_paths(random.Random(args.seed + 1), topics, 50):
                await get("latest", p, keep=False)
            samples.clear()
            print(f"timing {len(queries)} searches and {args.latest} front pages …", flush=True)
            for text in queries:  # the app's request, then the services alone, interleaved
                await get("search", "search?q=" + quote(text))
                await direct("find", search.find(db, text, 0, api.PAGE_SIZE))
                await direct("start_search (chat)", search.start_search(db, 1, text, 5))
            for p in latest_paths(rng, topics, args.latest):
                await get("latest", p)
                page, _, topic = p.removeprefix("latest?page=").partition("&topic=")
                await direct(
                    "latest_page",
                    reading.latest_page(db, int(topic or 0) or None, int(page), api.PAGE_SIZE),
                )
    finally:
        await runner.cleanup()
        await db.close()
    return {
        "articles": filled["added"],
        "machine": machine(),
        "fill": filled,
        "server_ms": {k: summary(v) for k, v in samples.items()},
        "client_ms": {k: summary(v) for k, v in client.items()},
        "services_ms": {k: summary(v) for k, v in services_ms.items()},
    }


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "median": median(ms),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def report(r: dict[str, Any]) -> str:
    lines = [
        f"Mini App API at {r['articles']:,} articles "
        f"({r['machine']['cpus']} CPUs, {r['machine']['cpu_model']}, "
        f"SQLite {r['machine']['sqlite']})",
        "endpoint   side     n   median    p95    p99    max   target",
    ]
    for kind, target in (("search", "search_p95_ms"), ("latest", "latest_p95_ms")):
        for side in ("server", "client"):
            s = r[f"{side}_ms"][kind]
            goal = f"p95 ≤ {TARGETS[target]:.0f} ms" if side == "server" else ""
            met = ("met" if s["p95"] <= TARGETS[target] else "MISSED") if side == "server" else ""
            lines.append(
                f"/api/{kind:<7}{side:<7}{s['n']:>4} {s['median']:7.1f} {s['p95']:6.1f} "
                f"{s['p99']:6.1f} {s['max']:6.1f}   {goal} {met}"
            )
    lines.append("same run, the services called directly (no HTTP, no initData, no JSON):")
    for kind, s in r["services_ms"].items():
        lines.append(
            f"  {kind:<22}{s['n']:>4} {s['median']:7.1f} {s['p95']:6.1f} {s['p99']:6.1f} "
            f"{s['max']:6.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30, help="searches per query class")
    parser.add_argument("--latest", type=int, default=300, help="front-page requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--reuse", action="store_true", help="reuse the stored database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
