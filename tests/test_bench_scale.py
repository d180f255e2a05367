"""The scale benchmark's fast fill still runs against today's storage API (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.scale import fill_without_related
from storage.articles import count_articles
from storage.db import Database


async def test_fill_without_related_stores_every_article(db: Database, tmp_path: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    lines = [
        json.dumps({"title": f"Story {i}", "body": f"Body of story {i}.", "category": "news"})
        for i in range(1200)  # more than one batch
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = await fill_without_related(db, source, budget_s=0)
    assert result["added"] == 1200 and result["read"] == 1200
    assert await count_articles(db) == 1200
