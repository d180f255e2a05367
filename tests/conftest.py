"""Fixtures: a real migrated SQLite file in a temp dir, the fake Bot API, a running Herald."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.fake_api import FakeBotAPI
from storage.db import Database
from tests.factories import EDITOR, Herald, run_herald, settings_for

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "herald.db")
    yield database
    await database.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def herald(tmp_path: Path, api: FakeBotAPI, db: Database) -> AsyncIterator[Herald]:
    """Herald running against ``api`` and sharing ``db``'s file (seed it through ``db``)."""
    settings = settings_for(db.path, api, editor_ids=frozenset({EDITOR}))
    stop = asyncio.Event()
    task, app = await run_herald(settings, api, stop)
    yield Herald(api, settings, app)
    stop.set()
    await asyncio.wait_for(task, timeout=15)


def shared_file(name: str) -> Path:
    """A file from ../shared/data, or a clear skip where this clone has none (CI always has)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not here: ../shared/data ships with CI, not with a clone")
    return path


@pytest.fixture
async def guarded_herald(tmp_path: Path, api: FakeBotAPI, db: Database) -> AsyncIterator[Herald]:
    """Herald as shipped: the fetch guard refuses internal addresses (the tests' servers)."""
    settings = settings_for(db.path, api, editor_ids=frozenset({EDITOR}), fetch_allow_private=False)
    stop = asyncio.Event()
    task, app = await run_herald(settings, api, stop)
    yield Herald(api, settings, app)
    stop.set()
    await asyncio.wait_for(task, timeout=15)
