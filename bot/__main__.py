"""Herald's command line.

python -m bot                  run: against Telegram when HERALD_BOT_TOKEN is set,
                               otherwise in the local sandbox
python -m bot sandbox          the local sandbox even when a token is set
python -m bot import FILE      load articles from a JSON Lines file
python -m bot migrate          apply database migrations, then exit
python -m bot copy --from A --to B   copy the whole state between databases (SQLite → PostgreSQL)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("herald")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Herald, the news bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    sandbox = commands.add_parser("sandbox", help="chat with Herald in this terminal, offline")
    sandbox.add_argument(
        "--database", type=Path, help="use this database instead of a fresh sample one"
    )
    importer = commands.add_parser("import", help="import articles from a JSON Lines file")
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--push",
        action="store_true",
        help="also send the new articles to their subscribers (default: archive only)",
    )
    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate.add_argument("--database", help="this database instead of HERALD_DATABASE")
    copy = commands.add_parser("copy", help="copy everything from one database to another")
    copy.add_argument("--from", dest="source", required=True, help="e.g. herald.db")
    copy.add_argument("--to", dest="target", required=True, help="e.g. postgresql://…")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"herald: {exc}", file=sys.stderr)
        return 2
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    command = args.command or ("run" if token else "sandbox")
    if command == "import":
        if not args.file.is_file():
            print(f"herald: no such file: {args.file}", file=sys.stderr)
            return 2
        setup_logging(settings.log_level_number, [token])
        return asyncio.run(_import(settings, args.file, args.push))
    if command in ("migrate", "copy"):
        return _database_command(args, settings, token)
    if command == "sandbox":
        from bot.sandbox.terminal import run_sandbox

        return asyncio.run(run_sandbox(settings, getattr(args, "database", None)))
    setup_logging(settings.log_level_number, [token])
    return asyncio.run(_run(settings, token))


async def _run(settings: Settings, token: str) -> int:
    from bot.app import build_application, serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = build_application(settings, token, settings.api_base_url, settings.file_url)
    try:
        await serve(app, settings, stop)
    except Exception as exc:  # start-up against Telegram failed: say why in one line
        from telegram.error import InvalidToken, NetworkError

        if isinstance(exc, InvalidToken):
            log.error("Telegram rejected HERALD_BOT_TOKEN: check it with @BotFather")
        elif isinstance(exc, NetworkError):
            log.error("cannot reach the Bot API at %s: %s", settings.api_base_url, exc)
        else:
            raise
        return 1
    return 0


def _database_command(args: argparse.Namespace, settings: Settings, token: str) -> int:
    """``migrate`` or ``copy``: database work without starting the bot."""
    from bot import admin

    setup_logging(settings.log_level_number, [token])
    if args.command == "migrate":
        target = admin.database_target(args.database) if args.database else settings.database
        return asyncio.run(admin.migrate(target))
    source, target = admin.database_target(args.source), admin.database_target(args.target)
    if isinstance(source, Path) and not source.is_file():
        print(f"herald: no such database file: {source}", file=sys.stderr)
        return 2
    return asyncio.run(admin.copy(source, target))


async def _import(settings: Settings, path: Path, push: bool) -> int:
    from bot.admin import shown
    from bot.services.importer import import_file
    from storage.db import Database

    db = await Database.open(settings.database)
    try:
        with _progress(path) as advance:
            summary = await import_file(db, path, advance, push=push)
    finally:
        await db.close()
    print(
        f"Imported {path.name} into {shown(settings.database)}: {summary.added:,} added, "
        f"{summary.duplicates:,} skipped as duplicates, {summary.rejected:,} rejected "
        f"({summary.read:,} lines read in {summary.seconds:.1f} s, {summary.rate:,.0f} articles/s)"
    )
    for problem in summary.problems:
        print(f"  rejected {problem}")
    if summary.rejected > len(summary.problems):
        print(f"  … and {summary.rejected - len(summary.problems):,} more (see the log)")
    return 0


def _progress(path: Path):  # noqa: ANN202 - a context manager yielding a callback
    """A tqdm bar on a terminal (counting lines), nothing when output is piped."""
    from contextlib import contextmanager

    from tqdm import tqdm

    @contextmanager
    def bar():  # noqa: ANN202
        with tqdm(
            total=sum(1 for _ in path.open("rb")),
            unit=" articles",
            disable=not sys.stderr.isatty(),
            desc="importing",
        ) as progress:
            yield progress.update

    return bar()


if __name__ == "__main__":
    sys.exit(main())
