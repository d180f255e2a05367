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


# Rendering is one room: pure modules over one base that owns the limits and callback prefixes.
RENDERING_MAY_NOT_IMPORT = {
    "aiosqlite",
    "sqlite3",
    "asyncio",
    "aiohttp",
    "httpx",
    "handlers",
    "storage.db",
    "bot.sender",
    "telegram.ext",
}


def _calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_rendering_is_a_package_of_surfaces() -> None:
    assert not list((ROOT / "bot").glob("rendering*.py")), "rendering lives in bot/rendering/"
    surfaces = {p.stem for p in (ROOT / "bot" / "rendering").glob("*.py")}
    assert {"base", "reading", "push", "digest", "subscriptions", "settings", "editors"} <= surfaces
    assert {"inline", "feeds"} <= surfaces


@pytest.mark.parametrize("path", _files("bot/rendering"), ids=str)
def test_rendering_is_pure(path: Path) -> None:
    bad = {
        m
        for m in _imports(path)
        if any(m == banned or m.startswith(banned + ".") for banned in RENDERING_MAY_NOT_IMPORT)
    }
    assert not bad, f"{path.name} imports {bad}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    coroutines = [n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)]
    assert not coroutines, f"{path.name} awaits something: {coroutines}"


def test_callback_prefixes_are_distinct_and_defined_once() -> None:
    from bot.rendering import base

    assert len(set(base.PREFIXES)) == len(base.PREFIXES)
    for path in [*_files("bot"), *_files("handlers")]:
        if path == ROOT / "bot" / "rendering" / "base.py" or "sandbox" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assert not any(n.endswith("_PATTERN") for n in names if "LINK" not in n), (
                    f"{path.relative_to(ROOT)} defines a callback pattern outside rendering.base"
                )
        for call in _calls(path):
            for keyword in call.keywords:
                if keyword.arg == "pattern":
                    assert not isinstance(keyword.value, ast.Constant), (
                        f"{path.relative_to(ROOT)}:{call.lineno}: a literal callback pattern"
                    )
            if getattr(call.func, "id", None) == "callback" and call.args:
                assert not isinstance(call.args[0], ast.Constant), (
                    f"{path.relative_to(ROOT)}:{call.lineno}: a literal callback prefix"
                )


TELEGRAM_WORDING = (
    "message is not modified",
    "message to edit not found",
    "message to delete not found",
    "message can't be edited",
)


@pytest.mark.parametrize(
    "path", [p for p in [*_files("bot"), *_files("handlers")] if "sandbox" not in p.parts], ids=str
)
def test_telegram_outcomes_are_named_only_in_the_sender(path: Path) -> None:
    if path == ROOT / "bot" / "sender.py":
        return
    found = [s for s in _strings(path) if any(w in s.lower() for w in TELEGRAM_WORDING)]
    assert not found, f"{path.name} matches Telegram's wording itself: {found}"


@pytest.mark.parametrize("path", _files("bot/services"), ids=str)
def test_services_build_no_bot_api_payloads(path: Path) -> None:
    found = [s for s in _strings(path) if s in {"parse_mode", "reply_markup", "HTML"}]
    assert not found, f"{path.name} builds Bot API payloads; rendering does: {found}"


# Modules that may open HTTP connections: the one guarded fetch for addresses from outside
# (feeds, /post URL), and the Bot API's two clients (broadcasts; PTB's requests), whose
# address is the operator's setting.
HTTP_CLIENTS = {"bot/services/http_fetch.py", "bot/sender.py", "bot/telegram_http.py"}


@pytest.mark.parametrize("path", _files("bot") + _files("handlers"), ids=str)
def test_only_the_guarded_fetch_opens_connections_to_outside_addresses(path: Path) -> None:
    name = path.relative_to(ROOT).as_posix()
    if name in HTTP_CLIENTS or name.startswith("bot/sandbox/"):
        return
    source = path.read_text(encoding="utf-8")
    opened = [c for c in ("ClientSession(", "TCPConnector(", "AsyncClient(") if c in source]
    assert not opened, f"{name} opens HTTP connections ({opened}): use bot.services.http_fetch"
