"""/search latency on SQLite and on PostgreSQL, same corpus, same queries, same run.

Builds (or reuses) the synthetic corpus of ``bench.corpus`` and a SQLite database of it filled
like ``bench.scale --fill`` (articles, topics and the search index; no related stories, which
/search does not read), copies that database to a fresh PostgreSQL database with the real
``python -m bot copy`` code, then times the query classes of ``bench.scale`` through
``start_search`` on both, one backend after the other, after a warm-up pass on each.

    .venv/bin/python -m bench.search_backends --articles 100000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/test

The PostgreSQL database ``herald_bench_<articles>`` is created on that server, and dropped at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import corpus
from bench.common import DATA, OUT, machine
from bench.scale import PhaseTimer, fill_without_related, make_queries, time_searches
from bot.services.search import start_search
from storage.copy import copy_database
from storage.db import Database
from storage.postgres import database_url


async def _sqlite(args: argparse.Namespace, source: Path) -> Path:
    path = args.out / f"scale-{args.articles}-seed{args.seed}-fill.db"
    marker = path.with_suffix(".imported.json")
    if marker.is_file() and path.is_file():
        return path
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    db = await Database.open(path)
    try:
        print(f"filling {path.name} from {source.name}", flush=True)
        marker.write_text(json.dumps(await fill_without_related(db, source, 0)))
    finally:
        await db.close()
    return path


async def _time(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    warm = make_queries(random.Random(args.seed + 1), args.data, 5, args.articles)
    for texts in warm.values():
        for text in texts:
            await start_search(db, 1, text, 5)
    queries = make_queries(random.Random(args.seed), args.data, args.queries, args.articles)
    return await time_searches(db, queries, PhaseTimer())


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    source = corpus.build(args.articles, args.seed, args.out, args.data)
    sqlite_path = await _sqlite(args, source)
    name = f"herald_bench_{args.articles}"
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(args.postgres, name)
    result: dict[str, Any] = {"articles": args.articles, "machine": machine()}
    sqlite = await Database.open(sqlite_path)
    pg = await Database.open(url)
    try:
        started = time.perf_counter()
        report = await copy_database(sqlite, pg)
        result["copy_s"] = time.perf_counter() - started
        result["copied"] = {t: n for t, n in report.copied.items() if n}
        await pg.execute("VACUUM ANALYZE")
        print(f"copied in {result['copy_s']:.0f} s; timing SQLite …", flush=True)
        result["sqlite"] = await _time(sqlite, args)
        print("timing PostgreSQL …", flush=True)
        result["postgresql"] = await _time(pg, args)
        result["pg_version"] = await pg.scalar("SHOW server_version")
    finally:
        await sqlite.close()
        await pg.close()
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return result


def report(r: dict[str, Any]) -> str:
    s, p = r["sqlite"], r["postgresql"]
    lines = [
        f"/search at {r['articles']:,} articles, SQLite vs PostgreSQL {r['pg_version']}"
        f" (copy {r['copy_s']:.0f} s)",
        "| class | SQLite p50 / p95 ms | PostgreSQL p50 / p95 ms |",
        "|---|---|---|",
    ]
    for name, stats in s["by_class"].items():
        other = p["by_class"][name]
        lines.append(
            f"| {name} | {stats['p50']:.1f} / {stats['p95']:.1f} |"
            f" {other['p50']:.1f} / {other['p95']:.1f} |"
        )
    lines.append(
        f"| **all** (n={s['all']['n']}) | {s['all']['p50']:.1f} / **{s['all']['p95']:.1f}** |"
        f" {p['all']['p50']:.1f} / **{p['all']['p95']:.1f}** |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=40, help="queries per class")
    parser.add_argument("--postgres", required=True, help="a server URL (its database is unused)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(benchmark(args))
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))


if __name__ == "__main__":
    main()
