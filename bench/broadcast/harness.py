"""Running Herald as a real subprocess against the in-process fake, and watching it from outside.

Why a subprocess: on a 2-core machine a bot and a fake Telegram sharing one event loop would
share one core and each would slow the other down; as separate processes each gets a core and
the numbers say what one Herald process can do. Everything here observes the bot from outside
(the fake's arrival times, ``/proc/<pid>``), so no bot code is touched or instrumented.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import REPO
from bot.sandbox.fake_api import ApiCall, FakeBotAPI
from bot.services.ingest import ArticleInput, IngestResult, ingest, normalise
from storage import outbox
from storage.db import Database

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
READER_BASE = 1_000_000_000  # reader chats (/latest) live above every subscriber id
START_TIMEOUT = 60.0  # seconds for a bot to come up (migrations, getMe, setMyCommands)
STOP_TIMEOUT = 30.0  # seconds for a bot to exit after SIGTERM


def headline(tag: str = "") -> ArticleInput:
    """The article every broadcast scenario publishes (a plain title: easy to spot in replies)."""
    return ArticleInput(
        title=f"Benchmark headline {tag}".strip(),
        summary="Central bank raises interest rates as inflation climbs across Europe.",
        body="The central bank raised interest rates again on Thursday. " * 20,
        url="https://example.com/news/benchmark-headline",
        source="Herald Bench",
        topics=("economy", "europe"),
    )


async def seed_private_subscribers(database: Path, first: int, count: int) -> None:
    """``count`` private chats from id ``first`` on, each subscribed to everything.

    Plain ``executemany`` in one transaction: 100,000 chats take about a second, where one
    ``upsert_chat`` + ``add_subscription`` round trip each would take minutes.
    """
    db = await Database.open(database)
    try:
        async with db.transaction():
            await db.executemany(
                "INSERT INTO chats (id, kind, title, created_at, updated_at)"
                " VALUES (?, 'private', '', 0, 0)",
                ((chat,) for chat in range(first, first + count)),
            )
            await db.executemany(
                "INSERT INTO subscriptions (chat_id, kind, created_at) VALUES (?, 'all', 0)",
                ((chat,) for chat in range(first, first + count)),
            )
    finally:
        await db.close()


async def publish(database: Path, item: ArticleInput) -> tuple[IngestResult, float, int]:
    """Ingest ``item`` with push=True through a second connection, as an editor tool would.

    The running bot's worker sees the new outbox rows at its next look (at most
    ``IDLE_POLL`` = 1 s later). Returns the ingest result, its seconds and the chats it goes
    to (rows queued, and the chats of its audience the worker queues as it sends).
    """
    db = await Database.open(database)
    try:
        now = int(time.time())
        started = time.perf_counter()
        result = await ingest(db, [normalise(item, now)], now, push=True)
        seconds = time.perf_counter() - started
        async with db.transaction():  # one view: the worker may be queuing chunks meanwhile
            rows = await db.scalar(
                "SELECT count(*) FROM outbox WHERE article_id = ?", (result.added[0],)
            )
            audience = await outbox.audience_of(db, result.added[0])  # past the first chunk
            if audience is not None:
                rows += await outbox.unqueued(db, audience)
    finally:
        await db.close()
    return result, seconds, int(rows)


async def outbox_statuses(database: Path) -> dict[str, int]:
    """Outbox rows by status, read after the bot stopped (a correctness check on the run)."""
    db = await Database.open(database)
    try:
        rows = await db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
    finally:
        await db.close()
    return {str(r[0]): int(r[1]) for r in rows}


@dataclass
class DeliveryLog:
    """Listens to the fake: arrival times of successful broadcast sends, failures by code.

    Arrival time (``ApiCall.time``) is the clock the fake's flood windows use, so the rate
    computed from it is the rate Telegram would see.
    """

    below: int = READER_BASE  # chat ids under this are broadcast targets
    times: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)
    rejected_at: list[float] = field(default_factory=list)  # arrival times of 429s
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, call: ApiCall) -> None:
        if call.method != "sendMessage":
            return
        chat = call.params.get("chat_id")
        if not isinstance(chat, int) or not 0 < chat < self.below:
            return
        if call.ok:
            self.times.append(call.time)
        else:
            code = int((call.error or {}).get("error_code", 0))
            self.failures[code] = self.failures.get(code, 0) + 1
            if code == 429:
                self.rejected_at.append(call.time)
        self.changed.set()

    @property
    def delivered(self) -> int:
        return len(self.times)

    def rate(self, start: float | None = None, end: float | None = None) -> float:
        """Steady-state rate: deliveries after the first / time from first to last."""
        times = [
            t for t in self.times if (start is None or t >= start) and (end is None or t <= end)
        ]
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def stalls(self, rate: float) -> dict[str, Any]:
        """Where a paced broadcast lost time: gaps between arrivals longer than 2 slots.

        At ``rate`` every gap should be one slot (1/rate s); the excess of the long gaps over
        one slot is the time the sender was not sending, which is what pulls the rate down.
        """
        slot = 1.0 / rate
        gaps = [b - a for a, b in itertools.pairwise(self.times)]
        long = [g for g in gaps if g > 2 * slot]
        return {
            "slot_ms": 1000 * slot,
            "long_gaps": len(long),
            "lost_seconds": sum(g - slot for g in long),
            "longest_ms": [round(1000 * g, 1) for g in sorted(long, reverse=True)[:5]],
            "median_gap_ms": 1000 * statistics.median(gaps) if gaps else float("nan"),
        }

    async def wait_for(self, count: int, deadline: float) -> bool:
        """Wait until ``count`` deliveries were seen or ``time.monotonic()`` passes deadline."""
        while self.delivered < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
        return True


@dataclass(frozen=True)
class Sample:
    """One look at the bot process and at this process (which hosts the fake)."""

    at: float  # time.monotonic()
    bot_cpu: float  # seconds of CPU (user + system, all threads) used by the bot so far
    own_cpu: float  # same for this process: the fake Bot API, the listeners, the sampler
    rss_kb: int
    hwm_kb: int  # VmHWM: the kernel's own peak RSS, so no peak between samples is missed
    bot_wait: float  # seconds the bot's threads were runnable but waited for a CPU, so far
    own_wait: float  # same for this process


def proc_runqueue_seconds(pid: int) -> float:
    """Time ``pid``'s threads spent runnable but not running (second field of schedstat).

    On a shared 2-core machine this is the noise made visible: a bot that waits 30% of the
    time for a core cannot keep evenly spaced slots, however good its code.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the thread ended between listing and reading
    return total / 1e9


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc (fields 14 and 15), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in kB."""
    rss = hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


class Sampler:
    """Samples the bot's CPU and memory (and this process's CPU) every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def take(self) -> Sample | None:
        try:
            rss, hwm = proc_memory_kb(self.pid)
            own = os.times()
            sample = Sample(
                time.monotonic(),
                proc_cpu_seconds(self.pid),
                own.user + own.system,
                rss,
                hwm,
                proc_runqueue_seconds(self.pid),
                proc_runqueue_seconds(os.getpid()),
            )
        except (OSError, ValueError, IndexError):
            return None  # the process is gone
        self.samples.append(sample)
        return sample

    async def _run(self) -> None:
        while True:
            if self.take() is None:
                return
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.take()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def cpu_percent(self, start: float, end: float) -> tuple[float, float]:
        """(bot, this process) CPU % of one core between the samples nearest start and end."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return float("nan"), float("nan")
        first, last = inside[0], inside[-1]
        wall = last.at - first.at
        return (
            100 * (last.bot_cpu - first.bot_cpu) / wall,
            100 * (last.own_cpu - first.own_cpu) / wall,
        )

    def waited_percent(self, start: float, end: float) -> tuple[float, float]:
        """(bot, this process) run-queue wait as % of wall time between start and end."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return float("nan"), float("nan")
        first, last = inside[0], inside[-1]
        wall = last.at - first.at
        return (
            100 * (last.bot_wait - first.bot_wait) / wall,
            100 * (last.own_wait - first.own_wait) / wall,
        )

    @property
    def peak_hwm_kb(self) -> int:
        return max((s.hwm_kb for s in self.samples), default=0)


async def expand_timed(
    db: Database, on_chunk: Callable[[int, list[float], float], None] | None = None
) -> tuple[int, list[float], float]:
    """Expand every audience a publish left, chunk by chunk (``storage.outbox.expand``, as
    the delivery worker does): (rows queued, each chunk's seconds, seconds in all).
    ``on_chunk(rows so far, chunks so far, seconds so far)`` follows progress."""
    rows = 0
    chunks: list[float] = []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        written = await outbox.expand(db, int(time.time()))
        if written is None:
            break
        chunks.append(time.perf_counter() - t0)
        rows += written
        if on_chunk is not None:
            on_chunk(rows, chunks, time.perf_counter() - started)
    return rows, chunks, time.perf_counter() - started


class LoopLag:
    """How late this process's event loop (the fake's) wakes from a short sleep.

    The fake stamps a request's arrival when its handler runs. If this process waits for a
    core, requests queue in the socket and get stamped together, late: a burst the bot never
    sent, which the strict sliding window can answer with a 429. Recording these stalls lets a
    429 be attributed to the bot or to the measuring side.
    """

    def __init__(self, tick: float = 0.005, report_over: float = 0.02) -> None:
        self.tick = tick
        self.report_over = report_over
        self.stalls: list[tuple[float, float]] = []  # (when it ended, how late in s)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.tick)
            late = time.monotonic() - before - self.tick
            if late > self.report_over:
                self.stalls.append((time.monotonic(), late))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def explains(self, moments: list[float], stall: float, window: float = 1.1) -> int:
        """How many of ``moments`` (429 arrivals) follow a stall over ``stall`` s within
        ``window`` s: such a 429 can come from late stamping on this side, not from the bot."""
        big = [end for end, late in self.stalls if late >= stall]
        return sum(any(0 <= m - end <= window for end in big) for m in moments)


class HeraldProcess:
    """``python -m bot`` against the fake, with its log in a file (a pipe could fill and block)."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def start(
        cls,
        api: FakeBotAPI,
        database: Path,
        log_path: Path,
        *,
        rate: float,
        concurrency: int = 100,
        log_level: str = "INFO",
        patch: str = "",
    ) -> HeraldProcess:
        """Start the bot and wait until it registered its commands (its worker runs by then).

        ``patch`` is Python run in the bot process before ``bot.__main__`` (e.g. set a module
        constant): how the benchmark measures a proposed fix without editing Herald's code.
        Empty: plain ``python -m bot``.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env.update(
            PYTHONPATH=str(REPO),
            HERALD_BOT_TOKEN=api.token,
            HERALD_API_BASE_URL=api.base_url,
            HERALD_DATABASE=str(database),
            HERALD_BROADCAST_RATE=str(rate),
            HERALD_SEND_CONCURRENCY=str(concurrency),
            HERALD_LOG_LEVEL=log_level,
        )
        ready = asyncio.Event()

        def on_call(call: ApiCall) -> None:
            if call.method == "setMyCommands":
                ready.set()

        api.on_call.append(on_call)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log_file:
            command = ["-m", "bot"]
            if patch:
                command = [
                    "-c",
                    f"{patch}\nimport runpy\nrunpy.run_module('bot', run_name='__main__')",
                ]
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *command,
                cwd=database.parent,  # no stray .env from the repository is read
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        herald = cls(proc, log_path)
        try:
            waiter = asyncio.create_task(ready.wait())
            exited = asyncio.create_task(proc.wait())
            done, _ = await asyncio.wait(
                {waiter, exited}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (waiter, exited):
                task.cancel()
            if waiter not in done:
                await herald.stop()
                raise RuntimeError(f"Herald did not start; see {log_path}:\n{herald.log_tail()}")
        finally:
            api.on_call.remove(on_call)
        return herald

    async def stop(self) -> int:
        """SIGTERM, then wait; SIGKILL only if it hangs (which the caller reports as a miss)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                return -9
        return int(self.proc.returncode or 0)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_count(self, *needles: str) -> int:
        """How many lines of the bot's log contain every one of ``needles``."""
        try:
            with self.log_path.open(errors="replace") as lines:
                return sum(all(n in line for n in needles) for line in lines)
        except OSError:
            return 0


def remove_database(path: Path) -> None:
    """Delete a SQLite database and its WAL files (each scenario starts from nothing)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def register_private(api: FakeBotAPI, chat_ids: Iterable[int]) -> None:
    for chat in chat_ids:
        api.register_chat(chat, "private")


def first_after(times: list[float], moment: float) -> float | None:
    return next((t for t in times if t >= moment), None)


Listener = Callable[[ApiCall], None]
