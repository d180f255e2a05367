"""Exact-title search on the BBC corpus: does a pasted headline find its own article?

Every BBC title is pasted into the search a reader's /search takes (``start_search``, a page of
``--page-size`` results) and counted as found at rank 1, found on the first page, or missed.
Titles with a hyphen inside a word ("hat-trick", "Ex-PM", "COVID-19") are reported apart: they
are the ones a query parser that reads every hyphen as "leave out" gets wrong. The corpus goes
through the real import (``import_file``) into a fresh temporary database.

    .venv/bin/python -m bench.title_search [--data ../shared/data] [--page-size 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from bench.common import DATA, data_file
from bot.services.importer import import_file
from bot.services.search import start_search
from storage.db import Database

HYPHENATED = re.compile(r"\w-\w")


async def measure(source: Path, db_path: Path, page_size: int) -> dict[str, Any]:
    """Import ``source`` and search every article's title; counts per kind of title."""
    db = await Database.open(db_path)
    try:
        await import_file(db, source)
        rows = await db.fetchall("SELECT id, title FROM articles ORDER BY id")
        counts = {kind: {"titles": 0, "first": 0, "page": 0} for kind in ("all", "hyphen")}
        missed: list[str] = []
        for article_id, title in rows:
            page = await start_search(db, chat_id=1, text=title, page_size=page_size)
            ids = [hit.id for hit in page.hits] if page else []
            kinds = ("all", "hyphen") if HYPHENATED.search(title) else ("all",)
            for kind in kinds:
                counts[kind]["titles"] += 1
                counts[kind]["first"] += ids[:1] == [article_id]
                counts[kind]["page"] += article_id in ids
            if article_id not in ids:
                missed.append(title)
        return {"page_size": page_size, **counts, "missed_on_first_page": missed}
    finally:
        await db.close()


def report(result: dict[str, Any]) -> str:
    lines = [f"Exact-title search on BBC (page of {result['page_size']})"]
    for kind, label in (("all", "every title"), ("hyphen", "titles with a hyphen in a word")):
        c = result[kind]
        lines.append(
            f"  {label:<32} {c['titles']:>5}  rank 1: {c['first']:>5}"
            f"  first page: {c['page']:>5}  missed: {c['titles'] - c['page']}"
        )
    lines += [f"    missed: {title}" for title in result["missed_on_first_page"][:30]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    source = data_file("bbc_news.jsonl", args.data)
    with tempfile.TemporaryDirectory(prefix="herald-titles-") as tmp:
        result = asyncio.run(measure(source, Path(tmp) / "bbc.db", args.page_size))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
