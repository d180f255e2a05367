"""``python -m bench.readers``: readers at rising rates, Herald against a bare PTB bot (issue 14).

    .venv/bin/python -m bench.readers                  # 20 s a step, the five runs (~15 min)
    .venv/bin/python -m bench.readers --quick          # 6 s a step (~5 min)
    .venv/bin/python -m bench.readers --run herald-1000-lat0 --run bare-lat0 --profile 100

Each run starts a fresh fake Bot API process (``fake_server``, limits off, the run's latency)
and a fresh bot process: Herald (``python -m bot`` on a copy of a database holding the BBC
corpus, imported once through ``import_file``) or the bare bot (``bare_bot``). This process is
the driver: 1,000 readers (each at most one update every 2 s) send 40% ``/search WORD``
(a word of a real headline), 30% ``/latest``, 20% taps on buttons the bot sent them and 10%
inline queries, at each rate of ``--rates`` for ``--seconds``; then it waits up to
``--grace`` s for the last answers. Per step: answered, p50/p95/p99 from update queued to
answer received (the fake's clock), the bot's CPU (``/proc``, all threads) per answered update,
its RSS, the load average. A step passes when every update was answered and p95 ≤ 1 s; the
rates keep rising while every update is answered and p95 ≤ ``STOP_P95`` (so a loaded machine
still shows the curve); the capacity is the last rate before the first step that failed.
"All answered" is the highest rate with every update answered in time (p95 not judged) and
CPU per update is the median over those steps: on a shared, loaded machine the bot waits for
a core and p95 says more about the neighbours than about the bot, while CPU per update does
not depend on how long the bot waited.

Writes ``bench/out/readers[-quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.broadcast import profiling
from bench.broadcast.harness import proc_cpu_seconds, proc_memory_kb, proc_runqueue_seconds
from bench.common import OUT, REPO, bot_commit, data_file, machine, percentile
from bot.config import Settings
from bot.services.importer import import_file
from storage.db import Database

READERS = 1_000
READER_BASE = 10_000_001  # reader chat ids: private chats, the user is the chat
MIX = (("search", 0.4), ("latest", 0.3), ("tap", 0.2), ("inline", 0.1))
TICK = 0.02  # seconds between two batches of updates sent to the fake
P95_LIMIT = 1.0
STOP_P95 = 3.0  # seconds: beyond this the bot is saturated, higher rates say nothing new
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunSpec:
    """One bot under one setting at one fake latency."""

    name: str
    bot: str  # "herald" or "bare"
    latency: float
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()  # the bare bot's extra arguments


# The message budget out of the way: the broadcast rate (3d11f45: it paced replies too) and,
# from h-speed's 6e2c739 on, the one budget replies and pushes share (unknown to older code).
BUDGET_OFF = {"HERALD_BROADCAST_RATE": "1000", "HERALD_MESSAGE_RATE": "1000"}
SPACING = 2.0  # seconds between two updates of one reader (replies keep a chat's 1 s spacing)

RUNS = {
    spec.name: spec
    for spec in (
        RunSpec("herald-defaults-lat0", "herald", 0.0),
        RunSpec("herald-1000-lat0", "herald", 0.0, BUDGET_OFF),
        RunSpec("bare-lat0", "bare", 0.0),
        RunSpec("herald-1000-lat50", "herald", 0.05, BUDGET_OFF),
        RunSpec("bare-lat50", "bare", 0.05),
        # Not in the default set: the bare bot on Herald's transport (bot.telegram_http).
        RunSpec("bare-aiohttp-lat0", "bare", 0.0, args=("--aiohttp",)),
    )
}


@dataclass
class Step:
    """What one offered rate measured."""

    rate: float
    sent: int
    answered: int
    skipped_taps: int
    p50: float
    p95: float
    p99: float
    by_kind_p95: dict[str, float]
    bot_cpu_percent: float
    bot_wait_percent: float  # runnable but waiting for a core (another process had it)
    fake_cpu_percent: float
    cpu_ms_per_update: float
    rss_mb: float
    hwm_mb: float
    loadavg: list[float]
    wall: float

    @property
    def all_answered(self) -> bool:
        return self.answered == self.sent

    @property
    def passed(self) -> bool:
        return self.all_answered and self.p95 <= P95_LIMIT


@dataclass
class RunResult:
    spec: RunSpec
    steps: list[Step] = field(default_factory=list)
    warmup_answered: str = ""
    calls: dict[str, int] = field(default_factory=dict)
    profile: dict[str, Any] | None = None
    error: str = ""

    @property
    def capacity(self) -> float:
        best = 0.0
        for step in self.steps:
            if not step.passed:
                break
            best = step.rate
        return best

    @property
    def answered_all(self) -> float:
        """The highest rate before the first step that left updates unanswered."""
        best = 0.0
        for step in self.steps:
            if not step.all_answered:
                break
            best = step.rate
        return best

    def cpu_ms(self, rates: set[float] | None = None) -> float:
        """Median CPU per update over the all-answered steps (or those at ``rates``)."""
        values = sorted(
            s.cpu_ms_per_update
            for s in self.steps
            if s.all_answered and (rates is None or s.rate in rates)
        )
        return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- processes


class Child:
    """A subprocess with its output in a log file (a pipe could fill up and block it)."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc, self.log = proc, log

    @classmethod
    async def start(cls, args: list[str], log: Path, env: dict[str, str], cwd: Path) -> Child:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        return cls(proc, log)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return int(self.proc.returncode or 0)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def herald_slots() -> int:
    """Updates Herald handles at once (``concurrent_updates(8)`` before HERALD_UPDATE_SLOTS):
    the bare bot gets as many, so the comparison is of the work per update, not of settings."""
    field = Settings.model_fields.get("update_slots")
    return int(field.default) if field is not None else 8


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["PYTHONPATH"] = str(REPO)
    return env


async def start_fake(latency: float, logs: Path) -> tuple[Child, dict[str, str]]:
    """The fake in its own process; returns it and its addresses (its first output line)."""
    log = logs / f"fake-lat{latency * 1000:g}.log"
    fake = await Child.start(
        ["-m", "bench.readers.fake_server", "--latency", str(latency)], log, base_env(), REPO
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if line.startswith("{"):
                return fake, json.loads(line)
        if fake.proc.returncode is not None:
            break
        await asyncio.sleep(0.1)
    await fake.stop()
    raise RuntimeError(f"the fake did not start:\n{fake.tail()}")


async def start_bot(spec: RunSpec, where: dict[str, str], database: Path, logs: Path) -> Child:
    env = base_env()
    log = logs / f"{spec.name}.log"
    if spec.bot == "bare":
        args = ["-m", "bench.readers.bare_bot", "--base-url", where["base_url"]]
        args += ["--token", where["token"], "--concurrency", str(herald_slots()), *spec.args]
        return await Child.start(args, log, env, REPO)
    env.update(
        HERALD_BOT_TOKEN=where["token"],
        HERALD_API_BASE_URL=where["base_url"],
        HERALD_DATABASE=str(database),
        **spec.env,
    )
    return await Child.start(["-m", "bot"], log, env, database.parent)


# --------------------------------------------------------------------------- readers


class Readers:
    """The 1,000 readers: who sends what next; a reader waits SPACING s between two updates."""

    def __init__(self, words: list[str], seed: int = 14, only: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.mix = MIX if only is None else ((only, 1.0),)
        self.words = words
        self.last: dict[int, float] = {}
        self.with_buttons: list[int] = []  # readers who were sent a list (they can tap)
        self._known: set[int] = set()

    def _pick(self, now: float, among: list[int] | None = None) -> int | None:
        for _ in range(50):
            chat = self.rng.choice(among) if among else READER_BASE + self.rng.randrange(READERS)
            if now - self.last.get(chat, -10.0) >= SPACING:
                self.last[chat] = now
                return chat
        return None

    def action(self, now: float) -> dict[str, Any] | None:
        roll, kind = self.rng.random(), "inline"
        for name, share in self.mix:
            if roll < share:
                kind = name
                break
            roll -= share
        chat = self._pick(now, self.with_buttons if kind == "tap" else None)
        if chat is None:
            chat = self._pick(now)
            kind = "latest" if kind == "tap" else kind
        if chat is None:
            return None
        if kind in ("search", "latest") and chat not in self._known:
            self._known.add(chat)
            self.with_buttons.append(chat)
        word = self.rng.choice(self.words)
        text = {"search": f"/search {word}", "latest": "/latest", "inline": word}.get(kind, "")
        return {"kind": kind, "chat": chat, "text": text}


def headline_words(path: Path, limit: int = 400) -> list[str]:
    """Distinct words of 5+ letters from the corpus's headlines: real, findable queries."""
    words: set[str] = set()
    with path.open() as lines:
        for line in lines:
            title = json.loads(line).get("title", "")
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{5,}", title))
    return sorted(words)[:: max(1, len(words) // limit)]


# --------------------------------------------------------------------------- driving


class Driver:
    def __init__(
        self, session: aiohttp.ClientSession, control: str, readers: Readers, fake_pid: int
    ) -> None:
        self.session, self.control, self.readers = session, control, readers
        self.fake_pid = fake_pid

    async def status(self) -> dict[str, Any]:
        async with self.session.get(f"{self.control}/ctl/status") as response:
            return await response.json()

    async def wait_ready(self, bot: Child) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if bot.proc.returncode is not None:
                break
            if (await self.status())["ready"]:
                await asyncio.sleep(1.0)  # polling starts right after the commands
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the bot did not start:\n{bot.tail()}")

    async def send(self, step: str, actions: list[dict[str, Any]]) -> int:
        body = {"step": step, "actions": actions}
        async with self.session.post(f"{self.control}/ctl/updates", json=body) as response:
            return int((await response.json())["skipped"])

    async def results(self, step: str) -> dict[str, Any]:
        async with self.session.get(f"{self.control}/ctl/results", params={"step": step}) as r:
            return await r.json()

    async def offer(self, step: str, rate: float, seconds: float) -> tuple[int, int]:
        """Send ``rate`` updates a second for ``seconds``, in batches every TICK s."""
        started = time.monotonic()
        sent = skipped = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(rate * elapsed) - sent
            now = time.monotonic()
            actions = [a for a in (self.readers.action(now) for _ in range(due)) if a]
            if actions:
                skipped += await self.send(step, actions)
            sent += due
            await asyncio.sleep(max(0.0, TICK - (time.monotonic() - now)))
        return sent - skipped, skipped

    async def drain(self, step: str, grace: float) -> dict[str, Any]:
        deadline = time.monotonic() + grace
        while True:
            found = await self.results(step)
            if found["pending"] == 0 or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Usage:
    """CPU seconds used (and waited for) by the bot and the fake between two looks."""

    bot: float
    bot_wait: float
    fake: float
    wall: float


def usage_now(bot_pid: int, fake_pid: int) -> Usage:
    return Usage(
        proc_cpu_seconds(bot_pid),
        proc_runqueue_seconds(bot_pid),
        proc_cpu_seconds(fake_pid),
        time.monotonic(),
    )


def summarise_step(
    rate: float, found: dict[str, Any], skipped: int, before: Usage, after: Usage, pid: int
) -> Step:
    cpu, wall = after.bot - before.bot, after.wall - before.wall
    items = found["items"]
    latencies = [float("inf") if x is None else x for _, x in items]
    answered = sum(1 for _, x in items if x is not None)
    by_kind: dict[str, list[float]] = {}
    for kind, x in items:
        by_kind.setdefault(kind, []).append(float("inf") if x is None else x)
    try:
        rss, hwm = proc_memory_kb(pid)
    except OSError:
        rss = hwm = 0
    return Step(
        rate=rate,
        sent=len(items),
        answered=answered,
        skipped_taps=skipped,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        by_kind_p95={k: percentile(v, 95) for k, v in sorted(by_kind.items())},
        bot_cpu_percent=100 * cpu / wall if wall else float("nan"),
        bot_wait_percent=100 * (after.bot_wait - before.bot_wait) / wall if wall else float("nan"),
        fake_cpu_percent=100 * (after.fake - before.fake) / wall if wall else float("nan"),
        cpu_ms_per_update=1000 * cpu / answered if answered else float("nan"),
        rss_mb=rss / 1024,
        hwm_mb=hwm / 1024,
        loadavg=[round(x, 2) for x in os.getloadavg()],
        wall=wall,
    )


async def run_one(
    spec: RunSpec, args: argparse.Namespace, template: Path, words: list[str]
) -> RunResult:
    result = RunResult(spec)
    logs = args.out / ("readers-logs-quick" if args.quick else "readers-logs")
    with tempfile.TemporaryDirectory(prefix="herald-readers-") as tmp:
        database = Path(tmp) / "herald.db"
        shutil.copy(template, database)
        fake, where = await start_fake(spec.latency, logs)
        bot: Child | None = None
        try:
            bot = await start_bot(spec, where, database, logs)
            async with aiohttp.ClientSession() as session:
                readers = Readers(words, only=args.only)
                driver = Driver(session, where["control"], readers, fake.proc.pid)
                await driver.wait_ready(bot)
                await warm_up(driver, result, args)
                for rate in args.rates:
                    step = await one_step(driver, bot, spec, rate, args, result)
                    result.steps.append(step)
                    print(f"   {spec.name} {step_line(step)}", flush=True)
                    if not step.all_answered or step.p95 > STOP_P95:
                        break
                result.calls = (await driver.status())["calls"]
        except Exception as exc:  # one broken run must not hide the others' numbers
            result.error = f"{type(exc).__name__}: {exc}"
            print(f"   {spec.name} failed: {result.error}", flush=True)
        finally:
            if bot is not None:
                await bot.stop()
            await fake.stop()
    return result


async def warm_up(driver: Driver, result: RunResult, args: argparse.Namespace) -> None:
    """300 readers ask for /latest or (one in ten) /search, so there are buttons to tap, at
    30/s; then a pause. The searches let Herald open its search index (built from the
    database at the first search) before any step is measured: a one-time start-up cost,
    not a cost per update."""
    now = time.monotonic()
    actions = []
    for k in range(300):
        chat = READER_BASE + k * (READERS // 300)
        driver.readers.last[chat] = now
        driver.readers.with_buttons.append(chat)
        driver.readers._known.add(chat)
        if k % 10 == 0:
            word = driver.readers.words[k % len(driver.readers.words)]
            actions.append({"kind": "search", "chat": chat, "text": f"/search {word}"})
        else:
            actions.append({"kind": "latest", "chat": chat, "text": "/latest"})
    for start in range(0, len(actions), 30):
        await driver.send("warmup", actions[start : start + 30])
        await asyncio.sleep(1.0)
    found = await driver.drain("warmup", 60.0)
    result.warmup_answered = f"{len(found['items']) - found['pending']}/{len(found['items'])}"
    await asyncio.sleep(2.0)


async def one_step(
    driver: Driver,
    bot: Child,
    spec: RunSpec,
    rate: float,
    args: argparse.Namespace,
    result: RunResult,
) -> Step:
    name = f"rate{rate:g}"
    profiler = None
    if args.profile and rate == args.profile:
        tag = f"-{args.tag}" if args.tag else ""
        out = args.out / f"readers-{spec.name}-{rate:g}{tag}.pyspy"
        seconds = max(2, int(args.seconds) - 2)
        profiler = asyncio.create_task(profiling.record(bot.proc.pid, seconds, out))
    before = usage_now(bot.proc.pid, driver.fake_pid)
    _, skipped = await driver.offer(name, rate, args.seconds)
    found = await driver.drain(name, args.grace)
    after = usage_now(bot.proc.pid, driver.fake_pid)
    if profiler is not None:
        found_profile = await profiler
        if found_profile is not None:
            result.profile = {
                "rate": rate,
                "samples": found_profile.samples,
                "top_self": found_profile.top_self,
                "top_inclusive": found_profile.top_inclusive,
            }
    step = summarise_step(rate, found, skipped, before, after, bot.proc.pid)
    if step.all_answered:
        await asyncio.sleep(1.0)  # the last answers' tails settle before the next step
    return step


# --------------------------------------------------------------------------- output


def ms(x: float) -> str:
    if x == float("inf"):
        return "∞"
    return f"{1000 * x:,.0f}" if x >= 0.01 else f"{1000 * x:.1f}"


def step_line(s: Step) -> str:
    verdict = "ok" if s.passed else "MISS"
    return (
        f"{s.rate:>5g}/s: {s.answered}/{s.sent} answered, p50 {ms(s.p50)} p95 {ms(s.p95)} "
        f"p99 {ms(s.p99)} ms, CPU {s.bot_cpu_percent:.0f}% = {s.cpu_ms_per_update:.2f} ms/update, "
        f"waited {s.bot_wait_percent:.0f}%, fake {s.fake_cpu_percent:.0f}%, "
        f"RSS {s.rss_mb:.0f} MB, load {s.loadavg[0]} [{verdict}]"
    )


def markdown(header: dict[str, Any], results: list[RunResult]) -> str:
    out = [
        f"Readers benchmark, {header['date']}; code `{header['code']}`; `{header['command']}`",
        f"Machine: nproc {header['machine']['nproc']} ({header['machine']['cpu_model']}), "
        f"Python {header['machine']['python']}, SQLite {header['machine']['sqlite']}; "
        f"bare bot and Herald: {header['slots']} concurrent updates; "
        f"load average (1/5/15 min) at start {header['load_start']}, "
        f"at end {header['load_end']}; {header['seconds']:.0f} s.",
        "",
        "| run | capacity (p95 ≤ 1 s, all answered) | all answered up to | CPU ms/update "
        "(median of all-answered steps) | RSS MB (end) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        last = r.steps[-1] if r.steps else None
        out.append(
            f"| {r.spec.name} | {r.capacity:g}/s | {r.answered_all:g}/s | {r.cpu_ms():.2f} | "
            f"{last.rss_mb if last else float('nan'):.0f} |"
            + (f" failed: {r.error}" if r.error else "")
        )
    out += ["", *ratio_lines(results), ""]
    out += [
        "| run | rate/s | answered | p50 ms | p95 ms | p99 ms | p95 by kind ms | bot CPU % "
        "| bot waited for a core % | fake CPU % | CPU ms/update | RSS MB | load 1 min |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for s in r.steps:
            kinds = ", ".join(f"{k} {ms(v)}" for k, v in s.by_kind_p95.items())
            out.append(
                f"| {r.spec.name} | {s.rate:g} | {s.answered}/{s.sent} | {ms(s.p50)} | "
                f"{ms(s.p95)} | {ms(s.p99)} | {kinds} | {s.bot_cpu_percent:.0f} | "
                f"{s.bot_wait_percent:.0f} | {s.fake_cpu_percent:.0f} | "
                f"{s.cpu_ms_per_update:.2f} | {s.rss_mb:.0f} | {s.loadavg[0]} |"
            )
    for r in results:
        if r.profile:
            out += [
                "",
                f"py-spy, {r.spec.name} at {r.profile['rate']:g}/s "
                f"({r.profile['samples']} samples), self time:",
            ]
            out += [f"- {share:.1f}% {frame}" for frame, share in r.profile["top_self"][:12]]
            out += ["", "inclusive:"]
            out += [f"- {share:.1f}% {frame}" for frame, share in r.profile["top_inclusive"][:25]]
    return "\n".join(out) + "\n"


def ratio_lines(results: list[RunResult]) -> list[str]:
    """Herald against the bare bot at the same latency (goal: ≥ 0.8× capacity, ≤ 1.25× CPU)."""
    by_name = {r.spec.name: r for r in results}
    lines = []
    for herald, bare in (
        ("herald-1000-lat0", "bare-lat0"),
        ("herald-1000-lat50", "bare-lat50"),
        ("herald-defaults-lat0", "bare-lat0"),
        ("herald-1000-lat0", "bare-aiohttp-lat0"),
    ):
        h, b = by_name.get(herald), by_name.get(bare)
        if not h or not b:
            continue
        capacity = f"{h.capacity / b.capacity:.2f}×" if b.capacity else "n/a (bare: 0)"
        answered = f"{h.answered_all / b.answered_all:.2f}×" if b.answered_all else "n/a"
        common = {s.rate for s in h.steps if s.all_answered}
        common &= {s.rate for s in b.steps if s.all_answered}
        cpu = h.cpu_ms(common) / b.cpu_ms(common) if common else float("nan")
        lines.append(
            f"- {herald} / {bare}: capacity {h.capacity:g}/{b.capacity:g} = "
            f"**{capacity}**; all answered up to {h.answered_all:g}/{b.answered_all:g} = "
            f"{answered}; CPU per update (median over the rates both "
            f"answered all: {', '.join(f'{x:g}' for x in sorted(common))}) "
            f"{h.cpu_ms(common):.2f}/{b.cpu_ms(common):.2f} ms = **{cpu:.2f}×**"
        )
    return lines


async def make_template(path: Path, corpus: Path) -> None:
    """The BBC corpus imported through Herald's own import path (migrations included)."""
    db = await Database.open(path)  # a new file in a fresh temporary directory
    try:
        summary = await import_file(db, corpus)
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.close()
    print(f"database: {summary.added} articles imported from {corpus.name}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.readers", description=__doc__)
    parser.add_argument("--run", action="append", choices=list(RUNS), help="repeatable")
    parser.add_argument("--quick", action="store_true", help="6 s steps, 5 s grace")
    parser.add_argument("--seconds", type=float, help="seconds per rate (20; quick 6)")
    parser.add_argument("--grace", type=float, help="seconds to wait for answers (10; quick 5)")
    parser.add_argument(
        "--rates", default="25,50,75,100,125,150,200,250", help="comma-separated updates/s"
    )
    parser.add_argument(
        "--only", choices=[kind for kind, _ in MIX], help="send only this kind (not the mix)"
    )
    parser.add_argument("--profile", type=float, default=0, help="py-spy the bot at this rate")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--tag", default="", help="suffix for the output files")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (6.0 if args.quick else 20.0)
    args.grace = args.grace or (5.0 if args.quick else 10.0)
    args.rates = [float(x) for x in args.rates.split(",")]
    return args


async def run(args: argparse.Namespace) -> list[RunResult]:
    corpus = data_file("bbc_news.jsonl")
    words = headline_words(corpus)
    results = []
    with tempfile.TemporaryDirectory(prefix="herald-readers-template-") as tmp:
        template = Path(tmp) / "template.db"
        await make_template(template, corpus)
        for name in args.run or [name for name in RUNS if not RUNS[name].args]:
            print(f"-- {name} (code {bot_commit()}, load {os.getloadavg()[0]:.2f})", flush=True)
            results.append(await run_one(RUNS[name], args, template, words))
    return results


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    started, load_start = time.monotonic(), os.getloadavg()
    results = asyncio.run(run(args))
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {**machine(), "nproc": str(os.cpu_count())},
        "code": bot_commit(),
        "command": (".venv/bin/python -m bench.readers " + shlex.join(raw)).strip(),
        "seconds": time.monotonic() - started,
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "slots": herald_slots(),
    }
    stem = "readers" + ("-quick" if args.quick else "") + (f"-{args.tag}" if args.tag else "")
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "header": header,
        "runs": [
            {
                **asdict(r),
                "capacity": r.capacity,
                "steps": [{**asdict(s), "passed": s.passed} for s in r.steps],
            }
            for r in results
        ],
    }
    (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=1, default=str))
    table = markdown(header, results)
    (args.out / f"{stem}.md").write_text(table)
    print()
    print(table)
    print(f"wrote {args.out / stem}.json and .md")
    return 0 if all(not r.error for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
