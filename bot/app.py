"""The composition root: build the PTB Application, start Herald's services, run until told."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot import i18n, rendering
from bot.config import Settings
from bot.context import SERVICES_KEY, HeraldContext, Services
from bot.rate_limit import SharedRateLimiter
from bot.sender import BroadcastSender
from bot.services import search
from bot.services.budget import UserBudget
from bot.services.delivery import DeliveryWorker
from bot.services.pacing import ChatPacer, GlobalPacer
from bot.update_slots import FairUpdateProcessor
from handlers import (
    budget,
    editors,
    fallback,
    feeds,
    inline,
    language,
    membership,
    reading,
    subscriptions,
)
from handlers import settings as settings_handlers
from storage.db import Database

log = logging.getLogger(__name__)

PACERS_KEY = "herald.pacers"


def build_application(settings: Settings, token: str, base_url: str, file_url: str) -> Application:
    """The Application with every handler registered; nothing is opened yet.

    The pacers are made here because both lanes use them: readers' replies through the rate
    limiter below, broadcasts through the delivery worker that ``serve`` starts. Updates run
    in fair slots (``bot.update_slots``): one a chat at most, none held while a reply waits.
    """
    pacer = GlobalPacer(
        settings.broadcast_rate,
        total=settings.message_rate,
        floor=settings.broadcast_floor * settings.broadcast_rate,
    )
    chat_pacer = ChatPacer()
    screen = budget.make_screen(UserBudget(settings.user_burst, settings.user_rate))
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
        .rate_limiter(SharedRateLimiter(pacer, chat_pacer))
        .concurrent_updates(FairUpdateProcessor(settings.update_slots, screen=screen))
        .build()
    )
    app.bot_data[PACERS_KEY] = (pacer, chat_pacer)
    budget.register(app)  # group -2: over a user's budget, nothing else runs
    language.register(app)  # group -1: every update's language, before any feature runs
    inline.register(app)  # before reading: its /start a_<id> goes ahead of the plain /start
    reading.register(app)
    subscriptions.register(app)
    settings_handlers.register(app)
    membership.register(app)
    editor_filter = editors.register(app, settings.editor_ids)
    feeds.register(app, editor_filter)
    fallback.register(app)  # last: it answers what no feature handled
    return app


async def start_services(app: Application, settings: Settings) -> Services:
    services = Services(settings=settings, db=await Database.open(settings.database))
    app.bot_data[SERVICES_KEY] = services
    await editors.load_editors(app)
    return services


async def _housekeeping(context: HeraldContext) -> None:
    """Hourly: forget saved searches older than a week (their page buttons then expire)."""
    removed = await search.forget_old_searches(context.services.db)
    if removed:
        log.info("forgot %d old searches", removed)


async def register_commands(app: Application) -> None:
    """Publish the command menu (setMyCommands) so Telegram's clients list the commands.

    The default menu is English; each other language gets its own, which Telegram shows to
    users whose app is set to that language.
    """
    for lang in i18n.LANGUAGES:
        with i18n.use(lang):
            commands = [BotCommand(name, i18n._(about)) for name, about in rendering.COMMANDS]
        code = None if lang == i18n.DEFAULT else lang
        await app.bot.set_my_commands(commands, language_code=code)


async def serve(app: Application, settings: Settings, stop: asyncio.Event) -> None:
    """Run ``app`` with long polling and the delivery worker until ``stop`` is set."""
    async with app:  # initialize() … shutdown()
        services = await start_services(app, settings)
        sender = BroadcastSender(
            app.bot.base_url,
            timeout=settings.send_timeout,
            connections=settings.send_concurrency,
        )
        await sender.start()
        services.worker = DeliveryWorker(services.db, sender, settings, *app.bot_data[PACERS_KEY])
        worker = asyncio.create_task(services.worker.run(stop), name="delivery")
        polling = asyncio.create_task(feeds.run_poller(app, services, stop), name="feeds")
        try:
            await register_commands(app)
            app.job_queue.run_repeating(_housekeeping, interval=3600, first=60)
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            await app.start()
            log.info("Herald is running as @%s", app.bot.username)
            await _until_stopped(stop, worker)
            log.info("stopping")
        finally:
            stop.set()
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await worker
            await polling
            await sender.close()
            await services.db.close()


async def _until_stopped(stop: asyncio.Event, worker: asyncio.Task[None]) -> None:
    """Wait for the stop signal; a crashed delivery worker stops Herald rather than hide."""
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopping, worker}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if worker in done and worker.exception() is not None:
        raise worker.exception()
