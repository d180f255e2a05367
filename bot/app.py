"""The composition root: build the PTB Application, start Herald's services, run until told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import BotCommand, LinkPreviewOptions, MenuButtonWebApp, Update, WebAppInfo
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot import i18n
from bot.config import Settings
from bot.context import SERVICES_KEY, HeraldContext, Services
from bot.leadership import Leadership
from bot.observe import ObservedApplication
from bot.rate_limit import SharedRateLimiter
from bot.rendering.reading import COMMANDS
from bot.sender import BroadcastSender
from bot.services import search
from bot.services.budget import UserBudget
from bot.services.delivery import DeliveryWorker
from bot.services.fleet_budget import FleetBudget
from bot.services.http_fetch import AddressGuard
from bot.services.intake import IntakeWorker
from bot.services.pacing import ChatPacer, GlobalPacer
from bot.telegram_http import AiohttpRequest
from bot.update_slots import FairUpdateProcessor
from bot.web import strings as web_strings
from bot.web.context import direct_link
from bot.web.server import WebServer
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
FLEET_KEY = "herald.fleet"  # the flood budget shared with other instances (PostgreSQL)
REGISTER_RETRY = 5.0  # seconds between a new leader's tries to reach the Bot API
EDITORS_REFRESH = 10.0  # seconds between looks at the editors' roster (other instances)
WEB_KEY = "herald.web"  # the running WebServer (its address, for the sandbox and tests)


def build_application(settings: Settings, token: str, base_url: str, file_url: str) -> Application:
    """The Application with every handler registered; nothing is opened yet.

    The pacers are made here because both lanes use them: readers' replies through the rate
    limiter below, broadcasts through the delivery worker that ``serve`` starts. Updates run
    in fair slots (``bot.update_slots``): one a chat at most, none held while a reply waits.
    PTB's requests go over aiohttp (``bot.telegram_http``), cheaper per reply than httpx.
    """
    pacer = GlobalPacer(
        settings.broadcast_rate,
        total=settings.message_rate,
        floor=settings.broadcast_floor * settings.broadcast_rate,
    )
    chat_pacer = ChatPacer()
    fleet = FleetBudget(settings.message_rate)
    screen = budget.make_screen(UserBudget(settings.user_burst, settings.user_rate))
    app = (
        ApplicationBuilder()
        .application_class(ObservedApplication)
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url)
        .request(AiohttpRequest())  # PTB's calls over aiohttp, not httpx: see bot.telegram_http
        .get_updates_request(AiohttpRequest(1))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=HeraldContext))
        .rate_limiter(SharedRateLimiter(pacer, chat_pacer, fleet))
        .concurrent_updates(FairUpdateProcessor(settings.update_slots, screen=screen))
        .build()
    )
    app.bot_data[PACERS_KEY] = (pacer, chat_pacer)
    app.bot_data[FLEET_KEY] = fleet
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
    services = Services(
        settings=settings,
        db=await Database.open(settings.database),
        fetch_guard=AddressGuard(allow_private=settings.fetch_allow_private),
    )
    app.bot_data[SERVICES_KEY] = services
    await editors.load_editors(app)
    return services


async def _housekeeping(context: HeraldContext) -> None:
    """Hourly, on the leader: forget saved searches older than a week (their page buttons
    then expire)."""
    if not context.services.leading():
        return
    removed = await search.forget_old_searches(context.services.db)
    if removed:
        log.info("forgot %d old searches", removed)


async def _follow_editors(context: HeraldContext) -> None:
    """Editors added or removed on another instance are let in or out here too."""
    await editors.follow_roster(context.application)


async def register_commands(app: Application) -> None:
    """Publish the command menu (setMyCommands) so Telegram's clients list the commands.

    The default menu is English; each other language gets its own, which Telegram shows to
    users whose app is set to that language.
    """
    for lang in i18n.LANGUAGES:
        with i18n.use(lang):
            commands = [BotCommand(name, i18n._(about)) for name, about in COMMANDS]
        code = None if lang == i18n.DEFAULT else lang
        await app.bot.set_my_commands(commands, language_code=code)


async def set_menu_button(app: Application, settings: Settings) -> None:
    """With a Mini App address, the chat menu button opens it (all private chats)."""
    if settings.webapp_url:
        await app.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(
                i18n._(web_strings.MENU_BUTTON), WebAppInfo(settings.webapp_url)
            )
        )


async def serve(app: Application, settings: Settings, stop: asyncio.Event) -> None:
    """Run ``app`` until ``stop`` is set: take updates, and lead when elected (``lead``).

    Every instance serves HTTP (webhook intake, Mini App, health) and handles updates; the
    leader alone sends broadcasts, polls feeds and talks to Telegram about the bot itself
    (``bot.leadership``). With SQLite there is one instance, and it leads.
    """
    async with app:  # initialize() … shutdown()
        services = await start_services(app, settings)
        app.bot_data[FLEET_KEY].attach(services.db)
        sender = BroadcastSender(
            app.bot.base_url,
            timeout=settings.send_timeout,
            connections=settings.send_concurrency,
        )
        await sender.start()
        web = app.bot_data[WEB_KEY] = WebServer(services, app.bot.token, app.bot.username)
        leadership = Leadership(services.db, partial(lead, app, services, sender))
        services.leading = lambda: leadership.leading
        # Updates stop first at SIGTERM: intake finishes or hands back before the rest stops.
        taking = asyncio.Event()
        intake: asyncio.Task[None] | None = None
        leading: asyncio.Task[None] | None = None
        try:
            await web.start()
            if settings.webhook_url:
                intake = _start_intake(app, services, settings, taking)
            app.job_queue.run_repeating(_housekeeping, interval=3600, first=60)
            app.job_queue.run_repeating(_follow_editors, interval=EDITORS_REFRESH, first=5)
            await app.start()
            leading = asyncio.create_task(leadership.run(stop), name="leadership")
            services.running = lambda: (
                app.running
                and (
                    bool(services.intake and services.intake.running)
                    if settings.webhook_url
                    else app.updater.running or not leadership.leading
                )
            )
            log.info("Herald is running as @%s", app.bot.username)
            await _until_stopped(stop, leading)
            log.info("stopping")
        finally:
            taking.set()
            if intake is not None:
                await intake
            stop.set()
            if leading is not None:
                await asyncio.gather(leading, return_exceptions=True)
            if app.running:
                await app.stop()
            await sender.close()
            await web.stop()
            await services.db.close()


async def lead(
    app: Application, services: Services, sender: BroadcastSender, deposed: asyncio.Event
) -> None:
    """What the leader runs until ``deposed``: delivery, feeds, and the bot's registration
    with Telegram (commands, menu button, and the webhook or long polling)."""
    settings = services.settings
    worker = DeliveryWorker(
        services.db, sender, settings, *app.bot_data[PACERS_KEY], fleet=app.bot_data[FLEET_KEY]
    )
    worker.app_link = partial(direct_link, app.bot.username, settings.webapp_short_name)
    services.worker = worker
    tasks = [
        asyncio.create_task(worker.run(deposed), name="delivery"),
        asyncio.create_task(feeds.run_poller(app, services, deposed), name="feeds"),
    ]
    try:
        await _until_done(deposed, partial(register_commands, app), "publish the commands")
        await _until_done(deposed, partial(set_menu_button, app, settings), "set the menu button")
        await _until_done(deposed, partial(_take_updates, app, settings), "take updates")
        await _until_stopped(deposed, tasks[0])
    finally:
        deposed.set()
        if app.updater.running:
            await app.updater.stop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        services.worker = None
    for result in results:
        if isinstance(result, Exception):
            raise result


def _start_intake(
    app: Application, services: Services, settings: Settings, stop: asyncio.Event
) -> asyncio.Task[None]:
    """Webhook mode: every instance runs the intake claim loop (the leader tells Telegram)."""

    async def process(payload: dict) -> None:
        await app.process_update(Update.de_json(payload, app.bot))

    services.intake = IntakeWorker(services.db, process, lease=settings.intake_lease)
    return asyncio.create_task(services.intake.run(stop), name="intake")


async def _take_updates(app: Application, settings: Settings) -> None:
    """Tell Telegram where updates go (webhook), or start long polling."""
    if not settings.webhook_url:
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, error_callback=_polling_failed
        )
        return
    assert settings.webhook_secret is not None
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=Update.ALL_TYPES,
    )
    log.info("taking updates by webhook at %s", settings.webhook_url)


async def _until_done(
    deposed: asyncio.Event, step: Callable[[], Awaitable[None]], what: str
) -> None:
    """Run ``step`` until it succeeds or leadership ends. A new leader may be elected while
    the Bot API is unreachable: it retries (one line each time) instead of giving up the
    broadcasts it already runs. Errors that retrying cannot fix (a bad token) are raised."""
    while not deposed.is_set():
        try:
            await step()
            return
        except NetworkError as exc:  # TimedOut included
            log.warning("could not %s (%s); retrying in %.0f s", what, exc, REGISTER_RETRY)
        try:
            await asyncio.wait_for(deposed.wait(), REGISTER_RETRY)
        except TimeoutError:
            pass


def _polling_failed(exc: TelegramError) -> None:
    """One line per failed poll (PTB's default logs a traceback each time); PTB retries."""
    log.warning("polling for updates failed, retrying: %s", exc)


async def _until_stopped(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Wait for the stop signal; a crashed task (the delivery worker, leadership) stops Herald
    rather than hide."""
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopping, task}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task in done and task.exception() is not None:
        raise task.exception()
