"""What every handler reaches through its context: the services, without casts or globals."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from storage.db import Database

SERVICES_KEY = "herald"


@dataclass(slots=True)
class Services:
    """Built once at start-up (``bot.app.start_services``) and closed at shutdown."""

    settings: Settings
    db: Database


class HeraldContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """PTB's context with typed access to Herald's services."""

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]
