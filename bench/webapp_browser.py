"""Mini App search as you type, in a real browser: debounce fired → results on screen.

Stores the BBC corpus (``../shared/data/bbc_news.jsonl``, 2,225 articles) the way
``bench.webapp`` stores its corpus, serves Herald's real HTTP application on 127.0.0.1, opens
the app in headless Debian ``chromium`` (Playwright, Telegram's script stubbed as in the
browser tests) and types queries drawn from the BBC text into the search box. The app itself
records, for every search, the time from the debounce firing to the results being in the page
(``window.__herald.searches``); this reports their distribution.

    .venv/bin/python -m bench.webapp_browser [--queries 60]

Target: results on screen within 300 ms of the debounce.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.common import DATA, OUT, data_file, machine, median, percentile
from bench.scale import make_queries
from bench.webapp import TOKEN, fill
from bot.config import Settings
from bot.context import Services
from bot.web.auth import sign_user
from bot.web.context import WebContext
from bot.web.server import make_app
from storage.db import Database
from tests.browser import browser_missing, chromium, open_app

TARGET_MS = 300.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    reason = browser_missing()
    if reason:
        raise SystemExit(f"bench: {reason}")
    path = args.out / "webapp-bbc.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    db = await Database.open(path)
    filled = await fill(db, data_file("bbc_news.jsonl", args.data))
    settings = Settings(_env_file=None, bot_token=TOKEN, database=path, http_port=0)
    runner = web.AppRunner(make_app(WebContext(Services(settings=settings, db=db), TOKEN, None)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/app/"
    queries = [
        q.strip('"')
        for qs in make_queries(
            random.Random(args.seed), args.data, args.queries // 9 + 1, 1
        ).values()
        for q in qs
        if not q.isdigit()
    ][: args.queries]
    timings: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="herald-bench-") as profile:
            async with chromium(Path(profile)) as context:
                page = await open_app(context, url, init_data=sign_user(TOKEN, 1001))
                await page.page.click("#tab-search")
                for text in queries:
                    before = await page.page.evaluate("window.__herald.searches.length")
                    await page.page.fill("#search-input", text)
                    await page.page.wait_for_function(
                        "n => window.__herald.searches.length > n", arg=before, timeout=30_000
                    )
                timings = await page.page.evaluate("window.__herald.searches")
                errors = page.errors
    finally:
        await runner.cleanup()
        await db.close()
    ms = [t["ms"] for t in timings]
    return {
        "articles": filled["added"],
        "machine": machine(),
        "searches": len(ms),
        "with_results": sum(1 for t in timings if t["results"]),
        "median_ms": median(ms),
        "p95_ms": percentile(ms, 95),
        "max_ms": max(ms),
        "console_errors": errors,
        "slowest": sorted(timings, key=lambda t: t["ms"], reverse=True)[:5],
    }


def report(r: dict[str, Any]) -> str:
    met = "met" if r["p95_ms"] <= TARGET_MS else "MISSED"
    return (
        f"Mini App search as you type, BBC corpus ({r['articles']:,} articles), "
        f"{r['machine']['cpus']} CPUs\n"
        f"{r['searches']} searches ({r['with_results']} with results): debounce → on screen "
        f"p50 {r['median_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms "
        f"(target p95 ≤ {TARGET_MS:.0f} ms: {met}); console errors: {len(r['console_errors'])}\n"
        "slowest: " + ", ".join(f"{t['query']!r} {t['ms']:.0f} ms" for t in r["slowest"])
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
