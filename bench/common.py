"""Helpers shared by the benchmarks: locating the data, the machine description, statistics.

The data is read by path and never copied into the repository, so every benchmark resolves it
relative to the repository root and exits with a clear message when it is missing.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path("../shared/data")
OUT = REPO / "bench" / "out"

if str(REPO) not in sys.path:  # allow ``python bench/<name>.py`` as well as ``-m bench.<name>``
    sys.path.insert(0, str(REPO))


def data_file(name: str, data_dir: Path = DATA) -> Path:
    """The data file ``name`` under ``data_dir`` (relative to the repo root); exit if absent."""
    path = data_dir if data_dir.is_absolute() else REPO / data_dir
    path = (path / name).resolve()
    if not path.is_file():
        sys.exit(
            f"bench: data file not found: {path}\n"
            f"bench: expected it at {data_dir / name} relative to the repository root {REPO}"
        )
    return path


def machine() -> dict[str, str]:
    """What the numbers were measured on: CPU count and model, Python and SQLite versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank: no interpolation on small samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bot_commit() -> str:
    """The newest commit that changed the code under test (bot, handlers, storage, deps).

    A benchmark branch carries newer commits of its own (``bench/``, docs) on top of the bot
    it measures; naming HEAD would hide which bot ran. A ``git archive`` snapshot names its
    commit in a ``COMMIT`` file (see docs/benchmarks.md). Uncommitted bot changes are flagged.
    """
    import subprocess

    frozen = REPO / "COMMIT"
    if not (REPO / ".git").exists() and frozen.exists():
        return f"{frozen.read_text().strip()} (frozen snapshot)"
    paths = ["bot", "handlers", "storage", "pyproject.toml"]
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", *paths],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")
