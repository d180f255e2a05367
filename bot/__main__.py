"""Herald's command line (``python -m bot``; ``scripts/run`` passes its arguments here).

python -m bot                  run: against Telegram when HERALD_BOT_TOKEN is set,
                               otherwise in the local sandbox
python -m bot run              against Telegram (a token is required)
python -m bot sandbox          the local sandbox even when a token is set
python -m bot import FILE      load articles from a JSON Lines file
python -m bot migrate          apply database migrations, then exit
python -m bot copy --from A --to B   copy the whole state between databases (SQLite → PostgreSQL)

A mistake the user can fix (a bad setting, a database path that cannot be used, no token, no
such file) ends with one line on stderr and exit code 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import textwrap
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings, unknown_settings
from bot.logs import install_loop_handler, setup_logging
from storage.db import BusyError, DatabaseUnavailable, check_database_path

log = logging.getLogger("herald")

USAGE_ERROR = 2
INTERRUPTED = 130  # what a shell reports for Ctrl-C
HELP_WIDTH = 88
SETTINGS_HELP = """\
Settings come from HERALD_* environment variables or from a .env file in the working
directory (.env.example lists every one; an empty value means the default). The database is
HERALD_DATABASE (default: herald.db in the working directory); its folder must exist.
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="herald" if Path(sys.argv[0]).name == "herald" else "python -m bot",
        description=textwrap.fill(
            "Herald, the news bot. Without a command: run on Telegram when HERALD_BOT_TOKEN "
            "is set, otherwise open the offline sandbox.",
            HELP_WIDTH,
        ),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _command(commands, "run", "run the bot on Telegram (needs HERALD_BOT_TOKEN)")
    sandbox = _command(
        commands,
        "sandbox",
        "chat with Herald in this terminal, offline (no token needed)",
        "A fresh temporary database with sample articles, removed at exit; or --database.",
    )
    sandbox.add_argument(
        "--database",
        type=Path,
        metavar="FILE",
        help="explore this existing Herald database instead (nothing is added to it; the "
        "sandbox's log is written beside it)",
    )
    importer = _command(
        commands,
        "import",
        "load articles from a JSON Lines file into HERALD_DATABASE",
        "Articles already in the database are skipped; bad lines are reported and skipped.",
    )
    importer.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="JSON Lines: one article a line, a JSON object with at least a title",
    )
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


def _command(
    commands: argparse._SubParsersAction, name: str, summary: str, details: str = ""
) -> argparse.ArgumentParser:
    """A sub-command whose own --help repeats its summary and where settings come from."""
    return commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(f"{summary[0].upper()}{summary[1:]}. {details}", HELP_WIDTH),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    for warning in unknown_settings():
        print(f"herald: {warning}", file=sys.stderr)
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    command = args.command or ("run" if token else "sandbox")
    if command == "import":
        return _import_command(settings, args.file, args.push, token)
    if command in ("migrate", "copy"):
        return _database_command(args, settings, token)
    if command == "sandbox":
        return _sandbox_command(settings, getattr(args, "database", None))
    return _run_command(settings, token)


def _fail(message: str, code: int = USAGE_ERROR) -> int:
    print(f"herald: {message}", file=sys.stderr)
    return code


def _unusable_database(exc: DatabaseUnavailable, setting: str = "HERALD_DATABASE=") -> int:
    """One line naming where the path came from (the setting, or ``--database``) and why."""
    return _fail(f"cannot use {setting}{exc.path}: {exc.reason}")


def _run_command(settings: Settings, token: str) -> int:
    if not token:
        return _fail(
            "running on Telegram needs a bot token: set HERALD_BOT_TOKEN (in the environment "
            "or in .env; @BotFather gives you one), or try Herald offline with `sandbox`"
        )
    try:
        check_database_path(settings.database)  # before anything talks to Telegram
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        setup_logging(
            settings.log_level_number, [token, secret], json_lines=settings.log_format == "json"
        )
        return asyncio.run(_run(settings, token))
    except DatabaseUnavailable as exc:
        return _unusable_database(exc)


def _sandbox_command(settings: Settings, database: Path | None) -> int:
    if database is not None:
        if not database.exists():
            return _fail(
                f"no such database: {database} (--database opens an existing Herald "
                "database; leave it out for a fresh one with sample articles)"
            )
        try:
            check_database_path(database)
        except DatabaseUnavailable as exc:
            return _unusable_database(exc, "--database ")
    from bot.sandbox.terminal import run_sandbox  # the bot and the fake Bot API: slow to import

    try:
        return asyncio.run(run_sandbox(settings, database))
    except DatabaseUnavailable as exc:
        return _unusable_database(exc, "--database ")


def _import_command(settings: Settings, path: Path, push: bool, token: str) -> int:
    if not path.is_file():
        return _fail(f"no such file: {path}")
    try:
        check_database_path(settings.database)
        setup_logging(
            _import_log_level(settings), [token], json_lines=settings.log_format == "json"
        )
        return asyncio.run(_import(settings, path, push))
    except DatabaseUnavailable as exc:
        return _unusable_database(exc)
    except BusyError as exc:  # locked by another program past the busy timeout, disk full…
        return _fail(
            f"import stopped: the database {settings.database} failed ({exc}); the articles "
            "written so far stay",
            1,
        )
    except OSError as exc:  # the file vanished or may not be read
        return _fail(f"cannot read {path}: {exc.strerror or exc}")
    except KeyboardInterrupt:  # each batch is one transaction: the finished ones stay
        return _fail(
            "import interrupted: the articles written so far stay, and importing the same "
            "file again skips them",
            INTERRUPTED,
        )


def _import_log_level(settings: Settings) -> int:
    """Warnings and errors only, unless DEBUG: the import's report is its summary.

    At INFO a new database would print a line per migration over the progress bar.
    """
    level = settings.log_level_number
    return level if level <= logging.DEBUG else max(level, logging.WARNING)


async def _run(settings: Settings, token: str) -> int:
    from bot.app import build_application, serve

    install_loop_handler()
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
        elif isinstance(exc, OSError):
            log.error(
                "cannot serve HTTP on %s:%s (HERALD_HTTP_HOST, HERALD_HTTP_PORT): %s",
                settings.http_host,
                settings.http_port,
                exc.strerror or exc,
            )
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

    install_loop_handler()
    db = await Database.open(settings.database)
    try:
        with _progress(path) as advance:
            summary = await import_file(db, path, advance, push=push)
    finally:
        await db.close()
    speed = f", {summary.rate:,.0f} articles/s" if summary.added else ""
    print(
        f"Imported {path.name} into {shown(settings.database)}: {summary.added:,} added, "
        f"{summary.duplicates:,} skipped as duplicates, {summary.rejected:,} rejected "
        f"({summary.read:,} lines read in {summary.seconds:.1f} s{speed})"
    )
    for problem in summary.problems:
        print(f"  rejected {problem}")
    if summary.rejected > len(summary.problems):
        print(
            f"  … and {summary.rejected - len(summary.problems):,} more "
            "(HERALD_LOG_LEVEL=DEBUG logs every one)"
        )
    return 0


def _progress(path: Path):  # noqa: ANN202 - a context manager yielding a callback
    """A tqdm bar on a terminal (counting non-blank lines), nothing when output is piped."""
    from contextlib import contextmanager

    from tqdm import tqdm

    @contextmanager
    def bar():  # noqa: ANN202
        with path.open("rb") as lines:
            total = sum(1 for line in lines if line.strip())
        with tqdm(
            total=total,
            unit=" lines",
            disable=not sys.stderr.isatty(),
            desc="importing",
        ) as progress:
            yield progress.update

    return bar()


if __name__ == "__main__":
    sys.exit(main())
