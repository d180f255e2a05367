"""Reading: /latest pages, topics, and opening an article with its related stories."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.names import close_names
from bot.services.related import related_ids
from storage import articles as store
from storage.articles import Article, Headline, Topic
from storage.db import Database


@dataclass(frozen=True, slots=True)
class LatestPage:
    topic: Topic | None
    page: int
    items: list[Headline]
    has_next: bool


@dataclass(frozen=True, slots=True)
class ArticleView:
    article: Article
    related: list[Headline]


class UnknownTopic(LookupError):
    """No topic by that name; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions


async def find_topic(db: Database, name: str) -> Topic:
    """The topic called ``name`` (any letter case, '#' optional), or ``UnknownTopic``."""
    wanted = name.strip().lstrip("#").strip()
    topic = await store.find_topic(db, wanted)
    if topic is not None:
        return topic
    names = [t.name for t in await store.list_topics(db)]
    raise UnknownTopic(wanted, close_names(wanted, names))


async def latest_page(
    db: Database, topic_id: int | None, page: int, page_size: int
) -> LatestPage | None:
    """One page of the newest articles (of a topic); None when the topic no longer exists."""
    topic = None
    offset = max(page, 0) * page_size
    if topic_id is None:
        items = await store.latest(db, limit=page_size + 1, offset=offset)
    else:
        topic = await store.get_topic(db, topic_id)
        if topic is None:
            return None
        items = await store.latest_in_topic(db, topic_id, limit=page_size + 1, offset=offset)
    return LatestPage(topic, max(page, 0), items[:page_size], len(items) > page_size)


async def topics(db: Database) -> list[Topic]:
    return await store.list_topics(db)


async def open_article(db: Database, article_id: int) -> ArticleView | None:
    """A published article and its related stories; None if unknown or retracted."""
    article = await store.get_article(db, article_id)
    if article is None or article.status != store.PUBLISHED:
        return None
    related = await store.headlines(db, await related_ids(db, article_id))
    return ArticleView(article, related)
