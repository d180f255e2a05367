"""JSON for the Mini App: domain objects → plain dicts. Pure functions, no I/O.

The API's counterpart of ``bot.rendering``: dates in the reader's language with Babel, search
snippets with the same bold marks as /search (escaped HTML, only ``<b>`` added), subscriptions
described as /subscriptions describes them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from babel.dates import format_date, format_datetime

from bot import i18n
from bot.rendering.reading import _snippet_html as snippet_html  # /search's bold marks
from bot.services.reading import ArticleView, LatestPage
from bot.services.search import SearchPage
from bot.services.subscriptions import describe
from storage.articles import Headline, Topic
from storage.chat_settings import ChatSettings
from storage.subscriptions import Subscription

JSON = dict[str, Any]
SNIPPET_CHARS = 240


def date(ts: int) -> str:
    return format_date(datetime.fromtimestamp(ts, UTC).date(), "d MMM y", locale=i18n.current())


def date_time(ts: int) -> str:
    return format_datetime(
        datetime.fromtimestamp(ts, UTC), "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=i18n.current()
    )


def headline(item: Headline) -> JSON:
    return {
        "id": item.id,
        "title": item.title,
        "source": item.source,
        "published_at": item.published_at,
        "date": date(item.published_at),
    }


def latest(page: LatestPage) -> JSON:
    return {
        "topic": None if page.topic is None else topic(page.topic),
        "page": page.page,
        "items": [headline(h) for h in page.items],
        "has_next": page.has_next,
    }


def topic(item: Topic) -> JSON:
    return {"id": item.id, "name": item.name, "articles": item.articles}


def search(query: str, page: SearchPage | None) -> JSON:
    if page is None:
        return {"query": query, "page": 0, "items": [], "has_next": False}
    return {
        "query": query,
        "page": page.page,
        "items": [
            {**headline(hit), "snippet_html": snippet_html(hit.snippet, SNIPPET_CHARS)}
            for hit in page.hits
        ],
        "has_next": page.has_next,
    }


def article(view: ArticleView, direct_link: str | None) -> JSON:
    a = view.article
    text = (
        a.body
        if a.summary and a.body.startswith(a.summary)
        else "\n\n".join(p for p in (a.summary, a.body) if p)
    )
    share_target = a.url or direct_link
    return {
        "id": a.id,
        "title": a.title,
        "authors": list(a.authors),
        "source": a.source,
        "published_at": a.published_at,
        "date": date_time(a.published_at),
        "updated": None if a.edited_at is None else date_time(a.edited_at),
        "topics": list(a.topics),
        "paragraphs": [p.strip() for p in text.split("\n") if p.strip()],
        "image_url": a.image_url if (a.image_url or "").startswith("https://") else None,
        "url": a.url,
        "share_url": None
        if share_target is None
        else "https://t.me/share/url?url="
        + quote(share_target, safe="")
        + "&text="
        + quote(a.title, safe=""),
        "related": [headline(r) for r in view.related],
    }


def subscription(sub: Subscription) -> JSON:
    return {"id": sub.id, "kind": sub.kind, "label": describe(sub), "topic_id": sub.topic_id}


def settings(value: ChatSettings) -> JSON:
    return {
        "mode": value.mode,
        "daily_at": value.daily_at,
        "quiet": None if not value.quiet_start else f"{value.quiet_start}-{value.quiet_end}",
        "tz": value.tz,
        "previews": bool(value.previews),
        "language": value.language,
    }
