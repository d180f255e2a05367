"""Every Prometheus metric Herald exports, defined in one place.

Counts are taken where an outcome is decided: the handler hook in ``bot.app`` (updates, handler
time), the error handler (handler errors), ``bot.sender`` and the rate limiter (Telegram
requests and 429s), the delivery worker's settle (deliveries), the feed poller (fetches) and
the search service (search time). The web layer only renders ``REGISTRY``; it never re-derives
a count. No label carries a chat, user, URL or article id: labels are small closed sets
(update types, outcome names, Bot API method names), so the series count stays bounded.

The metrics live in Herald's own registry, not prometheus-client's global one, so a test or a
bench can read exactly Herald's series.
"""

from __future__ import annotations

import platform
import time
from importlib import metadata

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "herald_updates", "Updates handled, by type.", ["type"], registry=REGISTRY
)
HANDLER_SECONDS = Histogram(
    "herald_handler_seconds",
    "Time to handle one update, all handler groups together.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
HANDLER_ERRORS = Counter(
    "herald_handler_errors", "Updates whose handler raised an error.", registry=REGISTRY
)
DELIVERIES = Counter(
    "herald_deliveries",
    "Broadcast deliveries settled, by outcome (sent, retry_after, blocked, migrated, transient, "
    "rejected, unknown).",
    ["outcome"],
    registry=REGISTRY,
)
TELEGRAM_REQUESTS = Counter(
    "herald_telegram_requests",
    "Bot API requests made, by lane (reply: python-telegram-bot; broadcast: the sender) and "
    "method.",
    ["lane", "method"],
    registry=REGISTRY,
)
TELEGRAM_429 = Counter(
    "herald_telegram_429",
    "Bot API answers 429 Too Many Requests, by lane.",
    ["lane"],
    registry=REGISTRY,
)
OUTBOX_ROWS = Gauge(
    "herald_outbox_rows",
    "Outbox rows by status, as of the last scrape.",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_AUDIENCES = Gauge(
    "herald_outbox_audiences",
    "Broadcasts whose chats are not all queued yet (their chats are not in herald_outbox_rows),"
    " as of the last scrape.",
    registry=REGISTRY,
)
FEED_FETCHES = Counter(
    "herald_feed_fetches",
    "Feed fetches, by outcome (fetched, not_modified, failed).",
    ["outcome"],
    registry=REGISTRY,
)
FEED_LAST_POLL = Gauge(
    "herald_feed_last_poll_timestamp_seconds",
    "Unix time the last feed poll round ended (0: none yet).",
    registry=REGISTRY,
)
SEARCH_SECONDS = Histogram(
    "herald_search_seconds",
    "Time to find one page of /search results.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
LEADER = Gauge(
    "herald_leader",
    "1 while this instance runs what must run once (one instance: always).",
    registry=REGISTRY,
)
BUILD = Info("herald_build", "Herald's version and Python's.", registry=REGISTRY)


def _version() -> str:
    try:
        return metadata.version("herald")
    except metadata.PackageNotFoundError:
        return "unknown"


BUILD.info({"version": _version(), "python": platform.python_version()})


class FeedPolls:
    """When the feed poller last finished a round (for /readyz and the gauge)."""

    last: float | None = None

    @classmethod
    def finished(cls) -> None:
        cls.last = time.time()
        FEED_LAST_POLL.set(cls.last)


def render() -> bytes:
    """The exposition text of every Herald metric."""
    return generate_latest(REGISTRY)


__all__ = [
    "BUILD",
    "CONTENT_TYPE",
    "DELIVERIES",
    "FEED_FETCHES",
    "FEED_LAST_POLL",
    "HANDLER_ERRORS",
    "HANDLER_SECONDS",
    "LEADER",
    "OUTBOX_AUDIENCES",
    "OUTBOX_ROWS",
    "REGISTRY",
    "SEARCH_SECONDS",
    "TELEGRAM_429",
    "TELEGRAM_REQUESTS",
    "UPDATES",
    "FeedPolls",
    "render",
]
