"""What every handler reaches through its context: the services, without casts or globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.services.delivery import DeliveryWorker
from bot.services.http_fetch import AddressGuard
from bot.services.intake import IntakeWorker
from storage.chat_settings import ChatSettings
from storage.db import Database

SERVICES_KEY = "herald"


@dataclass(slots=True)
class Services:
    """Built once at start-up (``bot.app.start_services``) and closed at shutdown."""

    settings: Settings
    db: Database
    worker: DeliveryWorker | None = None
    fetch_guard: AddressGuard = field(default_factory=AddressGuard)  # built from the settings
    intake: IntakeWorker | None = None  # webhook mode: the claim loop the webhook wakes
    # True while updates are being taken and handled (polling or webhook intake): /readyz.
    running: Callable[[], bool] = field(default=lambda: False)
    # True while this instance leads (``bot.leadership``): it alone broadcasts and polls feeds.
    leading: Callable[[], bool] = field(default=lambda: True)

    def outbox_changed(self, *, urgent: bool = False) -> None:
        """Something was queued: let the delivery worker look now rather than at its next poll.

        ``urgent`` (breaking news): it also goes ahead of what the worker already holds.
        """
        if self.worker is not None:
            self.worker.wake(urgent=urgent)

    def settings_changed(self, settings: ChatSettings) -> None:
        """A chat changed its settings: the worker delivers by them from now on."""
        if self.worker is not None:
            self.worker.settings_changed(settings)

    def article_changed(self, article_id: int) -> None:
        """An article was corrected or retracted: render it afresh, then send what was queued."""
        if self.worker is not None:
            self.worker.forget(article_id)
            self.worker.wake(urgent=True)


class HeraldContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """PTB's context with typed access to Herald's services."""

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]
