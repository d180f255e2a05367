"""Herald's own sample articles (original text written for the sandbox), loaded by import."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bot.services.importer import ImportSummary, import_file
from storage.db import Database


def sample_file() -> Path:
    return Path(str(resources.files("bot.sandbox").joinpath("sample_articles.jsonl")))


async def seed_samples(db: Database) -> ImportSummary:
    """Import the sample articles; importing them again adds nothing."""
    return await import_file(db, sample_file())
