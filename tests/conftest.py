"""Fixtures: a real migrated database (a SQLite file in a temp dir, or a fresh PostgreSQL
schema), the fake Bot API, a running Herald.

A test module that sets ``BACKENDS = ("sqlite", "postgresql")`` runs each of its tests that use
``db`` (or ``herald``) on both backends; the others run on SQLite only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import telegram

from bot.sandbox.fake_api import FakeBotAPI
from storage.db import Database
from tests import postgres
from tests.factories import EDITOR, Herald, herald_running, settings_for

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """No PostgreSQL here (and CI's HERALD_TEST_REQUIRE_POSTGRES unset): leave its tests out
    and say so in one line. Under CI they run, and fail, so nothing is hidden there."""
    needing = [item for item in items if postgres.uses_postgres(item)]
    if not needing or postgres.REQUIRED:
        return
    reason = postgres.unreachable()
    if reason is None:
        return
    config.hook.pytest_deselected(items=needing)
    items[:] = [item for item in items if not postgres.uses_postgres(item)]
    config.stash[_PG_SKIPPED] = f"{len(needing)} PostgreSQL tests skipped: {reason}"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if _PG_SKIPPED in config.stash:
        terminalreporter.write_line(config.stash[_PG_SKIPPED], yellow=True, bold=True)


_PG_SKIPPED = pytest.StashKey[str]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    backends = getattr(metafunc.module, "BACKENDS", ("sqlite",))
    if "backend" in metafunc.fixturenames and len(backends) > 1:
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test's ``db`` is: "sqlite" unless the module asks for both."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for this run (skipped, or failed under CI, when unreachable)."""
    yield from postgres.server_database()


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL to an empty schema of its own, dropped after the test."""
    schema, url = postgres.create_schema(pg_database)
    yield url
    postgres.drop_schema(pg_database, schema)


@pytest.fixture
async def db(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    if backend == "postgresql":
        target: Path | str = request.getfixturevalue("pg_url")
    else:
        target = tmp_path / "herald.db"
    database = await Database.open(target)
    yield database
    await database.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:
    """A plain PTB client of ``api`` (file URL too: a download must reach the fake)."""
    async with telegram.Bot(
        api.token, base_url=api.base_url, base_file_url=api.base_file_url
    ) as client:
        yield client


@pytest.fixture
async def herald(tmp_path: Path, api: FakeBotAPI, db: Database) -> AsyncIterator[Herald]:
    """Herald running against ``api`` and sharing ``db``'s file (seed it through ``db``)."""
    settings = settings_for(db.path, api, editor_ids=frozenset({EDITOR}))
    async with herald_running(settings, api) as herald:
        yield herald


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
    async with herald_running(settings, api) as herald:
        yield herald
