"""The composition root: build the PTB Application, start Herald's services, run until told."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot import rendering
from bot.config import Settings
from bot.context import SERVICES_KEY, HeraldContext, Services
from handlers import fallback, reading
from storage.db import Database

log = logging.getLogger(__name__)


def build_application(settings: Settings, token: str, base_url: str, file_url: str) -> Application:
    """The Application with every handler registered; nothing is opened yet."""
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=HeraldContext))
        .concurrent_updates(8)
        .build()
    )
    reading.register(app)
    fallback.register(app)  # last: it answers what no feature handled
    return app


async def start_services(app: Application, settings: Settings) -> Services:
    services = Services(settings=settings, db=await Database.open(settings.database))
    app.bot_data[SERVICES_KEY] = services
    return services


async def register_commands(app: Application) -> None:
    """Publish the command menu (setMyCommands) so Telegram's clients list the commands."""
    await app.bot.set_my_commands([BotCommand(name, about) for name, about in rendering.COMMANDS])


async def serve(app: Application, settings: Settings, stop: asyncio.Event) -> None:
    """Run ``app`` with long polling until ``stop`` is set, then shut down in order."""
    async with app:  # initialize() … shutdown()
        services = await start_services(app, settings)
        try:
            await register_commands(app)
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            await app.start()
            log.info("Herald is running as @%s", app.bot.username)
            await stop.wait()
            log.info("stopping")
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await services.db.close()
