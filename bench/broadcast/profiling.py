"""Where a running bot spends its CPU: ``py-spy record`` on the subprocess, summarised.

py-spy samples the process from outside (no code change, no env hook in Herald), so the
profile is of the real, unmodified run. It pauses the process for each sample (about 1% at
100 Hz): ``--nonblocking`` would not, but then py-spy cannot tell idle threads (epoll wait,
aiosqlite's queue wait) from busy ones and the idle frames swamp the profile. It is
optional: ``pip install py-spy`` into the venv; without it the profile step says so and skips.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Frames on nearly every stack (the event loop, runpy, threads): hidden from the inclusive list,
# which is meant to show which of Herald's and its libraries' functions hold the time.
_PLUMBING = ("(asyncio/", "(<frozen", "(threading.py)", "(runners.py)", "(bot/__main__.py)")
_LINE = re.compile(r" \(([^)]*?):\d+\)$")  # "func (path:line)" -> drop the line number


@dataclass(frozen=True)
class Profile:
    samples: int
    top_self: list[tuple[str, float]]  # leaf frame (where the CPU is spent), % of samples
    top_inclusive: list[tuple[str, float]]  # any frame on the stack, % of samples
    path: Path


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


async def record(pid: int, seconds: float, out: Path, rate: int = 100) -> Profile | None:
    """Sample ``pid`` for ``seconds`` (active threads only); None when py-spy is missing."""
    exe = py_spy()
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.wait_for(proc.wait(), seconds + 60)
    return summarise(out)


def _frame(raw: str) -> str:
    """'send (/x/aiohttp/client.py:512)' -> 'send (aiohttp/client.py)': short and line-free."""
    match = _LINE.search(raw)
    if not match:
        return raw
    path = match.group(1)
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{raw[: match.start()]} ({path})"


def summarise(path: Path, top: int = 15) -> Profile | None:
    """Self and inclusive shares per function from py-spy's raw (collapsed-stack) output."""
    if not path.exists():
        return None
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not any(marker in frame for marker in _PLUMBING):
                inclusive[frame] += count
    share = 100.0 / total if total else 0.0
    return Profile(
        total,
        [(f, n * share) for f, n in own.most_common(top)],
        [(f, n * share) for f, n in inclusive.most_common(top * 2)],
        path,
    )
