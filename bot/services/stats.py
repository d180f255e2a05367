"""Figures for editors: who subscribes to what, how deliveries went, what readers open."""

from __future__ import annotations

import time
from dataclasses import dataclass

from storage import articles, chats, outbox, subscriptions
from storage.articles import Article, Headline
from storage.db import Database
from storage.outbox import ArticleDeliveries, OutboxStats
from storage.subscriptions import SubscriberCount

DAY = 24 * 3600
MOST_READ = 5


@dataclass(frozen=True, slots=True)
class Stats:
    subscribers: list[SubscriberCount]
    deliveries: OutboxStats  # pending now; sent, failed and unknown over the last 24 hours
    paused_chats: int
    most_read: list[tuple[Headline, int]]  # today's (UTC) most tapped articles, with taps


@dataclass(frozen=True, slots=True)
class ArticleFigures:
    article: Article
    deliveries: ArticleDeliveries
    taps: int  # readers' taps on buttons that open it, since it was published


async def collect(db: Database, now: int | None = None) -> Stats:
    now = int(time.time()) if now is None else now
    return Stats(
        subscribers=await subscriptions.subscriber_counts(db),
        deliveries=await outbox.stats_since(db, now - DAY),
        paused_chats=await chats.paused_chats(db),
        most_read=await articles.most_read(db, now // DAY, MOST_READ),
    )


async def article_figures(db: Database, article_id: int) -> ArticleFigures | None:
    """Reach, failures and taps of one article (retracted ones too); None if unknown."""
    article = await articles.get_article(db, article_id)
    if article is None:
        return None
    return ArticleFigures(
        article,
        await outbox.article_deliveries(db, article_id),
        await articles.taps(db, article_id),
    )


async def count_tap(db: Database, article_id: int, now: int | None = None) -> None:
    """A reader tapped a button that opened ``article_id``."""
    await articles.record_tap(db, article_id, int(time.time()) if now is None else now)
