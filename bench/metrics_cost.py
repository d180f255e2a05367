"""What Herald's metrics cost: 1,000 updates handled with and without them, same run.

One real Application (every handler registered, the sample articles in a fresh SQLite file)
runs against the fake Bot API on 127.0.0.1 and is handed 1,000 message updates per mode
(/start, /latest, /search comet, /help, each from a new reader), one after another through
``process_update``, each answered over real HTTP. "with" is Herald as shipped; "without"
replaces every metric with a no-op and the handler hook with PTB's plain ``process_update``.
The two modes alternate in blocks of 50 updates in one running Application, so both see the
same noise and database; totals, block medians and their ratios are printed, and the metric
calls of one update timed alone.

    .venv/bin/python -m bench.metrics_cost [--updates 1000] [--block 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bench.common import machine, median
from bot import metrics
from bot.app import build_application, start_services
from bot.config import Settings
from bot.context import SERVICES_KEY
from bot.observe import ObservedApplication
from bot.sandbox import updates as tg
from bot.sandbox.fake_api import FakeBotAPI
from bot.sandbox.samples import seed_samples
from storage.db import Database

TEXTS = ("/start", "/latest", "/search comet", "/help")
METRIC_NAMES = [name for name in metrics.__all__ if name.isupper() and name != "CONTENT_TYPE"]


class _Null:
    """A metric that records nothing."""

    def labels(self, *args: object) -> _Null:
        return self

    def inc(self, *args: object) -> None: ...
    def set(self, *args: object) -> None: ...
    def observe(self, *args: object) -> None: ...
    def info(self, *args: object) -> None: ...

    def time(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


@contextlib.contextmanager
def metrics_off():  # noqa: ANN201 - a context manager
    saved = {name: getattr(metrics, name) for name in METRIC_NAMES}
    hook = ObservedApplication.process_update
    for name in METRIC_NAMES:
        setattr(metrics, name, _Null())
    ObservedApplication.process_update = Application.process_update  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(metrics, name, value)
        ObservedApplication.process_update = hook  # type: ignore[method-assign]


def _updates(app: Application, first: int, count: int) -> list[Update]:
    return [
        Update.de_json(
            {
                "update_id": n + 1,
                "message": tg.message_dict(
                    1,
                    tg.chat_dict(10_000 + n),
                    tg.user_dict(10_000 + n, "Reader", language_code="en"),
                    text=TEXTS[n % len(TEXTS)],
                ),
            },
            app.bot,
        )
        for n in range(first, first + count)
    ]


async def _block(app: Application, updates: list[Update]) -> float:
    started = time.perf_counter()
    for update in updates:
        await app.process_update(update)
    return time.perf_counter() - started


async def measure(api: FakeBotAPI, database: Path, count: int, block: int) -> dict[str, list]:
    """Per-block seconds of each mode; blocks alternate in one running Application."""
    db = await Database.open(database)
    await seed_samples(db)
    await db.close()
    settings = Settings(
        _env_file=None,
        bot_token=api.token,
        api_base_url=api.base_url,
        api_file_url=api.base_file_url,
        database=database,
        broadcast_rate=1000,  # the reply pacer must not be what is measured
    )
    app = build_application(settings, api.token, api.base_url, api.base_file_url)
    timings: dict[str, list[float]] = {"with": [], "without": []}
    async with app:
        await start_services(app, settings)
        await _block(app, _updates(app, 0, 40))  # warm-up: first connections, caches
        next_id = 40
        for _ in range(count // block):
            for mode in ("with", "without"):
                updates = _updates(app, next_id, block)
                next_id += block
                if mode == "with":
                    timings[mode].append(await _block(app, updates))
                else:
                    with metrics_off():
                        timings[mode].append(await _block(app, updates))
        await app.bot_data[SERVICES_KEY].db.close()
    return timings


def per_update_metric_work(repeat: int = 100_000) -> float:
    """Microseconds of the metric calls one reply update makes (hook, rate limiter, search)."""
    started = time.perf_counter()
    for _ in range(repeat):
        metrics.UPDATES.labels("message").inc()
        metrics.HANDLER_SECONDS.observe(0.01)
        metrics.TELEGRAM_REQUESTS.labels("reply", "sendMessage").inc()
        with metrics.SEARCH_SECONDS.time():
            pass
    return (time.perf_counter() - started) / repeat * 1e6


async def main(count: int, block: int) -> None:
    async with FakeBotAPI(record_calls=False) as api:
        with tempfile.TemporaryDirectory() as folder:
            timings = await measure(api, Path(folder) / "h.db", count, block)
    print(f"machine: {machine()}")
    print(f"{count} updates in each mode, blocks of {block} alternating in one Application")
    for mode, values in timings.items():
        total = sum(values)
        print(
            f"  {mode:8} total {total:.2f} s ({count / total:,.0f} updates/s), "
            f"median block {median(values):.3f} s"
        )
    ratio = sum(timings["with"]) / sum(timings["without"])
    medians = median(timings["with"]) / median(timings["without"])
    print(
        f"  with / without: totals {ratio:.3f} ({100 * (ratio - 1):+.1f}%), "
        f"block medians {medians:.3f} ({100 * (medians - 1):+.1f}%)"
    )
    micro = per_update_metric_work()
    per_update = sum(timings["with"]) / count * 1e6
    print(
        f"  metric calls of one update: {micro:.2f} µs = {100 * micro / per_update:.3f}% "
        f"of one update's {per_update:,.0f} µs"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--block", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.block))
