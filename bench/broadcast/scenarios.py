"""The six broadcast scenarios. Each returns a ``Result``; sizes shrink with ``quick``.

Every broadcast scenario: seed N private subscribers, start the fake (in this process), start
``python -m bot`` (a subprocess), publish one article through ``ingest(push=True)`` on a second
connection, then watch the fake: arrival times of accepted sends give the rate, the fake's
``SendStats`` gives 429s and the densest 1-second window. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.broadcast import fanout_data, profiling
from bench.broadcast.harness import (
    READER_BASE,
    DeliveryLog,
    HeraldProcess,
    LoopLag,
    Sampler,
    expand_timed,
    headline,
    outbox_statuses,
    publish,
    register_private,
    remove_database,
    seed_private_subscribers,
)
from bench.broadcast.results import Result
from bench.common import REPO, median, percentile
from bot.rendering import push
from bot.sandbox.fake_api import ApiCall, FakeBotAPI, FloodLimits
from bot.services import fanout, pacing
from bot.services.ingest import ingest, normalise
from bot.services.reading import open_article
from storage import outbox
from storage.db import Database
from tests.factories import no_gc_pauses

LATENCY = 0.05  # seconds the fake takes to answer each call (Telegram's is ~30-100 ms)
TELEGRAM = FloodLimits(global_per_second=30, private_per_second=1, group_per_minute=20)
PAID = FloodLimits(global_per_second=1000, private_per_second=1, group_per_minute=20)


@dataclass
class Context:
    """Where a scenario keeps its files, and how big it runs."""

    workdir: Path  # temporary: databases
    logs: Path  # bench/out/broadcast-logs: bot logs and profiles, kept for reading
    quick: bool
    profile: bool  # always profile limit1000 (otherwise only when it misses its target)


@dataclass
class Run:
    """What one Herald broadcast run measured."""

    chats: int
    delivered: int
    seconds: float  # first to last accepted delivery
    rate: float
    rejected_429: int
    max_1s: int
    duplicates: int
    failures: dict[int, int]
    bot_cpu: float
    fake_cpu: float
    bot_cpu_wait: float  # % of the window the bot was runnable but had no core
    fake_cpu_wait: float
    loadavg: tuple[str, str]  # /proc/loadavg at publish and at the end
    rss_before_kb: int
    peak_hwm_kb: int
    publish_seconds: float
    queued: int
    exit_code: int
    statuses: dict[str, int]
    log_429: int
    log_errors: int
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return dict(self.__dict__)


During = Callable[[FakeBotAPI, HeraldProcess, DeliveryLog], Awaitable[dict[str, Any]]]


async def herald_broadcast(
    ctx: Context,
    name: str,
    *,
    chats: int,
    rate: float,
    limits: FloodLimits,
    budget: float,
    concurrency: int = 100,
    patch: str = "",
    before_publish: During | None = None,
    during: During | None = None,
    profile_seconds: float = 0.0,
) -> Run:
    """One Herald broadcast to ``chats`` private subscribers, watched from the fake.

    Without ``during`` it waits for every delivery (or ``budget`` seconds); with it, ``during``
    runs alongside the broadcast and the bot is stopped when it returns.
    """
    database = ctx.workdir / f"{name}.db"
    remove_database(database)
    await seed_private_subscribers(database, 1, chats)
    async with FakeBotAPI(latency=LATENCY, limits=limits, record_calls=False) as api:
        register_private(api, range(1, chats + 1))
        log = DeliveryLog()
        api.on_call.append(log)
        herald = await HeraldProcess.start(
            api,
            database,
            ctx.logs / f"{name}.log",
            rate=rate,
            concurrency=concurrency,
            patch=patch,
        )
        sampler = Sampler(herald.pid)
        sampler.start()
        lag = LoopLag()
        lag.start()
        extra: dict[str, Any] = {}
        exit_code = -1
        with no_gc_pauses():
            try:
                if before_publish is not None:
                    extra.update(await before_publish(api, herald, log))
                await asyncio.sleep(1.0)  # let start-up settle before the "before" memory sample
                before = sampler.take()
                load_start = loadavg()
                _, publish_seconds, queued = await publish(database, headline(name))
                deadline = time.monotonic() + budget
                profiler = None
                if profile_seconds > 0:
                    profiler = asyncio.create_task(
                        _profile_when_busy(herald, log, profile_seconds, ctx.logs / f"{name}.pyspy")
                    )
                if during is not None:
                    extra.update(await asyncio.wait_for(during(api, herald, log), budget))
                else:
                    finished = await log.wait_for(queued, deadline)
                    extra["finished"] = finished
                    await asyncio.sleep(1.5)  # late duplicates or retries would show up here
                if profiler is not None:
                    extra["profile"] = await profiler
            finally:
                await lag.stop()
                await sampler.stop()
                exit_code = await herald.stop()
        times = log.times
        first, last = (times[0], times[-1]) if times else (0.0, 0.0)
        bot_cpu, fake_cpu = sampler.cpu_percent(first, last)
        bot_wait, fake_wait = sampler.waited_percent(first, last)
        run = Run(
            chats=chats,
            delivered=log.delivered,
            seconds=last - first,
            rate=log.rate(),
            rejected_429=api.stats.rejected_429,
            max_1s=api.stats.max_in_window(1.0),
            duplicates=sum(1 for n in api.delivery_counts().values() if n > 1),
            failures=dict(log.failures),
            bot_cpu=bot_cpu,
            fake_cpu=fake_cpu,
            bot_cpu_wait=bot_wait,
            fake_cpu_wait=fake_wait,
            loadavg=(load_start, loadavg()),
            rss_before_kb=before.rss_kb if before else 0,
            peak_hwm_kb=sampler.peak_hwm_kb,
            publish_seconds=publish_seconds,
            queued=queued,
            exit_code=exit_code,
            statuses=await outbox_statuses(database),
            log_429=herald.log_count("bot.services.delivery", "429"),
            log_errors=herald.log_count(" ERROR "),
            extra={
                **extra,
                "stalls": log.stalls(rate),
                "fake_loop": {
                    "stalls_over_20ms": len(lag.stalls),
                    "stalls_over_50ms": sum(1 for _, late in lag.stalls if late >= 0.05),
                    "worst_ms": round(1000 * max((x for _, x in lag.stalls), default=0.0), 1),
                    "429s_after_a_50ms_fake_stall": lag.explains(log.rejected_at, 0.05),
                },
            },
        )
    remove_database(database)
    return run


async def _profile_when_busy(
    herald: HeraldProcess, log: DeliveryLog, seconds: float, out: Path
) -> dict[str, Any]:
    """py-spy the bot for ``seconds`` once the broadcast is 2 s into its steady state."""
    await log.wait_for(1, time.monotonic() + 30)
    await asyncio.sleep(2.0)
    found = await profiling.record(herald.pid, seconds, out)
    if found is None:
        return {"error": "no profile: py-spy missing (pip install py-spy) or failed"}
    return {
        "samples": found.samples,
        "file": str(found.path.relative_to(REPO)) if found.path.is_relative_to(REPO) else "",
        "top_self": found.top_self,
        "top_inclusive": found.top_inclusive,
    }


def loadavg() -> str:
    """The 1-minute load average and runnable/total tasks: how busy the shared machine was."""
    try:
        fields = Path("/proc/loadavg").read_text().split()
    except OSError:
        return "?"
    return f"{fields[0]} ({fields[3]})"


def _stall_note(run: Run) -> str:
    st, fl = run.extra["stalls"], run.extra["fake_loop"]
    return (
        f"pacing: median gap {st['median_gap_ms']:.2f} ms (slot {st['slot_ms']:.2f} ms); "
        f"{st['long_gaps']} gaps over 2 slots lost {st['lost_seconds']:.2f} s of "
        f"{run.seconds:.1f} s; longest {st['longest_ms']} ms; bot CPU {run.bot_cpu:.0f}%, "
        f"waiting for a core {run.bot_cpu_wait:.0f}% of the time (fake: {run.fake_cpu:.0f}% / "
        f"{run.fake_cpu_wait:.0f}%); load average {run.loadavg[0]} → {run.loadavg[1]}; "
        f"fake's own loop: {fl['stalls_over_50ms']} stalls ≥ 50 ms (worst {fl['worst_ms']} ms), "
        f"{fl['429s_after_a_50ms_fake_stall']} of {run.rejected_429} 429s within 1.1 s after one"
    )


def _common_checks(result: Result, run: Run) -> None:
    result.check(
        "all delivered", run.delivered, "", f"= {run.queued:,}", run.delivered >= run.queued
    )
    result.check("duplicates", run.duplicates, "", "0", run.duplicates == 0)
    result.check("bot exit code after SIGTERM", run.exit_code, "", "0", run.exit_code == 0)


# --------------------------------------------------------------------------- 1. limit30


async def limit30(ctx: Context) -> Result:
    """10,000 private chats at HERALD_BROADCAST_RATE=30 against a fake enforcing 30/s."""
    chats = 600 if ctx.quick else 10_000
    run = await herald_broadcast(
        ctx, "limit30", chats=chats, rate=30, limits=TELEGRAM, budget=chats / 30 * 2 + 60
    )
    result = Result("limit30", metrics=run.metrics())
    result.check("delivery rate", run.rate, "/s", "≥ 29.1 /s", run.rate >= 0.97 * 30)
    result.check("429 responses", run.rejected_429, "", "0", run.rejected_429 == 0)
    result.check("max sends in any 1 s", run.max_1s, "", "≤ 30", run.max_1s <= 30)
    _common_checks(result, run)
    result.check("bot CPU", run.bot_cpu, "%", "info")
    result.notes.append(
        f"{run.delivered:,} of {chats:,} delivered in {run.seconds:.1f} s (first to last); "
        f"bot logged {run.log_429} 429 pauses; outbox after stop: {run.statuses}"
    )
    result.notes.append(_stall_note(run))
    # Up to commit 3608458 GlobalPacer's window guard let the last int(rate) sends span no less
    # than 1 s + MARGIN, and MARGIN (0.05 s) is the per-chat slack: 30 sends per 1.05 s caps
    # the lane at 28.57/s, under the 29.1 target whatever else happens. The candidate fix, a
    # 10 ms window margin, is measured by setting the constant in the bot process (Herald's
    # files are not touched). Later code has its own WINDOW_MARGIN: nothing to compare then.
    if hasattr(pacing, "WINDOW_MARGIN"):
        result.notes.append(
            f"pacer has WINDOW_MARGIN = {pacing.WINDOW_MARGIN} s: cap min(30 / "
            f"{1 + pacing.WINDOW_MARGIN:g} s, 30 / {1 + pacing.RATE_MARGIN:g}) = "
            f"{min(30 / (1 + pacing.WINDOW_MARGIN), 30 / (1 + pacing.RATE_MARGIN)):.2f}/s"
        )
        return result
    fixed = await herald_broadcast(
        ctx,
        "limit30-window10ms",
        chats=chats // 2,
        rate=30,
        limits=TELEGRAM,
        budget=chats / 2 / 30 * 2 + 60,
        patch=WINDOW_MARGIN_10MS,
    )
    result.metrics["window_margin_10ms"] = fixed.metrics()
    result.check("window margin 10 ms: rate", fixed.rate, "/s", "info")
    result.check("window margin 10 ms: 429 responses", fixed.rejected_429, "", "info")
    result.check("window margin 10 ms: max sends in 1 s", fixed.max_1s, "", "info")
    result.notes.append(
        f"pacer cap with the shipped MARGIN: 30 / 1.05 s = {30 / 1.05:.2f}/s; with 10 ms: "
        f"min(30 / 1.01 s, 30 / 1.015) = {min(30 / 1.01, 30 / 1.015):.2f}/s"
    )
    result.notes.append(f"window margin 10 ms, {fixed.delivered:,} chats: " + _stall_note(fixed))
    return result


# The proposed fix, applied in the bot process only: the window guard in GlobalPacer.reserve
# reads pacing.MARGIN; per-chat pacing (also MARGIN) keeps 50 ms via a separate value.
WINDOW_MARGIN_10MS = """
import bot.services.pacing as pacing
_reserve = pacing.GlobalPacer.reserve
def reserve(self, now):
    pacing.MARGIN = 0.01
    try:
        return _reserve(self, now)
    finally:
        pacing.MARGIN = 0.05
pacing.GlobalPacer.reserve = reserve
"""


# --------------------------------------------------------------------------- 2. plain_loop


async def _payload(ctx: Context) -> Path:
    """Herald's own push message for the headline, so both sides send the same bytes."""
    database = ctx.workdir / "payload.db"
    remove_database(database)
    db = await Database.open(database)
    try:
        now = int(time.time())
        added = (await ingest(db, [normalise(headline("plain_loop"), now)], now)).added
        view = await open_article(db, added[0])
        assert view is not None
        message = push.push(view)
    finally:
        await db.close()
    path = ctx.workdir / "payload.json"
    markup = message.keyboard.to_dict() if message.keyboard else None
    path.write_text(json.dumps({"text": message.text, "reply_markup": markup}))
    return path


async def _plain(ctx: Context, mode: str, chats: int, seconds: float) -> dict[str, Any]:
    payload = await _payload(ctx)
    async with FakeBotAPI(latency=LATENCY, limits=TELEGRAM, record_calls=False) as api:
        register_private(api, range(1, chats + 1))
        log = DeliveryLog()
        api.on_call.append(log)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.broadcast.plain_loop",
            "--base-url",
            api.base_url,
            "--token",
            api.token,
            "--first",
            "1",
            "--chats",
            str(chats),
            "--seconds",
            str(seconds),
            "--payload",
            str(payload),
            "--mode",
            mode,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            out, err = await asyncio.wait_for(proc.communicate(), seconds + 120)
        finally:
            await sampler.stop()
        times = log.times
        cpu, _ = sampler.cpu_percent(times[0], times[-1]) if len(times) > 1 else (0.0, 0.0)
        report = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
        return {
            "mode": mode,
            "delivered": log.delivered,
            "seconds": times[-1] - times[0] if len(times) > 1 else 0.0,
            "rate": log.rate(),
            "rejected_429": api.stats.rejected_429,
            "max_1s": api.stats.max_in_window(1.0),
            "cpu": cpu,
            "client": report,
            "exit_code": proc.returncode,
            "stderr_tail": err.decode(errors="replace")[-500:],
        }


async def plain_loop(ctx: Context) -> Result:
    """PTB's ``AIORateLimiter`` baseline: a sequential loop, then the same sends gathered."""
    chats, seconds = (200, 15.0) if ctx.quick else (1_000, 60.0)
    sequential = await _plain(ctx, "sequential", chats, seconds)
    gathered = await _plain(ctx, "gather", chats * 2, seconds)
    result = Result("plain_loop", metrics={"sequential": sequential, "gather": gathered})
    for label, run in (("sequential", sequential), ("gather, 100 in flight", gathered)):
        result.check(f"PTB {label}: rate", run["rate"], "/s", "info")
        result.check(f"PTB {label}: 429 responses", run["rejected_429"], "", "info")
        result.check(f"PTB {label}: max sends in 1 s", run["max_1s"], "", "info")
        result.notes.append(
            f"PTB {label}: {run['delivered']:,} sent in {run['seconds']:.1f} s, client "
            f"errors {run['client'].get('errors')}, exit {run['exit_code']}, "
            f"CPU {run['cpu']:.0f}%"
        )
    return result


# --------------------------------------------------------------------------- 3. limit1000


async def limit1000(ctx: Context) -> Result:
    """Paid broadcasts: one Herald process at 1000/s (fake: 1000/s global, 1/s per chat)."""
    chats = 3_000 if ctx.quick else 30_000
    run = await herald_broadcast(
        ctx, "limit1000", chats=chats, rate=1000, limits=PAID, budget=chats / 1000 * 4 + 60
    )
    result = Result("limit1000", metrics=run.metrics())
    result.check("delivery rate", run.rate, "/s", "≥ 900 /s", run.rate >= 900)
    result.check("429 responses", run.rejected_429, "", "0", run.rejected_429 == 0)
    result.check("max sends in any 1 s", run.max_1s, "", "≤ 1000", run.max_1s <= 1000)
    _common_checks(result, run)
    result.check("bot CPU (one core = 100%)", run.bot_cpu, "%", "info")
    result.check("fake + bench CPU", run.fake_cpu, "%", "info")
    result.notes.append(
        f"{run.delivered:,} of {chats:,} delivered in {run.seconds:.1f} s; bot CPU "
        f"{run.bot_cpu:.0f}%, fake Bot API process {run.fake_cpu:.0f}% of one core"
    )
    result.notes.append(_stall_note(run))
    cost = await settle_cost(ctx)
    result.metrics["settle_cost"] = cost
    result.check("outcome write, one UPDATE each", cost["per_row_us"], "µs", "info")
    result.check("outcome write, batched executemany", cost["batched_us"], "µs", "info")
    result.notes.append(
        f"recording outcomes: {cost['rows']:,} mark_sent calls one by one (autocommit, as the "
        f"worker does) took {cost['per_row_s']:.2f} s = {cost['per_row_us']:.0f} µs each, i.e. "
        f"{cost['per_row_us'] / 10:.0f}% of one core for the DB at 1000/s; the same rows in one "
        f"executemany transaction {cost['batched_s']:.3f} s = {cost['batched_us']:.0f} µs each"
    )
    if ctx.profile or run.rate < 900:
        profiled = await herald_broadcast(
            ctx,
            "limit1000-profiled",
            chats=chats,
            rate=1000,
            limits=PAID,
            budget=chats / 1000 * 4 + 90,
            profile_seconds=min(10.0, chats / 1000 / 3),
        )
        profile = profiled.extra.get("profile", {})
        result.metrics["profiled_run"] = {
            "rate": profiled.rate,
            "bot_cpu": profiled.bot_cpu,
            "profile": profile,
        }
        for frame, share in profile.get("top_self", [])[:8]:
            result.notes.append(f"py-spy self {share:4.1f}%  {frame}")
        for frame, share in profile.get("top_inclusive", [])[:25]:
            result.notes.append(f"py-spy incl {share:4.1f}%  {frame}")
    return result


async def settle_cost(ctx: Context, rows: int = 3_000) -> dict[str, float]:
    """What recording each delivery costs: ``outbox.mark_sent`` per row vs one batch.

    The worker writes every outcome as its own autocommit UPDATE through the one writer
    connection (and its asyncio lock); at 1000/s that is 1000 transactions a second, and a
    claim queues behind them. Timed in this process on a fresh outbox of ``rows`` rows.
    """
    database = ctx.workdir / "settle.db"
    remove_database(database)
    await seed_private_subscribers(database, 1, rows)
    _, _, queued = await publish(database, headline("settle"))
    db = await Database.open(database)
    try:
        ids = [int(r[0]) for r in await db.fetchall("SELECT id FROM outbox ORDER BY id")]
        half = len(ids) // 2
        now = int(time.time())
        started = time.perf_counter()
        for row in ids[:half]:
            await outbox.mark_sent(db, row, 1, now)
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        async with db.transaction():
            await db.executemany(
                "UPDATE outbox SET status = 'sent', message_id = ?, attempts = attempts + 1,"
                " error = NULL, updated_at = ? WHERE id = ?",
                [(1, now, row) for row in ids[half:]],
            )
        batched = time.perf_counter() - started
    finally:
        await db.close()
    remove_database(database)
    count = len(ids) - half
    return {
        "rows": half,
        "per_row_s": one_by_one,
        "per_row_us": 1e6 * one_by_one / max(1, half),
        "batched_s": batched,
        "batched_us": 1e6 * batched / max(1, count),
        "queued": queued,
    }


# --------------------------------------------------------------------------- 4. fanout1m


FANOUT_SQL_SELECT = """
    SELECT count(*) FROM (
        SELECT s.chat_id
        FROM subscriptions s JOIN chats c ON c.id = s.chat_id
        WHERE c.paused = 0 AND (
            s.kind = 'all'
            OR (s.kind = 'topic' AND s.topic_id IN (
                    SELECT topic_id FROM article_topics WHERE article_id = :article))
            OR (s.kind = 'keyword' AND instr(:haystack, s.pattern) > 0))
        GROUP BY s.chat_id)
"""


# The same set of chats, read through the partial indexes one kind at a time: only the topic
# rows of the article's topics are visited instead of every subscription. Timed as a candidate
# fix; the counts must agree with FANOUT_SQL_SELECT.
FANOUT_SQL_UNION = """
    SELECT count(*) FROM (
        SELECT chat_id FROM subscriptions WHERE kind = 'all'
        UNION
        SELECT chat_id FROM subscriptions WHERE kind = 'topic' AND topic_id IN (
            SELECT topic_id FROM article_topics WHERE article_id = :article)
        UNION
        SELECT chat_id FROM subscriptions
        WHERE kind = 'keyword' AND instr(:haystack, pattern) > 0
    ) m JOIN chats c ON c.id = m.chat_id WHERE c.paused = 0
"""


async def _expand_all(db: Database, queued: int) -> dict[str, float]:
    """Expand the audience a publish left and clear it; rows in all, rows/s and the slowest
    chunk."""
    rows, chunks, seconds = await expand_timed(db)
    queued += rows
    return {"rows": queued, "seconds": seconds, "chunks": len(chunks),
            "rows_per_s": (queued - outbox.FANOUT_CHUNK) / max(seconds, 1e-9),
            "chunk_max_s": max(chunks, default=0.0)}  # fmt: skip


async def fanout1m(ctx: Context) -> Result:
    """Time the fan-out of one article over 1,000,000 subscriptions (3 runs, median)."""
    subscriptions = 100_000 if ctx.quick else fanout_data.SUBSCRIPTIONS
    database = ctx.workdir / "fanout1m.db"
    remove_database(database)
    built = await fanout_data.build(database, subscriptions)
    db = await Database.open(database)
    ingests: list[float] = []
    bare: list[float] = []
    selects: list[float] = []
    unions: list[float] = []
    matched: list[tuple[int, int]] = []
    rows: list[int] = []
    plan: list[str] = []
    expansion: dict[str, float] = {}
    try:
        for attempt in range(3):
            await _fresh_outbox(db)
            item = headline("fanout1m")  # a new body each take: not a duplicate of the last
            item = replace(item, body=f"{item.body} Take {attempt}.", url=f"{item.url}/{attempt}")
            now = int(time.time())
            started = time.perf_counter()
            added = (await ingest(db, [normalise(item, now)], now, push=True)).added
            ingests.append(time.perf_counter() - started)
            rows.append(int(await db.scalar("SELECT count(*) FROM outbox")))
            if not expansion:  # the rest of the audience, as the delivery worker queues it
                expansion = await _expand_all(db, rows[-1])
            article = normalise(item, now)
            triple = (added[0], article.title, article.summary)
            await _fresh_outbox(db)
            started = time.perf_counter()
            async with db.transaction():
                await fanout.fan_out(db, [triple], now)
            bare.append(time.perf_counter() - started)
            haystack = fanout.word_pattern(f"{article.title}\n{article.summary}")
            params = {"article": added[0], "haystack": haystack}
            started = time.perf_counter()
            plain = int(await db.scalar(FANOUT_SQL_SELECT, params))
            selects.append(time.perf_counter() - started)
            started = time.perf_counter()
            union = int(await db.scalar(FANOUT_SQL_UNION, params))
            unions.append(time.perf_counter() - started)
            matched.append((plain, union))
            if not plan:
                found = await db.fetchall(
                    "EXPLAIN QUERY PLAN " + FANOUT_SQL_SELECT,
                    {"article": added[0], "haystack": haystack},
                )
                plan = [str(r[3]) for r in found]
        kinds = {
            str(r[0]): int(r[1])
            for r in await db.fetchall("SELECT kind, count(*) FROM subscriptions GROUP BY kind")
        }
    finally:
        await db.close()
    remove_database(database)
    result = Result(
        "fanout1m",
        metrics={
            "build": built,
            "subscriptions_by_kind": kinds,
            "ingest_push_seconds": ingests,
            "fan_out_seconds": bare,
            "select_only_seconds": selects,
            "union_select_seconds": unions,
            "matched_chats_select_vs_union": matched,
            "rows_written": rows,
            "expansion": expansion,
            "query_plan": plan,
        },
    )
    target = 2.0 if not ctx.quick else 2.0 * subscriptions / fanout_data.SUBSCRIPTIONS
    result.check("ingest(push=True), median of 3", median(ingests), "s", f"≤ {target:g} s",
                 median(ingests) <= target)  # fmt: skip
    result.check("fan_out alone, median of 3", median(bare), "s", "info")
    result.check("its SELECT alone (no insert)", median(selects), "s", "info")
    result.check("same SELECT as a UNION per kind", median(unions), "s", "info")
    result.check("outbox rows written by the publish", rows[0], "", "info")
    result.check("expansion of the rest, rows/s", expansion["rows_per_s"], "/s", "≥ 1000/s",
                 expansion["rows_per_s"] >= 1000)  # fmt: skip
    result.check("slowest expansion chunk", expansion["chunk_max_s"], "s", "info")
    result.check("chats queued in all", expansion["rows"], "", f"= {matched[0][0]:,}",
                 expansion["rows"] == matched[0][0])  # fmt: skip
    result.notes.append(
        f"{built['subscriptions']:,.0f} subscriptions ({kinds}) over {built['chats']:,.0f} chats "
        f"built in {built['seconds']:.0f} s; runs: ingest "
        + ", ".join(f"{s:.2f}" for s in ingests)
        + " s; fan_out "
        + ", ".join(f"{s:.2f}" for s in bare)
        + " s; select "
        + ", ".join(f"{s:.2f}" for s in selects)
        + " s; union select "
        + ", ".join(f"{s:.2f}" for s in unions)
        + f" s; chats matched (select, union): {matched}"
    )
    result.notes.append("query plan: " + " | ".join(plan))
    return result


async def _fresh_outbox(db: Database) -> None:
    async with db.transaction():
        await db.execute("DELETE FROM outbox")
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --------------------------------------------------------------------------- 5. latest


class ReplyWatch:
    """Matches the bot's replies in reader chats to the /latest that asked for them.

    A reply is a successful sendMessage to the reader's chat that shows the published
    headline (an apology from the error handler does not count as an answer).
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.waiting: dict[int, list[tuple[float, asyncio.Future[float]]]] = {}
        self.failures: dict[int, int] = {}
        self.other = 0

    def expect(self, chat: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(chat, []).append((time.monotonic(), future))
        return future

    def __call__(self, call: ApiCall) -> None:
        chat = call.params.get("chat_id")
        if call.method != "sendMessage" or not isinstance(chat, int) or chat < READER_BASE:
            return
        if not call.ok:  # a refused reply (429) may be retried: the sample keeps waiting
            code = int((call.error or {}).get("error_code", 0))
            self.failures[code] = self.failures.get(code, 0) + 1
            return
        if self.title not in str(call.params.get("text", "")):
            self.other += 1  # an apology from the error handler is not an answer
            return
        queue = self.waiting.get(chat) or []
        while queue:
            _, future = queue.pop(0)
            if not future.done():
                future.set_result(time.monotonic())
                return


async def _readers(
    api: FakeBotAPI, watch: ReplyWatch, samples: int, interval: float, readers: int
) -> list[float]:
    """/latest every ``interval`` s, rotating over ``readers`` chats (each ≤ 1/s: Telegram's
    private-chat limit applies to replies too); each sample's latency, inf when unanswered."""

    async def one(chat: int) -> float:
        asked = time.monotonic()
        future = watch.expect(chat)
        api.send_text("/latest", chat_id=chat)
        try:
            answered = await asyncio.wait_for(future, 15.0)
        except TimeoutError:
            return float("inf")
        return answered - asked

    start = time.monotonic()
    tasks = []
    for k in range(samples):
        await asyncio.sleep(max(0.0, start + k * interval - time.monotonic()))
        tasks.append(asyncio.create_task(one(READER_BASE + 1 + k % readers)))
    return list(await asyncio.gather(*tasks))


# Candidate fix for replies at a broadcast rate near 30 (code with GlobalPacer.admit): the
# reply passes the same one-second window check as broadcasts instead of going out at once
# into a full window (a 429, then a 1 s retry), and goes first: while a reply waits for the
# window, broadcasts do not take the freed slot. (Waiting in admit() without that priority
# was measured too: p95 0.49 s over 120 samples, but 3.67 s max in a 24-sample run.)
REPLIES_FIRST = """
import asyncio
import bot.rate_limit as rate_limit
import bot.services.pacing as pacing

async def admit(self, reply=False):
    loop = asyncio.get_running_loop()
    self._replies_waiting = getattr(self, "_replies_waiting", 0) + (1 if reply else 0)
    try:
        while True:
            now = loop.time()
            full = len(self._recent) == self._recent.maxlen
            held = not reply and self._replies_waiting > 0
            if not held and (not full or now - self._recent[0] >= 1.0 + pacing.WINDOW_MARGIN):
                self._recent.append(now)
                return
            free_at = self._recent[0] + 1.0 + pacing.WINDOW_MARGIN if full else now
            await asyncio.sleep(max(0.001, free_at - now))
    finally:
        if reply:
            self._replies_waiting -= 1

async def _pace(self, chat_id):
    await self._pacer.admit(reply=True)
    now = asyncio.get_running_loop().time()
    self._pacer._next = max(self._pacer._next, now) + self._pacer.interval
    self._chats.record(chat_id, chat_id > 0, now)

pacing.GlobalPacer.admit = admit
rate_limit.SharedRateLimiter._pace = _pace
"""


async def _latest_run(
    ctx: Context, rate: float, samples: int, chats: int, patch: str = ""
) -> dict[str, Any]:
    name = f"latest_during_broadcast-rate{rate:g}" + ("-patched" if patch else "")
    watch = ReplyWatch(headline(name).title)
    span: dict[str, float] = {}

    async def warm_up(api: FakeBotAPI, herald: HeraldProcess, log: DeliveryLog) -> dict[str, Any]:
        """One /latest before the broadcast: proves polling works, gives an idle baseline."""
        asked = time.monotonic()
        api.send_text("/latest", chat_id=READER_BASE)
        done = await _wait_any_reply(api, READER_BASE, 30.0)
        api.on_call.append(watch)
        return {"idle_reply_seconds": (time.monotonic() - asked) if done else float("inf")}

    async def during(api: FakeBotAPI, herald: HeraldProcess, log: DeliveryLog) -> dict[str, Any]:
        await log.wait_for(30, time.monotonic() + 60)  # the broadcast is under way
        span["start"] = time.monotonic()
        latencies = await _readers(api, watch, samples, 0.5, readers=10)
        span["end"] = time.monotonic()
        return {
            "latencies": latencies,
            "rate_while_reading": log.rate(span["start"], span["end"]),
            "delivered_when_reading_ended": log.delivered,
        }

    run = await herald_broadcast(
        ctx,
        name,
        chats=chats,
        rate=rate,
        limits=TELEGRAM,
        budget=samples * 0.5 + 120,
        before_publish=warm_up,
        during=during,
        patch=patch,
    )
    latencies = run.extra.get("latencies", [])
    answered = [x for x in latencies if x != float("inf")]
    return {
        "rate_setting": rate,
        "samples": len(latencies),
        "unanswered": len(latencies) - len(answered),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies, default=float("nan")),
        "mean_answered": statistics.fmean(answered) if answered else float("nan"),
        "reply_failures": dict(watch.failures),
        "other_messages": watch.other,
        "idle_reply_seconds": run.extra.get("idle_reply_seconds"),
        "broadcast_rate_while_reading": run.extra.get("rate_while_reading"),
        "broadcast_delivered": run.delivered,
        "rejected_429": run.rejected_429,
        "broadcast_429_pauses": run.log_429,
        "bot_log_errors": run.log_errors,
        "exit_code": run.exit_code,
        "statuses_after_stop": run.statuses,
        "latencies": latencies,
    }


async def _wait_any_reply(api: FakeBotAPI, chat: int, seconds: float) -> bool:
    got = asyncio.Event()

    def listener(call: ApiCall) -> None:
        if call.method == "sendMessage" and call.ok and call.params.get("chat_id") == chat:
            got.set()

    api.on_call.append(listener)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(got.wait(), seconds)
    finally:
        api.on_call.remove(listener)
    return got.is_set()


async def latest_during_broadcast(ctx: Context) -> Result:
    """/latest latency for readers while a 10,000-chat broadcast runs at 30/s (then at 25/s)."""
    samples = 24 if ctx.quick else 120
    chats = 2_000 if ctx.quick else 10_000
    at30 = await _latest_run(ctx, 30, samples, chats)
    at25 = await _latest_run(ctx, 25, samples, chats)
    result = Result("latest_during_broadcast", metrics={"rate30": at30, "rate25": at25})
    runs = [("rate 30", at30, True), ("rate 25 (default)", at25, False)]
    if hasattr(pacing.GlobalPacer, "admit"):
        first = await _latest_run(ctx, 30, samples, chats, patch=REPLIES_FIRST)
        result.metrics["rate30_replies_first"] = first
        runs.append(("rate 30, replies admitted first", first, False))
    for label, run, judged in runs:
        ok = run["p95"] <= 1.0 if judged else None
        result.check(f"{label}: /latest p50", run["p50"], "s", "info")
        result.check(f"{label}: /latest p95", run["p95"], "s", "≤ 1 s" if judged else "info", ok)
        result.check(f"{label}: /latest max", run["max"], "s", "info")
        result.check(f"{label}: unanswered of {run['samples']}", run["unanswered"], "", "info")
        result.notes.append(
            f"{label}: {run['samples']} samples, {run['unanswered']} unanswered, reply sends "
            f"failed {run['reply_failures']}, other messages (apologies) {run['other_messages']}; "
            f"broadcast {run['broadcast_rate_while_reading']:.2f}/s while reading, "
            f"{run['rejected_429']} 429s in all, {run['broadcast_429_pauses']} broadcast pauses, "
            f"{run['bot_log_errors']} ERROR lines in the bot log; idle /latest "
            f"{run['idle_reply_seconds']:.3f} s; exit {run['exit_code']}"
        )
    return result


# --------------------------------------------------------------------------- 6. memory100k


async def memory100k(ctx: Context) -> Result:
    """Peak RSS of the bot while it broadcasts to 100,000 private chats at 1000/s."""
    chats = 10_000 if ctx.quick else 100_000
    run = await herald_broadcast(
        ctx, "memory100k", chats=chats, rate=1000, limits=PAID, budget=chats / 1000 * 4 + 60
    )
    result = Result("memory100k", metrics=run.metrics())
    result.check("RSS before publishing", run.rss_before_kb / 1024, "MB", "info")
    peak = run.peak_hwm_kb / 1024
    result.check("peak RSS (VmHWM)", peak, "MB", "≤ 200 MB", peak <= 200)
    result.check("delivery rate", run.rate, "/s", "info")
    _common_checks(result, run)
    result.notes.append(
        f"{run.delivered:,} delivered in {run.seconds:.1f} s; fan-out of {run.queued:,} rows "
        f"took {run.publish_seconds:.2f} s in the publisher"
    )
    result.notes.append(_stall_note(run))
    return result


SCENARIOS: dict[str, Callable[[Context], Awaitable[Result]]] = {
    "limit30": limit30,
    "plain_loop": plain_loop,
    "limit1000": limit1000,
    "fanout1m": fanout1m,
    "latest_during_broadcast": latest_during_broadcast,
    "memory100k": memory100k,
}
