"""``python -m bench.flood``: one reader floods during a broadcast (issue 13, finding 2).

    .venv/bin/python -m bench.flood                    # Telegram's limits on (~1 minute)
    .venv/bin/python -m bench.flood --no-limits        # the fake enforces nothing

Herald (``python -m bot``, default settings) runs against the fake Bot API with Telegram's
flood limits (30 sends/s in all, 1/s per private chat). 400 private chats are subscribed; one
article is published, so a 400-chat broadcast starts at ``HERALD_BROADCAST_RATE`` (default
25/s). Once 30 messages went out, one private chat sends 300 ``/search WORD`` at once. Ten
other readers then ask ``/latest``, one every second, each from its own chat. Measured:
each other reader's wait for its answer (the first successful ``sendMessage`` to its chat),
the broadcast's accepted sends in the 10 s after the burst against 10 × its rate, the 429s
the fake answered (to the flooder, to the broadcast, to the others), and what the flooder got.
Goals (issue 13): other readers answered within 1 s, the broadcast at ≥ 90% of its rate.

Writes ``bench/out/flood[-nolimits].json`` and ``.md``; exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.broadcast.harness import READER_BASE, DeliveryLog, HeraldProcess
from bench.broadcast.scenarios import TELEGRAM, Context, herald_broadcast, loadavg
from bench.common import OUT, bot_commit, machine, percentile
from bot.config import Settings
from bot.sandbox.fake_api import ApiCall, FakeBotAPI, FloodLimits

CHATS = 400
BURST = 300
OTHERS = 10  # other readers, one /latest a second each from its own chat
WINDOW = 10.0  # seconds after the burst in which the broadcast's sends are counted
ANSWER_TIMEOUT = 60.0  # an other reader still waiting after this counts as never answered
FLOODER = READER_BASE + 999
WORDS = ("economy", "election", "market", "music", "football", "phone", "film", "bank")


class Watch:
    """The fake's view of the readers: answers to the other readers, the flooder's lot."""

    def __init__(self) -> None:
        self.waiting: dict[int, tuple[float, asyncio.Future[float]]] = {}
        self.flooder_ok = 0
        self.flooder_429 = 0
        self.others_429 = 0

    def expect(self, chat: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = (time.monotonic(), future)
        return future

    def __call__(self, call: ApiCall) -> None:
        chat = call.params.get("chat_id")
        if call.method != "sendMessage" or not isinstance(chat, int) or chat < READER_BASE:
            return
        code = int((call.error or {}).get("error_code", 0)) if not call.ok else 0
        if chat == FLOODER:
            self.flooder_ok += call.ok
            self.flooder_429 += code == 429
            return
        self.others_429 += code == 429
        entry = self.waiting.get(chat)
        if call.ok and entry and not entry[1].done():
            entry[1].set_result(call.time)


async def other_reader(api: FakeBotAPI, watch: Watch, chat: int) -> float:
    asked = time.monotonic()
    future = watch.expect(chat)
    api.send_text("/latest", chat_id=chat)
    try:
        return await asyncio.wait_for(future, ANSWER_TIMEOUT) - asked
    except TimeoutError:
        return float("inf")


def scenario(watch: Watch, span: dict[str, float]):  # noqa: ANN201 - a During callable
    async def during(api: FakeBotAPI, herald: HeraldProcess, log: DeliveryLog) -> dict[str, Any]:
        await log.wait_for(30, time.monotonic() + 60)  # the broadcast is under way
        rejected_before = api.stats.rejected_429
        span["burst"] = time.monotonic()
        for k in range(BURST):
            api.send_text(f"/search {WORDS[k % len(WORDS)]}", chat_id=FLOODER)
        tasks = []
        for k in range(OTHERS):
            await asyncio.sleep(max(0.0, span["burst"] + 0.5 + k - time.monotonic()))
            tasks.append(asyncio.create_task(other_reader(api, watch, READER_BASE + 1 + k)))
        latencies = list(await asyncio.gather(*tasks))
        await asyncio.sleep(max(0.0, span["burst"] + WINDOW - time.monotonic()))
        in_window = sum(1 for t in log.times if span["burst"] <= t < span["burst"] + WINDOW)
        return {
            "latencies": latencies,
            "broadcast_in_window": in_window,
            "rejected_429_after_burst": api.stats.rejected_429 - rejected_before,
            "broadcast_429": log.failures.get(429, 0),
            "flooder_answered": watch.flooder_ok,
            "flooder_429": watch.flooder_429,
            "others_429": watch.others_429,
            "seconds_after_burst": time.monotonic() - span["burst"],
        }

    return during


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rate = float(Settings.model_fields["broadcast_rate"].default)
    limits: FloodLimits | None = None if args.no_limits else TELEGRAM
    watch, span = Watch(), {}

    async def warm_up(api: FakeBotAPI, herald: HeraldProcess, log: DeliveryLog) -> dict[str, Any]:
        api.on_call.append(watch)
        idle = await other_reader(api, watch, READER_BASE)
        return {"idle_latest_seconds": idle}

    with tempfile.TemporaryDirectory(prefix="herald-flood-") as tmp:
        ctx = Context(Path(tmp), args.out / "flood-logs", quick=False, profile=False)
        name = "flood" + ("-nolimits" if args.no_limits else "")
        found = await herald_broadcast(
            ctx,
            name,
            chats=CHATS,
            rate=rate,
            limits=limits,  # type: ignore[arg-type]  # None: the fake enforces nothing
            budget=ANSWER_TIMEOUT + 60,
            before_publish=warm_up,
            during=scenario(watch, span),
        )
    extra = found.extra
    latencies = extra.get("latencies", [])
    expected = rate * WINDOW
    return {
        "limits": "off" if args.no_limits else "Telegram's (30/s, 1/s per private chat)",
        "broadcast_rate_setting": rate,
        "idle_latest_seconds": extra.get("idle_latest_seconds"),
        "others_p50": percentile(latencies, 50),
        "others_p95": percentile(latencies, 95),
        "others_max": max(latencies, default=float("nan")),
        "others_unanswered": sum(1 for x in latencies if x == float("inf")),
        "latencies": latencies,
        "broadcast_in_window": extra.get("broadcast_in_window", 0),
        "broadcast_expected": expected,
        "broadcast_share": extra.get("broadcast_in_window", 0) / expected,
        "rejected_429_after_burst": extra.get("rejected_429_after_burst"),
        "broadcast_429": extra.get("broadcast_429"),
        "flooder_answered": extra.get("flooder_answered"),
        "flooder_429": extra.get("flooder_429"),
        "others_429": extra.get("others_429"),
        "broadcast_delivered": found.delivered,
        "bot_cpu_percent": found.bot_cpu,
        "bot_waited_percent": found.bot_cpu_wait,
        "loadavg": found.loadavg,
        "exit_code": found.exit_code,
        "bot_log_errors": found.log_errors,
    }


def seconds(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "never" if x == float("inf") else f"{x:.3f} s"


def markdown(header: dict[str, Any], r: dict[str, Any]) -> str:
    others_ok = r["others_p95"] <= 1.0 and not r["others_unanswered"]
    share_ok = r["broadcast_share"] >= 0.9
    lines = [
        f"Flood benchmark, {header['date']}; code `{header['code']}`; `{header['command']}`",
        f"Machine: {header['machine']['cpus']} cores ({header['machine']['cpu_model']}); "
        f"load average {r['loadavg'][0]} → {r['loadavg'][1]}; the bot waited for a core "
        f"{r['bot_waited_percent']:.0f}% of the broadcast.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| fake's flood limits | {r['limits']} | |",
        f"| other readers' /latest ({OTHERS}, one a second after the burst): p50 / p95 / max "
        f"| {seconds(r['others_p50'])} / {seconds(r['others_p95'])} / "
        f"{seconds(r['others_max'])}, {r['others_unanswered']} never answered "
        f"| ≤ 1 s: {'met' if others_ok else 'MISSED'} |",
        f"| the same, idle before the broadcast | {seconds(r['idle_latest_seconds'])} | |",
        f"| broadcast sends in the {WINDOW:g} s after the burst | {r['broadcast_in_window']} of "
        f"{r['broadcast_expected']:g} ({100 * r['broadcast_share']:.0f}% of its rate "
        f"{r['broadcast_rate_setting']:g}/s) | ≥ 90%: {'met' if share_ok else 'MISSED'} |",
        f"| 429s drawn after the burst (flooder / broadcast / other readers) | "
        f"{r['rejected_429_after_burst']} ({r['flooder_429']} / {r['broadcast_429']} / "
        f"{r['others_429']}) | |",
        f"| the flooder's {BURST} /search: messages it received | {r['flooder_answered']} | |",
        f"| broadcast delivered by the end / bot exit code / ERROR lines | "
        f"{r['broadcast_delivered']} of {CHATS} / {r['exit_code']} / {r['bot_log_errors']} | |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--no-limits", action="store_true", help="the fake enforces nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--tag", default="", help="suffix for the output files")
    args = parser.parse_args(raw)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("herald.fakeapi").setLevel(logging.ERROR)
    started = time.monotonic()
    load = loadavg()
    result = asyncio.run(run(args))
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {**machine(), "load_at_start": load, "loadavg": os.getloadavg()},
        "code": bot_commit(),
        "command": (".venv/bin/python -m bench.flood " + shlex.join(raw)).strip(),
        "seconds": time.monotonic() - started,
    }
    stem = "flood" + ("-nolimits" if args.no_limits else "") + (f"-{args.tag}" if args.tag else "")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(
        json.dumps({"header": header, "result": result}, indent=1, default=str)
    )
    table = markdown(header, result)
    (args.out / f"{stem}.md").write_text(table)
    print(table)
    ok = result["others_p95"] <= 1.0 and not result["others_unanswered"]
    return 0 if ok and result["broadcast_share"] >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
