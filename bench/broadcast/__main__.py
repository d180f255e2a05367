"""``python -m bench.broadcast``: run the broadcast scenarios and write the summary.

    .venv/bin/python -m bench.broadcast                      # all six, ~20 minutes
    .venv/bin/python -m bench.broadcast --quick              # scaled down, ~3 minutes
    .venv/bin/python -m bench.broadcast --scenario limit30 --scenario fanout1m
    .venv/bin/python -m bench.broadcast --profile            # also py-spy limit1000

Writes ``bench/out/broadcast[-quick].json`` and ``.md`` (a subset of scenarios gets its names
in the file name, so a partial run never overwrites the full one). Exit status 1 if any
scenario missed a target or failed to run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.broadcast.results import Result, markdown, write_json
from bench.broadcast.scenarios import SCENARIOS, Context
from bench.common import OUT, REPO, machine


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeatable); default: all, in the documented order",
    )
    parser.add_argument("--quick", action="store_true", help="scaled-down smoke run")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy limit1000 even when it meets its target"
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help="where the summary and bot logs go (bench/out)"
    )
    return parser.parse_args(argv)


def code_version() -> str:
    """The commit measured, and the bot files that differed from it (colleagues edit live)."""

    def git(*args: str) -> str:
        try:
            found = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return found.stdout.strip()

    frozen = REPO / "COMMIT"  # a `git archive` snapshot (see docs/benchmarks.md) names its commit
    if not (REPO / ".git").exists() and frozen.exists():
        return f"{frozen.read_text().strip()[:7]} (frozen snapshot)"
    dirty = git("status", "--porcelain", "--", "bot", "storage", "handlers").splitlines()
    changed = ", ".join(line[3:] for line in dirty)
    return git("rev-parse", "--short", "HEAD") + (f" + uncommitted {changed}" if dirty else "")


async def run(args: argparse.Namespace) -> list[Result]:
    names = [n for n in SCENARIOS if not args.scenario or n in args.scenario]
    results: list[Result] = []
    logs = args.out / ("broadcast-logs-quick" if args.quick else "broadcast-logs")
    with tempfile.TemporaryDirectory(prefix="herald-broadcast-") as tmp:
        ctx = Context(Path(tmp), logs, args.quick, args.profile)
        for name in names:
            started = time.monotonic()
            print(f"-- {name} … (code {code_version()})", flush=True)
            try:
                result = await SCENARIOS[name](ctx)
            except Exception as exc:  # one broken scenario must not hide the others' numbers
                result = Result(name)
                result.check("scenario ran", 0, "", "completes", False)
                result.notes.append(f"failed: {type(exc).__name__}: {exc}")
                traceback.print_exc()
            result.metrics["wall_seconds"] = time.monotonic() - started
            print(result.text(), f"\n   ({result.metrics['wall_seconds']:.0f} s)", flush=True)
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("herald.fakeapi").setLevel(logging.ERROR)  # every 429 is logged at INFO
    logging.getLogger("aiohttp.access").setLevel(logging.ERROR)
    started = time.monotonic()
    results = asyncio.run(run(args))
    command = ".venv/bin/python -m bench.broadcast " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    header = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "code": code_version(),
        "command": command.strip(),
        "seconds": time.monotonic() - started,
    }
    stem = "broadcast" + ("-quick" if args.quick else "")
    if args.scenario:
        stem += "-" + "-".join(sorted(set(args.scenario)))
    write_json(args.out / f"{stem}.json", header, results)
    table = markdown(header, results)
    (args.out / f"{stem}.md").write_text(table)
    print()
    print(table)
    print(f"wrote {args.out / stem}.json and .md")
    return 0 if all(r.passed() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
