"""Herald's configuration: one pydantic-settings ``Settings`` from the environment and ``.env``.

Every setting has the ``HERALD_`` prefix and is documented in ``.env.example``. ``Settings`` is
built once in ``bot.__main__`` and passed down; nothing reads the environment anywhere else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
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
        env_ignore_empty=True,  # HERALD_X= (empty) means the default
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
    database: Path = Field(default=Path("herald.db"), description="SQLite database file.")
    editor_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(),
        description="Comma-separated Telegram user ids of the editors (owners).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
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

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
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
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HERALD_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"Invalid setting {name}: {message}") from None
