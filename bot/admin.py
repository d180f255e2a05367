"""Operator commands that work on the database without starting the bot.

``python -m bot migrate`` applies the schema migrations (what start-up would do), so a deploy
can migrate once before starting its instances. ``python -m bot copy --from A --to B`` moves a
newsroom's whole state from one database to another, typically from the SQLite file to
PostgreSQL, and checks that every table ends with as many rows as the source has.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from storage.copy import copy_database
from storage.db import Database, is_postgres_url

log = logging.getLogger(__name__)


def shown(target: Path | str) -> str:
    """A database for the terminal: a URL without its password."""
    text = str(target)
    if is_postgres_url(text) and "@" in text:
        scheme, _, rest = text.partition("://")
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}{':***' if ':' in credentials else ''}@{host}"
    return text


def database_target(value: str) -> Path | str:
    """A command-line database: a ``postgresql://`` URL as given, else a file path."""
    return value if is_postgres_url(value) else Path(value)


async def migrate(target: Path | str) -> int:
    """Open (and so migrate) ``target``; say where its schema now is."""
    db = await Database.open(target)
    try:
        version = await _schema_version(db)
    finally:
        await db.close()
    print(f"{shown(target)}: schema at migration {version:04d}")
    return 0


async def copy(source_target: Path | str, target_target: Path | str) -> int:
    """Copy everything from one database to the other; 1 when the counts do not agree."""
    source = await Database.open(source_target)
    try:
        target = await Database.open(target_target)
        try:
            report = await copy_database(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
    print(f"Copied {shown(source_target)} → {shown(target_target)}")
    for table, rows in report.source.items():
        there = report.target.get(table, 0)
        mark = "ok" if there == rows else "MISMATCH"
        print(f"  {table:<18} {rows:>10,} in source  {there:>10,} in target  {mark}")
    for table in report.not_copied:
        print(f"  {table:<18} not copied: this version of Herald does not know the table")
    if report.mismatched:
        print(
            "herald: row counts differ in " + ", ".join(report.mismatched) + ". Was the target "
            "empty, and Herald stopped during the copy? Stop it and run the copy again.",
            file=sys.stderr,
        )
        return 1
    print("Verified: every table has as many rows in the target as in the source.")
    return 0


async def _schema_version(db: Database) -> int:
    if db.backend == "sqlite":
        return int(await db.scalar("PRAGMA user_version"))
    return int(await db.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))
