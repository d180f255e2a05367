"""The one bot's flood budget, shared by every instance on one PostgreSQL database.

Telegram counts messages per bot, not per process, so instances cannot each keep their own
budget. ``take`` draws from a token bucket in the database (``herald_flood_take``, migration
0008), ``pause`` holds every instance after a 429. A SQLite database serves one instance,
whose pacers in memory are the whole budget: there both are no-ops.
"""

from __future__ import annotations

from storage.db import POSTGRESQL, Database


def shared(db: Database) -> bool:
    """Whether several instances may share ``db`` (and so its flood budget)."""
    return db.backend == POSTGRESQL


async def take(db: Database, want: float, rate: float, burst: float) -> float:
    """Take ``want`` messages; 0 when taken, else seconds to wait (nothing taken)."""
    wait = await db.scalar(
        "SELECT herald_flood_take(:want, :rate, :burst)",
        {"want": float(want), "rate": float(rate), "burst": float(burst)},
    )
    return float(wait or 0.0)


async def pause(db: Database, seconds: float) -> None:
    """No instance takes from the budget for ``seconds`` from now (a 429's retry_after)."""
    await db.execute(
        "UPDATE flood_budget SET paused_until ="
        " GREATEST(paused_until, extract(epoch FROM clock_timestamp()) + :seconds) WHERE id = 1",
        {"seconds": float(seconds)},
    )
