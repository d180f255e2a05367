"""A bare python-telegram-bot 22 bot with fixed replies: the yardstick for Herald's speed.

    python -m bench.readers.bare_bot --base-url URL --token T [--concurrency 8] [--aiohttp]

It makes the same Bot API calls as Herald for each kind of update and nothing else: /search
and /latest get one message with a keyboard like Herald's (five article buttons and "next"),
a tap gets ``answerCallbackQuery`` then an edit of the tapped message, an inline query gets
five article results. Same ``Defaults`` (HTML, no link previews) and the same number of
concurrent updates as Herald's ``build_application``, so the difference is Herald's own work
(database, rendering, middleware), not PTB's settings. PTB's own HTTP transport (httpx) is
the yardstick; ``--aiohttp`` gives the bare bot Herald's (``bot.telegram_http``), to see
Herald's own work apart from the transport's.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
)

TITLES = [f"Fixed headline number {n} about the economy and the markets" for n in range(1, 6)]
_edits = itertools.count()  # each edit differs from the last: no "message is not modified"


def page(label: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"<b>{label}</b>"] + [f"{n}. {t} · <i>BBC</i>" for n, t in enumerate(TITLES, 1)]
    buttons = [[InlineKeyboardButton(str(n), callback_data=f"o:{n}:l:0:0")] for n in range(1, 6)]
    buttons.append([InlineKeyboardButton("Next ›", callback_data="n:l:0:1")])
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = page("Latest news")
    await update.effective_message.reply_text(text, reply_markup=markup)


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = page(f"Results for {' '.join(context.args or [])}")
    await update.effective_message.reply_text(text, reply_markup=markup)


async def tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    text, markup = page(f"Page {next(_edits)}")
    await query.edit_message_text(text, reply_markup=markup)


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    results = [
        InlineQueryResultArticle(
            id=str(n),
            title=title,
            input_message_content=InputTextMessageContent(f"<b>{title}</b>"),
            description="A fixed summary of a fixed article.",
        )
        for n, title in enumerate(TITLES, 1)
    ]
    await update.inline_query.answer(results, cache_time=0)


async def announce(app: Application) -> None:
    """setMyCommands, as Herald does at start-up: the driver's signal that polling begins."""
    await app.bot.set_my_commands([BotCommand("latest", "Latest"), BotCommand("search", "Find")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readers.bare_bot")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent updates")
    parser.add_argument("--aiohttp", action="store_true", help="Herald's transport, not httpx")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    builder = ApplicationBuilder()
    if args.aiohttp:
        from bot.telegram_http import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    app = (
        builder.token(args.token)
        .base_url(args.base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(args.concurrency)
        .post_init(announce)
        .build()
    )
    app.add_handler(CommandHandler("latest", latest))
    app.add_handler(CommandHandler("search", search))
    app.add_handler(CallbackQueryHandler(tap))
    app.add_handler(InlineQueryHandler(inline))
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
