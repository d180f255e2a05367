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
    bad = {m for m in _imports(path) if m.split(".")[0] in {"aiosqlite", "sqlite3", "storage"}}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", _files("bot"), ids=str)
def test_bot_does_not_import_handlers_except_the_composition_root(path: Path) -> None:
    if path.name == "app.py" and path.parent.name == "bot":
        return
    bad = {m for m in _imports(path) if m.split(".")[0] in {"handlers", "aiosqlite", "sqlite3"}}
    assert not bad, f"{path.name} imports {bad}"


# Modules that may open HTTP connections: the one guarded fetch for addresses from outside
# (feeds, /post URL), and the Bot API sender, whose address is the operator's setting.
HTTP_CLIENTS = {"bot/services/http_fetch.py", "bot/sender.py"}


@pytest.mark.parametrize("path", _files("bot") + _files("handlers"), ids=str)
def test_only_the_guarded_fetch_opens_connections_to_outside_addresses(path: Path) -> None:
    name = path.relative_to(ROOT).as_posix()
    if name in HTTP_CLIENTS or name.startswith("bot/sandbox/"):
        return
    source = path.read_text(encoding="utf-8")
    opened = [c for c in ("ClientSession(", "TCPConnector(", "AsyncClient(") if c in source]
    assert not opened, f"{name} opens HTTP connections ({opened}): use bot.services.http_fetch"
