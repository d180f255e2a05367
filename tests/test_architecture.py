"""The layers' arrows: handlers → bot → storage, and SQL/Telegram stay where they belong."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _files("storage"), ids=str)
def test_storage_knows_nothing_of_telegram_or_bot(path: Path) -> None:
    bad = {m for m in _imports(path) if m.split(".")[0] in {"telegram", "bot", "handlers"}}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _files("handlers"), ids=str)
def test_handlers_have_no_sql(path: Path) -> None:
    drivers = {"aiosqlite", "sqlite3", "psycopg", "storage"}
    bad = {m for m in _imports(path) if m.split(".")[0] in drivers}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _files("bot"), ids=str)
def test_bot_does_not_import_handlers_except_the_composition_root(path: Path) -> None:
    if path.name == "app.py" and path.parent.name == "bot":
        return
    forbidden = {"handlers", "aiosqlite", "sqlite3", "psycopg"}
    bad = {m for m in _imports(path) if m.split(".")[0] in forbidden}
    assert not bad, f"{path.name} imports {bad}"
