"""Settings: environment and .env, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_and_derived_file_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HERALD_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.bot_token is None and settings.database == Path("herald.db")
    assert settings.file_url == "https://api.telegram.org/file/bot"
    monkeypatch.setenv("HERALD_API_BASE_URL", "http://127.0.0.1:8081/bot")
    assert load_settings().file_url == "http://127.0.0.1:8081/file/bot"


def test_database_is_a_file_or_a_postgresql_url(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://herald:pw@db.example.org:5432/news?sslmode=require"
    monkeypatch.setenv("HERALD_DATABASE", url)
    assert load_settings().database == url  # not folded into a path ("postgresql:/herald…")
    monkeypatch.setenv("HERALD_DATABASE", "data/herald.db")
    assert load_settings().database == Path("data/herald.db")
    monkeypatch.setenv("HERALD_DATABASE", "")
    assert load_settings().database == Path("herald.db")


def test_env_file_and_editor_ids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HERALD_EDITOR_IDS", raising=False)
    (tmp_path / ".env").write_text("HERALD_EDITOR_IDS=12, 34\nHERALD_LOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.editor_ids == {12, 34} and settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("HERALD_EDITOR_IDS", "12,abc", "HERALD_EDITOR_IDS"),
        ("HERALD_LOG_LEVEL", "loud", "HERALD_LOG_LEVEL"),
        ("HERALD_API_BASE_URL", "ftp://x", "HERALD_API_BASE_URL"),
        ("HERALD_PAGE_SIZE", "0", "HERALD_PAGE_SIZE"),
        (
            "HERALD_WEBAPP_URL",
            "http://news.example.org/app/",
            "HERALD_WEBAPP_URL: must be an https",
        ),
        ("HERALD_WEBAPP_URL", "news.example.org/app/", "HERALD_WEBAPP_URL"),
        ("HERALD_WEBAPP_SHORT_NAME", "no spaces", "HERALD_WEBAPP_SHORT_NAME"),
        ("HERALD_WEBAPP_MAX_AGE", "5", "HERALD_WEBAPP_MAX_AGE"),
        ("HERALD_HTTP_PORT", "70000", "HERALD_HTTP_PORT"),
        ("HERALD_LOG_FORMAT", "xml", "HERALD_LOG_FORMAT"),
        ("HERALD_WEBHOOK_SECRET", "has spaces", "HERALD_WEBHOOK_SECRET"),
        ("HERALD_WEBHOOK_URL", "https://news.example.org/hook", "needs HERALD_WEBHOOK_SECRET"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=words):
        load_settings()


def test_bad_value_stops_startup_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HERALD_EDITOR_IDS": "x", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "herald: Invalid setting HERALD_EDITOR_IDS: "
        "must be comma-separated numeric Telegram user ids"
    ]


def test_token_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_BOT_TOKEN", "123:SECRET")
    settings = load_settings()
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings.model_dump())


def test_mini_app_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HERALD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HERALD_WEBAPP_URL", "")  # empty means the default: no Mini App
    monkeypatch.setenv("HERALD_HTTP_PORT", "")
    settings = load_settings()
    assert settings.webapp_url is None and settings.http_port == 8080
    assert settings.http_host == "127.0.0.1" and settings.webapp_max_age == 86_400
    monkeypatch.setenv("HERALD_WEBAPP_URL", "https://news.example.org/app")
    assert load_settings().webapp_url == "https://news.example.org/app/"


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_value_means_the_default_for_every_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, blank: str
) -> None:
    monkeypatch.chdir(tmp_path)
    names = [f"HERALD_{name.upper()}" for name in Settings.model_fields]
    for name in names[: len(names) // 2]:
        monkeypatch.setenv(name, blank)
    in_file = names[len(names) // 2 :]  # the rest from .env, as .env.example leaves them
    (tmp_path / ".env").write_text("".join(f"{name}={blank}\n" for name in in_file))
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert load_settings().model_dump() == defaults


def test_token_pasted_with_spaces_is_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_BOT_TOKEN", " 123:SECRET\n")
    assert load_settings().bot_token.get_secret_value() == "123:SECRET"
