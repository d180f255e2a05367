"""Related-story quality on the BBC corpus: precision@4 of the buttons a reader sees.

The BBC file labels every article with one of five categories, which the importer stores as the
article's topic. The related-story index ignores topics on purpose, so the category is an
independent ground truth: a related button is "right" when its article has the same category.
The corpus goes through the real import path (``import_file``) into a fresh temporary database,
so duplicates, normalisation and the batch-wise related computation are exactly what production
does.

    .venv/bin/python -m bench.related_quality [--data ../shared/data] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import DATA, data_file, machine
from bot.services.importer import import_file
from bot.services.related import SHOWN, related_ids
from storage.db import Database

TARGET = 0.85


async def measure(source: Path, db_path: Path) -> dict[str, Any]:
    """Import ``source`` into a fresh database at ``db_path`` and score every article's buttons."""
    db = await Database.open(db_path)
    try:
        summary = await import_file(db, source)
        rows = await db.fetchall(
            "SELECT a.id, t.name FROM articles a"
            " LEFT JOIN article_topics at ON at.article_id = a.id"
            " LEFT JOIN topics t ON t.id = at.topic_id ORDER BY a.id"
        )
        category: dict[int, str | None] = {int(r[0]): r[1] for r in rows}
        started = time.perf_counter()
        buttons = right = empty = 0
        per_category: dict[str, list[int]] = {}
        histogram: Counter[int] = Counter()
        for article_id, cat in category.items():
            shown = await related_ids(db, article_id, limit=SHOWN)
            histogram[len(shown)] += 1
            hits = sum(1 for other in shown if category.get(other) == cat)
            buttons += len(shown)
            right += hits
            empty += not shown
            bucket = per_category.setdefault(cat or "?", [0, 0])
            bucket[0] += hits
            bucket[1] += len(shown)
        lookup_seconds = time.perf_counter() - started
    finally:
        await db.close()
    return {
        "articles_read": summary.read,
        "articles": len(category),
        "duplicates_skipped": summary.duplicates,
        "rejected": summary.rejected,
        "import_seconds": round(summary.seconds, 2),
        "import_rate": round(summary.rate, 1),
        "buttons": buttons,
        "precision_at_4": right / buttons if buttons else 0.0,
        "articles_without_buttons": empty,
        "mean_buttons": buttons / len(category) if category else 0.0,
        "buttons_histogram": {str(k): histogram[k] for k in sorted(histogram)},
        "precision_by_category": {
            cat: round(h / n, 3) if n else None for cat, (h, n) in sorted(per_category.items())
        },
        "lookup_ms_per_article": 1000 * lookup_seconds / max(len(category), 1),
        "target": TARGET,
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> str:
    """A plain-text table of ``result``."""
    p = result["precision_at_4"]
    verdict = "meets" if p >= TARGET else f"MISSES by {TARGET - p:.3f}"
    lines = [
        f"articles read / stored       {result['articles_read']:>8} / {result['articles']}",
        f"duplicates skipped           {result['duplicates_skipped']:>8}",
        f"rejected lines               {result['rejected']:>8}",
        f"import                       {result['import_seconds']:>8.2f} s "
        f"({result['import_rate']:.0f} articles/s)",
        f"related buttons              {result['buttons']:>8}",
        f"precision@4                  {p:>8.3f}   target ≥ {TARGET} ({verdict})",
        f"articles with 0 buttons      {result['articles_without_buttons']:>8}",
        f"mean buttons per article     {result['mean_buttons']:>8.2f}",
        f"buttons per article          {result['buttons_histogram']}",
        f"precision by category        {result['precision_by_category']}",
        f"related_ids lookup           {result['lookup_ms_per_article']:>8.3f} ms/article",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DATA, help="data folder, relative to the repo root"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    source = data_file("bbc_news.jsonl", args.data)
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        result = asyncio.run(measure(source, Path(tmp) / "related.db"))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
