"""python -m bot import: both shapes of ../shared/data, bad lines, re-imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services import importer
from bot.services.importer import import_file
from bot.services.reading import open_article
from storage.articles import count_articles
from storage.db import Database
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


async def test_both_shapes_and_herald_fields(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mixed.jsonl",
        {
            "id": "business-001",
            "category": "business",
            "title": "Ad sales boost profit",
            "body": "Quarterly profits jumped.\n\nMore detail.",
        },
        {
            "link": "https://www.huffpost.com/entry/x",
            "headline": "Boosters rolled out",
            "category": "U.S. NEWS",
            "short_description": "Millions got shots.",
            "authors": "Carla K. Johnson, AP",
            "date": "2022-09-23",
        },
        {
            "title": "Own shape",
            "summary": "S",
            "body": "B",
            "topics": ["tech", "science"],
            "authors": ["A B", "C D"],
            "published_at": "2026-11-01T10:00:00Z",
            "url": "https://example.com/own",
            "image_url": "https://example.com/i.jpg",
        },
    )
    summary = await import_file(db, path)
    assert (summary.added, summary.duplicates, summary.rejected) == (3, 0, 0)
    huff = (await open_article(db, 2)).article
    assert huff.title == "Boosters rolled out" and huff.summary == "Millions got shots."
    assert huff.authors == ("Carla K. Johnson", "AP") and huff.topics == ("u.s. news",)
    assert huff.source == "www.huffpost.com" and huff.published_at == 1663891200
    own = (await open_article(db, 3)).article
    assert own.topics == ("science", "tech") and own.authors == ("A B", "C D")
    assert (await open_article(db, 1)).article.source == "mixed"


async def test_bad_lines_are_reported_and_skipped(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.jsonl",
        {"title": "Good one", "body": "x"},
        "{not json",
        {"body": "no title"},
        '["a list"]',
        {"title": "Bad date", "date": "yesterday-ish"},
        {"title": "Bad link", "url": "javascript:alert(1)"},
        "",
        {"title": "Good two", "body": "y"},
    )
    summary = await import_file(db, path)
    assert (summary.added, summary.rejected) == (2, 5)
    assert [p.split(":")[0] for p in summary.problems] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]
    assert "needs a title" in summary.problems[1]


async def test_progress_counts_every_line_so_the_bar_ends_full(
    db: Database, tmp_path: Path
) -> None:
    path = _write(tmp_path / "p.jsonl", {"title": "Only good one"}, "", "{bad", "{bad too")
    steps: list[int] = []
    summary = await import_file(db, path, steps.append)
    assert (summary.added, summary.rejected) == (1, 2)
    assert sum(steps) == summary.read == 3  # the rejected lines at the end included


async def test_reimport_adds_nothing(db: Database, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.jsonl", *[{"id": i, "title": f"T{i}", "body": "b"} for i in range(5)]
    )
    assert (await import_file(db, path)).added == 5
    again = await import_file(db, path)
    assert (again.added, again.duplicates) == (0, 5)
    assert await count_articles(db) == 5


def test_cli_imports_bbc_and_counts_duplicates(tmp_path: Path) -> None:
    bbc = shared_file("bbc_news.jsonl")
    env = {**os.environ, "HERALD_DATABASE": str(tmp_path / "bbc.db"), "HERALD_LOG_LEVEL": "WARNING"}
    env.pop("HERALD_BOT_TOKEN", None)

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "import", str(bbc)],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    first = run()
    assert "2,124 added, 101 skipped as duplicates, 0 rejected" in first
    second = run()
    assert "0 added, 2,225 skipped as duplicates" in second


def test_cli_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", "nope.jsonl"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip() == "herald: no such file: nope.jsonl"


async def test_a_large_file_decoded_in_a_worker_process_imports_the_same(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker process (files of 20 MB and more) changes nothing a user sees: the same
    articles, rejections, progress and related stories as decoding in this process."""
    lines: list[object] = []
    with shared_file("bbc_news.jsonl").open(encoding="utf-8") as bbc:
        lines += [line.rstrip("\n") for _, line in zip(range(300), bbc, strict=False)]
    lines[7:7] = ["{bad", {"body": "no title"}, ""]
    lines.append(lines[0])  # a duplicate
    path = _write(tmp_path / "big.jsonl", *lines)
    monkeypatch.setattr(importer, "BATCH", 40)

    async def imported(target: Database, threshold: int) -> tuple[object, ...]:
        monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", threshold)
        steps: list[int] = []
        summary = await import_file(target, path, steps.append)
        related = await target.fetchall(
            "SELECT article_id, related_id FROM related ORDER BY article_id, related_id"
        )
        titles = await target.fetchall("SELECT id, title, url FROM articles ORDER BY id")
        return (
            (summary.read, summary.added, summary.duplicates, summary.rejected),
            summary.problems,
            sum(steps),
            [tuple(r) for r in related],
            [tuple(r) for r in titles],
        )

    in_worker = await imported(db, 0)
    inline_db = await Database.open(tmp_path / "inline.db")
    try:
        inline = await imported(inline_db, 1 << 40)
    finally:
        await inline_db.close()
    assert in_worker == inline
    (read, added, duplicates, rejected), _, progressed, _, _ = in_worker
    assert (read, rejected, progressed) == (303, 2, 303) and duplicates >= 1 and added > 250
    assert len(in_worker[3]) > 500
