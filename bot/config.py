"""Herald's configuration: one pydantic-settings ``Settings`` from the environment and ``.env``.

Every setting has the ``HERALD_`` prefix and is documented in ``.env.example``. ``Settings`` is
built once in ``bot.__main__`` and passed down; nothing reads the environment anywhere else.
An empty (or blank) value means the setting's default, whatever its type: ``.env.example`` leaves
settings empty to mean exactly that, so ``HERALD_PAGE_SIZE=`` must not be an error.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """What an operator can set. Secrets are ``SecretStr`` so they never print by accident."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,  # an empty value means the default
    )

    bot_token: SecretStr | None = Field(
        default=None,
        description="Bot token from @BotFather. Unset: run the local sandbox instead of Telegram.",
    )
    api_base_url: str = Field(
        default=TELEGRAM_API_BASE_URL,
        description="Bot API base URL as python-telegram-bot's base_url takes it (token appended).",
    )
    api_file_url: str | None = Field(
        default=None,
        description="Bot API file URL; derived from api_base_url when unset.",
    )
    database: Path | str = Field(
        default=Path("herald.db"),
        description="SQLite database file, or a postgresql:// URL (PostgreSQL).",
    )
    editor_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(),
        description="Comma-separated Telegram user ids of the editors (owners).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line a record; json: one JSON object a line (time, "
        "level, logger, message, update_id and chat_id) for log collectors.",
    )
    page_size: int = Field(default=5, ge=1, le=10, description="Articles per /latest page.")
    broadcast_rate: float = Field(
        default=25.0,
        gt=0,
        le=1000,
        description="Pushed messages a second, all chats together, within HERALD_MESSAGE_RATE; "
        "readers' replies go first within the rest (see HERALD_BROADCAST_FLOOR).",
    )
    message_rate: float = Field(
        default=30.0,
        ge=1,
        le=1000,
        description="Messages a second, all chats together, replies and pushes counted alike: "
        "Telegram's limit (about 30; 1000 with paid broadcasts). With no broadcast going, "
        "readers' replies may use all of it.",
    )
    broadcast_floor: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Share of HERALD_BROADCAST_RATE a running broadcast keeps while readers' "
        "replies are busy (they go first within the rest).",
    )
    user_burst: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Commands, button taps and inline queries one user may send at once.",
    )
    user_rate: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Commands, taps and inline queries a second one user may keep sending; "
        "beyond HERALD_USER_BURST the excess gets one 'slow down' and is then dropped.",
    )
    update_slots: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Updates handled at once (at most one a chat).",
    )
    send_concurrency: int = Field(
        default=100, ge=1, le=1000, description="Broadcast requests in flight at once."
    )
    send_timeout: float = Field(
        default=15.0, gt=0, le=300, description="Seconds before a send's outcome is unknown."
    )
    feed_interval: int = Field(
        default=900, ge=60, le=86_400, description="Seconds between two polls of one feed."
    )
    feed_timeout: float = Field(
        default=20.0, gt=0, le=300, description="Seconds for one feed fetch, body included."
    )
    feed_max_bytes: int = Field(
        default=5_000_000,
        ge=10_000,
        le=100_000_000,
        description="Largest feed body accepted, after decompression.",
    )
    feed_concurrency: int = Field(
        default=20, ge=1, le=200, description="Feeds fetched at the same time."
    )
    feed_max_items: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="New items taken from one feed in one poll; the rest wait for later polls.",
    )
    feed_max_pushes: int = Field(
        default=20,
        ge=0,
        le=10_000,
        description="Items of one feed pushed to subscribers in an hour; more are stored only.",
    )
    fetch_allow_private: bool = Field(
        default=False,
        description="Fetch feeds and /post pages from loopback, private, link-local and other "
        "internal addresses (the sandbox, tests, a newsroom's intranet).",
    )
    page_timeout: float = Field(
        default=15.0, gt=0, le=120, description="Seconds to fetch a page for /post URL."
    )
    page_max_bytes: int = Field(
        default=3_000_000,
        ge=10_000,
        le=50_000_000,
        description="Largest web page /post URL reads, after decompression.",
    )
    retract_deletes: bool = Field(
        default=False,
        description="Retracting an article deletes its delivered copies instead of replacing "
        "them with a short notice.",
    )
    resend_unknown: bool = Field(
        default=False,
        description="Resend a push whose send timed out (at-least-once) instead of giving up "
        "(at-most-once: a timed-out send may already have arrived).",
    )

    http_host: str = Field(
        default="127.0.0.1",
        description="Address Herald's HTTP server (Mini App, its API) listens on.",
    )
    http_port: int = Field(
        default=8080, ge=0, le=65_535, description="Port of Herald's HTTP server (0: any free)."
    )
    webapp_url: str | None = Field(
        default=None,
        description="Public HTTPS address of the Mini App (where /app/ is reachable). Unset: "
        "no Open Herald buttons and no menu button.",
    )
    webapp_max_age: int = Field(
        default=86_400,
        ge=60,
        le=30 * 86_400,
        description="Seconds a Mini App's signed initData stays valid.",
    )
    webapp_short_name: str | None = Field(
        default=None,
        description="The Mini App's short name in @BotFather (/newapp): pushed headlines in "
        "groups and channels then link to t.me/<bot>/<name>?startapp=<article>.",
    )

    webhook_url: str | None = Field(
        default=None,
        description="Public HTTPS address Telegram POSTs updates to (it must reach "
        "/telegram/webhook on Herald's HTTP server). Unset: long polling.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token with every update "
        "(1-256 of A-Z a-z 0-9 _ -). Required with HERALD_WEBHOOK_URL.",
    )
    webhook_max_bytes: int = Field(
        default=1_000_000,
        ge=10_000,
        le=50_000_000,
        description="Largest update body the webhook accepts.",
    )
    intake_lease: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="Seconds an instance may hold a claimed webhook update before another "
        "instance may take it over.",
    )

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("must be 1-256 letters, digits, _ or - (Telegram's rule)")
        return value

    @field_validator("webapp_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        """Telegram opens Mini Apps over HTTPS only; the sandbox and tests bypass this check
        on purpose (``model_copy``) to serve the app on 127.0.0.1."""
        if value is None:
            return None
        if not value.startswith("https://") or len(value) <= len("https://"):
            raise ValueError("must be an https:// address (Telegram opens Mini Apps over HTTPS)")
        return value if value.endswith("/") else value + "/"

    @field_validator("webapp_short_name")
    @classmethod
    def _short_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_]{3,30}", value):
            raise ValueError("must be 3-30 letters, digits or underscores, as in @BotFather")
        return value


    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, values: object) -> object:
        """Drop blank values so every setting, numbers and flags included, takes its default."""
        if isinstance(values, dict):
            return {
                name: value
                for name, value in values.items()
                if not (isinstance(value, str) and not value.strip())
            }
        return values

    @field_validator("api_base_url", "api_file_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("bot_token", mode="before")
    @classmethod
    def _strip_token(cls, value: object) -> object:
        """A token pasted with a space or newline around it is still the token."""
        return value.strip() if isinstance(value, str) else value
    @field_validator("database", mode="before")
    @classmethod
    def _file_or_url(cls, value: object) -> object:
        """A ``postgresql://`` URL stays text (a path would fold its ``//``); else a path."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith(("postgresql://", "postgres://")):
                return value
            return Path(value or "herald.db")
        return value

    @field_validator("editor_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            try:
                return frozenset(int(part) for part in parts)
            except ValueError:
                raise ValueError("must be comma-separated numeric Telegram user ids") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("HERALD_WEBHOOK_URL needs HERALD_WEBHOOK_SECRET")
        return self

    @property
    def file_url(self) -> str:
        """The Bot API file URL: explicit, or Telegram's convention derived from the base URL."""
        if self.api_file_url:
            return self.api_file_url
        base = self.api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}" if tail == "bot" else f"{base}/file/bot"

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


class ConfigError(Exception):
    """A setting is invalid; the message is one line naming the setting."""


def load_settings(**overrides: object) -> Settings:
    """Build ``Settings`` or raise ``ConfigError`` with one human line (no traceback for users)."""
    try:
        return Settings(**overrides)
    except (OSError, UnicodeDecodeError) as exc:  # .env cannot be read, or is not UTF-8
        raise ConfigError(f"Cannot read the settings file .env: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:  # a rule across settings: its message names them
            raise ConfigError(f"Invalid settings: {message}") from None
        name = "HERALD_" + str(first["loc"][0]).upper()
        raise ConfigError(f"Invalid setting {name}: {message}") from None


def unknown_settings(env_file: Path = Path(".env")) -> list[str]:
    """One line for each ``HERALD_*`` name in the environment or ``.env`` that is no setting.

    pydantic-settings ignores such names, so a typo (``HERALD_BOT_TOKN``) would silently leave
    the default in place: Herald says so, with the closest real name. ``HERALD_TEST_*`` names
    belong to Herald's test suite (which backends and browsers it requires), not to the bot.
    """
    known = [f"HERALD_{name.upper()}" for name in Settings.model_fields]
    names = {
        name
        for name in os.environ
        if name.upper().startswith("HERALD_") and not name.upper().startswith("HERALD_TEST_")
    }
    names |= _env_file_names(env_file)
    lines = []
    for name in sorted(names):
        if name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"unknown setting {name} is ignored{hint}")
    return lines


def _env_file_names(env_file: Path) -> set[str]:
    """The ``HERALD_*`` names ``env_file`` assigns (none if it cannot be read: load_settings
    reports that)."""
    try:
        text = env_file.read_text(encoding="utf-8", errors="replace") if env_file.is_file() else ""
    except OSError:
        return set()
    names = set()
    for line in text.splitlines():
        name = line.split("=", 1)[0].strip().removeprefix("export ").strip()
        if "=" in line and name.upper().startswith("HERALD_"):
            names.add(name)
    return names
