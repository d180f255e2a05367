"""PostgreSQL at 1M (issue 9): /search latency, fan-out to 1M subscriptions, webhook intake rate.

Three figures on one PostgreSQL database of the benchmark's own (``herald_bench_<articles>``
on the server given by ``--postgres``):

1. **/search** at ``--articles`` articles: the query classes of ``bench.scale`` through
   ``start_search`` (window choice, saved search, ranking, snippets), the whole path a reader's
   /search takes, as ``bench.search_backends`` does at 100k, after the search's tables are
   read into the OS page cache (``pg_prewarm``) and a warm-up pass. Target: p95 ≤ 50 ms.
2. **Fan-out** of one article to ``--subscribers`` chats that each ``subscribe everything``:
   the publish (``fan_out`` + commit: the first chunk queued, the rest kept as an audience),
   timed ``--rounds`` times with a fresh article each round and an empty, checkpointed outbox
   before each (target: ≤ 2 s at 1M); then the expansion of the audience to the end, chunk by
   chunk as the delivery worker does it (rows/s; the slowest chunk must beat 1,000/s).
3. **Intake** by one instance: a real ``WebServer`` (bot/web) on a free port, fed real update
   JSON by ``--concurrency`` keep-alive HTTP clients for ``--intake-seconds``; each POST is
   answered 200 only after its intake row is committed, so 200s per second is the committed
   rate. Target: ≥ 2,000/s.

Filling 1M articles through ``python -m bot copy`` runs at ~350 articles/s (docs/benchmarks.md),
so the database is filled with ``COPY`` instead: the corpus of ``bench.corpus`` read and
normalised by the importer's own ``read_articles``, streamed into ``articles`` and
``article_topics``; the search vectors come from the schema's own trigger function
(``herald_article_vector``), and the GIN index is built once at the end. Chats and
subscriptions are COPYed too. The result is the schema Herald migrates to, with the rows the
import would write (no related stories, which neither /search nor fan-out reads).

    nice -n 10 .venv/bin/python -m bench.pg_scale --articles 1000000 \\
        --postgres postgresql://postgres@127.0.0.1:5432/test [--keep] [--reuse]

``--reuse`` keeps an already filled database of that name (``--keep`` leaves it after the
run); ``--only fill|search|fanout|intake`` (repeatable) runs those parts. Progress goes to
stderr, the result (a report, or ``--json``) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import corpus
from bench.broadcast.harness import expand_timed
from bench.common import DATA, OUT, machine, median, percentile
from bench.scale import PhaseTimer, make_queries, time_searches
from bot.config import Settings
from bot.context import Services
from bot.services.fanout import fan_out
from bot.services.importer import ImportSummary, read_articles
from bot.services.search import start_search
from bot.web.server import WebServer
from storage import outbox
from storage.db import Database
from storage.postgres import database_url

TARGETS = {"search_p95_ms": 50.0, "fanout_s": 2.0, "intake_per_s": 2000.0,
           "expansion_per_s": 1000.0}  # expansion: faster than sends at the paid limit
CHUNK = 50_000  # articles per COPY transaction while filling
TOKEN = "123456:bench-token-not-real"


def _admin(server: str) -> psycopg.Connection[Any]:
    return psycopg.connect(server, autocommit=True)


async def _count(url: str, sql: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(sql)
        row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0


async def fill_articles(url: str, source: Path, articles: int) -> dict[str, Any]:
    """COPY the corpus into ``articles``/``article_topics``, vectors by the schema's trigger."""
    started = time.perf_counter()
    summary = ImportSummary()
    now = int(time.time())
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # Built once at the end: a million GIN insertions one row at a time is much slower.
        await conn.execute("DROP INDEX IF EXISTS article_search_vector")
        topic_ids: dict[str, int] = {}
        rows = read_articles(source, summary, now)
        stored = 0
        done = False
        while not done:
            batch_topics: list[tuple[int, str, int]] = []  # (ordinal, topic, published_at)
            async with conn.transaction():
                async with conn.cursor().copy(
                    "COPY articles (external_id, title, summary, body, url, authors, source,"
                    " image_url, published_at, updated_at, content_hash) FROM STDIN"
                ) as copy:
                    n = 0
                    for _number, a in rows:
                        await copy.write_row((
                            a.external_id, a.title, a.summary, a.body, a.url,
                            json.dumps(list(a.authors), ensure_ascii=False), a.source,
                            a.image_url, a.published_at, a.published_at, a.content_hash,
                        ))
                        batch_topics.extend((stored + n, t, a.published_at) for t in a.topics)
                        n += 1
                        if n >= CHUNK:
                            break
                    else:
                        done = True
                new = {t.casefold(): t for _, t, _ in batch_topics}.keys() - topic_ids.keys()
                for key in new:
                    name = next(t for _, t, _ in batch_topics if t.casefold() == key)
                    cur = await conn.execute(
                        "INSERT INTO topics (name) VALUES (%s) ON CONFLICT (name) DO UPDATE"
                        " SET name = excluded.name RETURNING id", (name,))
                    row = await cur.fetchone()
                    assert row is not None
                    topic_ids[key] = int(row[0])
                # A fresh table numbers COPYed rows 1, 2, 3 … in order (checked below).
                async with conn.cursor().copy(
                    "COPY article_topics (topic_id, published_at, article_id) FROM STDIN"
                ) as copy:
                    for ordinal, topic, published in batch_topics:
                        await copy.write_row((topic_ids[topic.casefold()], published, ordinal + 1))
            stored += n
            if not n:
                break
            rate = stored / (time.perf_counter() - started)
            print(f"  fill {stored:>9,}/{articles:,} {rate:6.0f} articles/s",
                  flush=True, file=sys.stderr)
        cur = await conn.execute("SELECT count(*), min(id), max(id) FROM articles")
        count, low, high = await cur.fetchone()  # type: ignore[misc]
        assert (count, low, high) == (stored, 1, stored), (count, low, high, stored)
        copied = time.perf_counter() - started
        print("  building the GIN index …", flush=True, file=sys.stderr)
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(
            "CREATE INDEX article_search_vector ON article_search USING gin (vector)")
        indexed = time.perf_counter() - started
        await conn.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    return {"articles": stored, "rejected": summary.rejected, "copy_s": copied,
            "gin_s": indexed - copied, "total_s": seconds}


async def fill_subscribers(url: str, subscribers: int) -> dict[str, Any]:
    """``subscribers`` private chats, each with one ``all`` subscription (``subscribe
    everything``), COPYed; ids far from real Telegram ids."""
    started = time.perf_counter()
    now = int(time.time())
    base = 10**12
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        async with conn.transaction():
            async with conn.cursor().copy(
                "COPY chats (id, kind, created_at, updated_at) FROM STDIN") as copy:
                for i in range(subscribers):
                    await copy.write_row((base + i, "private", now, now))
            async with conn.cursor().copy(
                "COPY subscriptions (chat_id, kind, created_at) FROM STDIN") as copy:
                for i in range(subscribers):
                    await copy.write_row((base + i, "all", now))
        await conn.execute("VACUUM ANALYZE chats")
        await conn.execute("VACUUM ANALYZE subscriptions")
    return {"subscribers": subscribers, "seconds": time.perf_counter() - started}


def _name(args: argparse.Namespace) -> str:
    return str(args.db or f"herald_bench_{args.articles}")


async def bench_search(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The query classes of ``bench.scale`` through ``start_search``, after a warm-up pass."""
    db = await Database.open(url)
    try:
        # The search's tables and indexes into the OS page cache (a running newsroom's are):
        # right after a fill, or with other jobs on the machine, a rare word's scattered rows
        # would otherwise be read from disk.
        await db.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        await db.execute(
            "SELECT pg_prewarm(oid, 'read') FROM pg_class WHERE relname IN"
            " ('article_search', 'article_search_pkey', 'article_search_vector', 'articles',"
            "  'articles_pkey')"
            " OR oid IN (SELECT reltoastrelid FROM pg_class WHERE relname = 'article_search')"
            " OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN"
            "  (SELECT reltoastrelid FROM pg_class WHERE relname = 'article_search'))")
        warm = make_queries(random.Random(args.seed + 1), args.data, 5, args.articles)
        for texts in warm.values():
            for text in texts:
                await start_search(db, 1, text, 5)
        queries = make_queries(random.Random(args.seed), args.data, args.queries, args.articles)
        found = await time_searches(db, queries, PhaseTimer())
        await db.execute("DELETE FROM searches")
    finally:
        await db.close()
    return found


async def bench_fanout(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The publish of one article to every ``all`` subscriber, ``--rounds`` times, and the
    expansion of its audience chunk by chunk (``--expand-rounds`` of those rounds).

    The publish is ``fan_out`` and its commit, as ingest runs it: the first chunk
    (``storage.outbox.FANOUT_CHUNK`` chats) queued, the rest kept as an audience. The expansion
    is what the delivery worker does next: ``storage.outbox.expand`` chunk by chunk (each a
    transaction) until every subscriber has its row, timed chunk by chunk, so the slowest chunk
    shows whether queuing keeps ahead of sending at 1,000 messages a second. Each round takes
    another article and starts from an empty, checkpointed outbox (TRUNCATE), the state a
    newsroom is in when the previous broadcast has been delivered and cleaned up.
    """
    db = await Database.open(url)
    times: list[float] = []
    expansions: list[dict[str, Any]] = []
    counted: dict[str, float] = {}
    try:
        subscribers = int(await db.scalar("SELECT count(*) FROM subscriptions"))
        newest = int(await db.scalar("SELECT max(id) FROM articles"))
        for r in range(args.rounds):
            await db.execute("TRUNCATE outbox")
            await db.execute("DELETE FROM fanout_audience")
            await db.execute("CHECKPOINT")  # each round starts without the last one's dirty pages
            row = await db.fetchone(
                "SELECT title, summary FROM articles WHERE id = ?", (newest - r,))
            started = time.perf_counter()
            async with db.transaction():  # as ingest runs it
                queued = await fan_out(db, [(newest - r, row[0], row[1])], int(time.time()))
            seconds = time.perf_counter() - started
            assert queued == min(outbox.FANOUT_CHUNK, subscribers), (queued, subscribers)
            times.append(seconds)
            print(f"  publish {r + 1}/{args.rounds}: {queued:,} rows queued in {seconds:.3f} s",
                  flush=True, file=sys.stderr)
            if r == 0:  # what an editor's figures cost while the audience is unexpanded
                t0 = time.perf_counter()
                pending = (await outbox.article_deliveries(db, newest - r)).pending
                counted["article_deliveries_s"] = time.perf_counter() - t0
                assert pending == subscribers, (pending, subscribers)
                t0 = time.perf_counter()
                await outbox.count_by_status(db)
                counted["count_by_status_s"] = time.perf_counter() - t0
                print(f"  /stats ID still to send: {pending:,} counted in"
                      f" {counted['article_deliveries_s']:.3f} s", flush=True, file=sys.stderr)
            if r < args.expand_rounds:
                expansions.append(await _expand_all(db, queued, subscribers))
        await db.execute("TRUNCATE outbox")
    finally:
        await db.close()
    return {"subscribers": subscribers, "chunk": outbox.FANOUT_CHUNK, "rounds_s": times,
            "median_s": median(times), "max_s": max(times), "expansions": expansions,
            "counting": counted}


async def _expand_all(db: Database, queued: int, subscribers: int) -> dict[str, Any]:
    """Expand the audience left by a publish to the end, chunk by chunk; rates in rows/s."""

    def progress(rows: int, chunks: list[float], elapsed: float) -> None:
        if len(chunks) % 40 == 0:
            print(f"    expanded {queued + rows:,} rows, {(queued + rows) / elapsed:,.0f}"
                  f" rows/s so far, last chunk {chunks[-1]:.3f} s", flush=True, file=sys.stderr)

    rows, chunks, seconds = await expand_timed(db, progress)
    queued += rows
    assert queued == subscribers, (queued, subscribers)
    ordered = sorted(chunks)
    chunk = outbox.FANOUT_CHUNK
    found = {"rows": queued, "chunks": len(chunks), "seconds": seconds,
             "rows_per_s": (queued - chunk) / seconds, "chunk_median_s": median(chunks),
             "chunk_p95_s": percentile(ordered, 95), "chunk_max_s": ordered[-1],
             "slowest_chunk_rows_per_s": chunk / ordered[-1]}
    print(f"  expansion: {queued:,} rows in {seconds:.1f} s ({found['rows_per_s']:,.0f} rows/s);"
          f" chunk median {found['chunk_median_s']:.3f} s, max {found['chunk_max_s']:.3f} s",
          flush=True, file=sys.stderr)
    return found


SECRET = "bench-secret"
HOOK = "/telegram/webhook"


def _update(update_id: int, rng: random.Random) -> bytes:
    """A private-chat message update as Telegram sends it (about 400 bytes)."""
    user = 100_000_000 + rng.randrange(1000)
    text = rng.choice(("/latest", "/search election results", "/subscribe football",
                       "/digest", "what happened in the budget debate?"))
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000 + 1,
            "from": {"id": user, "is_bot": False, "first_name": "Reader", "last_name": "Bench",
                     "username": f"reader{user}", "language_code": "en"},
            "chat": {"id": user, "first_name": "Reader", "last_name": "Bench",
                     "username": f"reader{user}", "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    if text.startswith("/"):
        cut = text.find(" ")
        update["message"]["entities"] = [
            {"offset": 0, "length": cut if cut > 0 else len(text), "type": "bot_command"}]
    return json.dumps(update).encode()


async def _post_loop(port: int, first: int, step: int, stop_at: float, seed: int,
                     latencies: list[float], statuses: dict[int, int]) -> None:
    """One keep-alive HTTP/1.1 connection POSTing updates ``first``, ``first + step`` … until
    ``stop_at``; a raw client so the load generator costs little CPU beside the server."""
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    update_id = first
    try:
        while time.perf_counter() < stop_at:
            body = _update(update_id, rng)
            update_id += step
            head = (f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n").encode()
            started = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def _client(port: int, concurrency: int, seconds: float, out: Any) -> None:
    """The load generator, in its own process: ``concurrency`` connections for ``seconds``."""

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        await asyncio.gather(*(
            _post_loop(port, 1 + i, concurrency, started + seconds, i, latencies, statuses)
            for i in range(concurrency)))
        elapsed = time.perf_counter() - started
        ms = [1000 * x for x in latencies]
        return {"posts": len(latencies), "seconds": elapsed, "statuses": statuses,
                "p50_ms": median(ms), "p95_ms": percentile(ms, 95),
                "p99_ms": percentile(ms, 99)}

    out.put(asyncio.run(run()))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench_intake(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """POSTs of real update JSON to a running ``WebServer`` with the webhook route.

    The server runs in this process (the bot's event loop, as ``bot.app`` runs it, with
    Herald's own connection pool); the client runs in a child process. No intake worker
    claims rows meanwhile: this is the rate at which one instance takes and commits updates.
    """
    db = await Database.open(url)
    await db.execute("TRUNCATE intake")
    settings = Settings(_env_file=None, bot_token=TOKEN, database=url, http_port=0,
                        webhook_url=f"https://bench.example.org{HOOK}",
                        webhook_secret=SECRET)
    server = WebServer(Services(settings=settings, db=db), TOKEN, None)
    await server.start()
    runs: list[dict[str, Any]] = []
    try:
        context = multiprocessing.get_context("spawn")
        for r in range(args.intake_rounds):
            await db.execute("TRUNCATE intake")
            out = context.Queue()
            child = context.Process(
                target=_client, args=(server.port, args.concurrency, args.intake_seconds, out))
            cpu_before = _cpu_seconds(os.getpid())
            child.start()
            found = await asyncio.get_running_loop().run_in_executor(None, out.get)
            child.join()
            found["server_cpu_s"] = _cpu_seconds(os.getpid()) - cpu_before
            found["committed"] = int(await db.scalar("SELECT count(*) FROM intake"))
            found["ok"] = found["statuses"].get(200, 0)
            found["committed_per_s"] = found["ok"] / found["seconds"]
            print(f"  intake {r + 1}/{args.intake_rounds}: {found['committed_per_s']:,.0f}/s"
                  f" committed, p95 {found['p95_ms']:.1f} ms, statuses {found['statuses']}",
                  flush=True, file=sys.stderr)
            runs.append(found)
        await db.execute("TRUNCATE intake")
    finally:
        await server.stop()
        await db.close()
    rates = [r["committed_per_s"] for r in runs]
    return {"concurrency": args.concurrency, "runs": runs, "median_per_s": median(rates)}


def report(r: dict[str, Any]) -> str:
    lines = [f"PostgreSQL {r['pg_version']} at {r['articles']:,} articles;"
             f" load average before {r['load_before'][0]:.1f}, after {r['load_after'][0]:.1f}"]
    if "search" in r:
        s = r["search"]
        lines += ["", "| /search class | p50 ms | p95 ms |", "|---|---|---|"]
        for name, stats in s["by_class"].items():
            lines.append(f"| {name} | {stats['p50']:.1f} | {stats['p95']:.1f} |")
        ok = s["all"]["p95"] <= TARGETS["search_p95_ms"]
        lines.append(f"| **all** (n={s['all']['n']}) | {s['all']['p50']:.1f} |"
                     f" **{s['all']['p95']:.1f}** ({'met' if ok else 'MISSED'}) |")
        lines.append("slowest: " + "; ".join(
            f"{x['class']} {x['query']!r} {x['ms']:.0f} ms" for x in s["slowest"][:5]))
    if "fanout" in r:
        f = r["fanout"]
        ok = f["median_s"] <= TARGETS["fanout_s"]
        lines.append(f"\npublish (fan_out + commit) to {f['subscribers']:,}: median"
                     f" {f['median_s']:.3f} s, max {f['max_s']:.3f} s"
                     f" ({'met' if ok else 'MISSED'}); rounds"
                     f" {', '.join(f'{x:.3f}' for x in f['rounds_s'])}")
        if f.get("counting"):
            c = f["counting"]
            lines.append(f"counting the chats not queued yet (/stats ID, the publish message):"
                         f" {c['article_deliveries_s']:.3f} s; /readyz's count_by_status"
                         f" {c['count_by_status_s']:.3f} s")
        for e in f["expansions"]:
            ok = e["slowest_chunk_rows_per_s"] >= TARGETS["expansion_per_s"]
            lines.append(f"expansion of the rest, chunks of {f['chunk']:,}: {e['rows']:,} rows"
                         f" in {e['seconds']:.1f} s = {e['rows_per_s']:,.0f} rows/s; chunk"
                         f" median {e['chunk_median_s']:.3f} s, p95 {e['chunk_p95_s']:.3f} s,"
                         f" max {e['chunk_max_s']:.3f} s (slowest chunk"
                         f" {e['slowest_chunk_rows_per_s']:,.0f} rows/s,"
                         f" {'met' if ok else 'MISSED'} against 1,000/s)")
    if "intake" in r:
        i = r["intake"]
        ok = i["median_per_s"] >= TARGETS["intake_per_s"]
        lines.append(f"\nintake, {i['concurrency']} connections: median"
                     f" {i['median_per_s']:,.0f} committed/s ({'met' if ok else 'MISSED'});"
                     + "; ".join(f" {x['committed_per_s']:,.0f}/s p50 {x['p50_ms']:.1f} ms"
                                 f" p95 {x['p95_ms']:.1f} ms server CPU"
                                 f" {x['server_cpu_s'] / x['seconds']:.0%}" for x in i["runs"]))
    return "\n".join(lines)


async def prepare(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The URL of a filled database: reused (``--reuse``) when complete, else made afresh."""
    name = _name(args)
    url = database_url(args.postgres, name)
    if args.reuse:
        try:
            articles = await _count(url, "SELECT count(*) FROM articles")
            subscribers = await _count(url, "SELECT count(*) FROM subscriptions")
            indexed = await _count(
                url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'article_search_vector'")
        except psycopg.OperationalError:
            articles = subscribers = indexed = -1
        if (articles, subscribers, indexed) == (args.articles, args.subscribers, 1):
            return url, {"reused": name}
    source = corpus.build(args.articles, args.seed, args.out, args.data)
    with _admin(args.postgres) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    db = await Database.open(url)  # Herald's own migrations
    await db.close()
    print(f"filling {name} from {source.name}", flush=True, file=sys.stderr)
    fill = await fill_articles(url, source, args.articles)
    fill["subscribers"] = await fill_subscribers(url, args.subscribers)
    return url, fill


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    parts = set(args.only or ("search", "fanout", "intake"))
    result: dict[str, Any] = {"articles": args.articles, "machine": machine(),
                              "load_before": os.getloadavg()}
    url, result["fill"] = await prepare(args)
    result["pg_version"] = await _count(url, "SHOW server_version_num")
    try:
        if "search" in parts:
            result["search"] = await bench_search(url, args)
        if "fanout" in parts:
            result["fanout"] = await bench_fanout(url, args)
        if "intake" in parts:
            result["intake"] = await bench_intake(url, args)
    finally:
        result["load_after"] = os.getloadavg()
        if not args.keep:
            with _admin(args.postgres) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{_name(args)}" WITH (FORCE)')
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", required=True, help="a server URL (its database is unused)")
    parser.add_argument("--db", help="database name (default herald_bench_<articles>)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    parser.add_argument("--reuse", action="store_true", help="keep an already filled database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--only", choices=("fill", "search", "fanout", "intake"),
                        action="append")
    parser.add_argument("--queries", type=int, default=40, help="queries per class")
    parser.add_argument("--rounds", type=int, default=5, help="fan-out rounds")
    parser.add_argument("--expand-rounds", type=int, default=1,
                        help="fan-out rounds whose audience is then expanded to the end")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--intake-seconds", type=float, default=15.0)
    parser.add_argument("--intake-rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(benchmark(args))
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))


if __name__ == "__main__":
    main()
