"""Fetching and reading one feed: bytes from the web, then items as Herald articles.

A feed URL is somebody else's server, so everything it sends is treated as hostile. The fetch
is ``http_fetch``'s, shared with ``/post URL``: a deadline, a size cap after decompression,
few redirects, the address guard, and one error hierarchy whose ``str()`` is a line for
editors (``FetchError`` and its subclasses, re-exported here). The parser is handed bytes we
read ourselves, never the URL; a body that is no feed is one more ``FetchError``:

    FetchError            (``http_fetch``) the feed gave no items this time
    └── NotAFeed          the body is no RSS or Atom document (an HTML page, garbage)
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import logging
import multiprocessing
import re
import time
import unicodedata
import xml.sax
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any

import aiohttp
import feedparser

from bot.services import http_fetch
from bot.services.http_fetch import AddressGuard, Fetched, FetchError
from bot.services.ingest import ArticleInput, InvalidArticle, normalise
from storage.articles import NewArticle

log = logging.getLogger(__name__)

USER_AGENT = "Herald/0.1 (news bot; feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
SUMMARY_LIMIT = 500
MAX_CATEGORIES = 5


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    """How feeds are polled (settings ``HERALD_FEED_*``; the rest are fixed here on purpose)."""

    interval: int = 900  # HERALD_FEED_INTERVAL: seconds between polls of one feed
    timeout: float = 20.0  # HERALD_FEED_TIMEOUT: seconds for one whole fetch
    max_bytes: int = 5_000_000  # HERALD_FEED_MAX_BYTES: body cap (after decompression)
    concurrency: int = 20  # HERALD_FEED_CONCURRENCY: feeds fetched at once
    max_items: int = 200  # HERALD_FEED_MAX_ITEMS: items read from one feed in one poll
    max_pushes: int = 20  # HERALD_FEED_MAX_PUSHES: items of one feed pushed in an hour
    guard: AddressGuard = field(default_factory=AddressGuard)  # HERALD_FETCH_ALLOW_PRIVATE
    parse_processes: int = 1  # 0: parse in a thread (tests; slower alongside ingest)
    batch_items: int = 1000  # items stored in one transaction at most (about): group commit
    max_redirects: int = 5
    notify_after: int = 5  # failures in a row before the editors are told (once)
    max_backoff: int = 6 * 3600  # the longest wait after failures
    title_window: int = 3 * 86400  # same normalised title this recently: the same story
    push_window: int = 2 * 86400  # older new items are stored, not pushed (a feed's archive)

    @classmethod
    def from_settings(cls, settings: object) -> FeedPolicy:
        """Read ``feed_*`` fields from ``Settings`` where present, defaults otherwise."""
        default = cls()
        allow = bool(getattr(settings, "fetch_allow_private", False))
        return cls(
            interval=int(getattr(settings, "feed_interval", default.interval)),
            timeout=float(getattr(settings, "feed_timeout", default.timeout)),
            max_bytes=int(getattr(settings, "feed_max_bytes", default.max_bytes)),
            concurrency=int(getattr(settings, "feed_concurrency", default.concurrency)),
            max_items=int(getattr(settings, "feed_max_items", default.max_items)),
            max_pushes=int(getattr(settings, "feed_max_pushes", default.max_pushes)),
            guard=AddressGuard(allow_private=allow),
        )


class NotAFeed(FetchError):
    pass


def open_session(policy: FeedPolicy) -> aiohttp.ClientSession:
    """One pooled, guarded session for all feeds; the connector also bounds connections."""
    return http_fetch.open_session(
        policy.guard,
        timeout=policy.timeout,
        connections=policy.concurrency,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
    )


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    policy: FeedPolicy,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched | None:
    """GET ``url`` conditionally; None when the server says 304 Not Modified."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = http_fetch.Request(
        url, policy.timeout, policy.max_bytes, policy.max_redirects, headers=headers
    )
    return await http_fetch.get(session, request)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed as Herald will store it, with the keys duplicates are found by."""

    guid: str
    article: ArticleInput
    title_key: str | None
    new: NewArticle | None = None  # normalised by ``read_feed``; None: cannot be an article


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: list[FeedEntry]
    total: int = 0  # items the document carried; more than ``entries`` when it was cut


class Parsers:
    """Where feeds are parsed: worker processes, or a thread when ``processes`` is 0.

    feedparser is pure Python. In a thread it holds the GIL that the event loop needs for
    every database round trip of ingest, and the two slow each other down (measured: the
    1,000-feed benchmark polls in 84 s with a thread, 61-65 s with a process). A worker
    process parses on another core and hands back plain dataclasses. Should the worker die,
    parsing falls back to a thread.
    """

    def __init__(self, processes: int = 1) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def read(
        self,
        body: bytes,
        url: str,
        content_type: str,
        topic: str | None,
        now: int,
        source: str,
        limit: int | None = None,
    ) -> ParsedFeed:
        """``read_feed`` in a worker process (or a thread)."""
        args = (body, url, content_type, topic, now, source, limit)
        if self._processes <= 0:
            return await asyncio.to_thread(read_feed, *args)
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # no fork of a threaded process
            self._pool = ProcessPoolExecutor(self._processes, mp_context=context)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, read_feed, *args)
        except BrokenProcessPool:  # the worker died: the environment, not this feed
            log.error("feed parser process died; parsing in a thread from now on")
            self.close()
            self._processes = 0
            return await asyncio.to_thread(read_feed, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def read_feed(
    body: bytes,
    url: str,
    content_type: str,
    topic: str | None,
    now: int,
    source: str,
    limit: int | None = None,
) -> ParsedFeed:
    """``parse_feed`` of the first ``limit`` items, then each normalised for ``ingest`` (named
    ``source`` when the feed has no title): the poller's CPU work, done where it does not
    hold up the writer."""
    parsed = parse_feed(body, url, content_type, topic, now, limit)
    source = parsed.title or source
    entries = []
    for entry in parsed.entries:
        article = replace(entry.article, source=source)
        try:
            new: NewArticle | None = normalise(article, now)
        except InvalidArticle:
            new = None
        entries.append(replace(entry, article=article, new=new))
    return replace(parsed, entries=entries)


def parse_feed(
    body: bytes,
    url: str,
    content_type: str = "",
    topic: str | None = None,
    now: int = 0,
    limit: int | None = None,
) -> ParsedFeed:
    """Read RSS 0.9x/1.0/2.0 or Atom ``body``; raise ``NotAFeed`` when it is neither.

    feedparser's own HTML sanitising and URI resolving are off: Herald keeps only plain text,
    and they double the parse time. An ill-formed feed still yields the items feedparser
    could recover (it is lenient on purpose: real feeds are often broken). With ``limit``,
    only the first ``limit`` items are parsed (``cut_items``): a hostile document of 100,000
    items costs the time and memory of ``limit``.
    """
    total = None
    if limit is not None:
        body, total = cut_items(body, limit)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # a parser crash on hostile input: "not a feed", not a bug here
        raise NotAFeed(f"unreadable: {type(exc).__name__}") from None
    problem = parsed.get("bozo_exception")
    if not parsed.entries and not parsed.get("version"):
        raise NotAFeed("not an RSS or Atom feed" + (f" ({problem})"[:120] if problem else ""))
    if not parsed.entries and isinstance(problem, xml.sax.SAXException):
        raise NotAFeed(f"ill-formed XML and no items ({problem})"[:160])
    title = _text_of(parsed.feed.get("title_detail"), parsed.feed.get("title", ""))
    now = now or int(time.time())
    entries = [e for e in (_entry(raw, title, topic, now) for raw in parsed.entries) if e]
    count = len(parsed.entries) if total is None else max(total, len(parsed.entries))
    return ParsedFeed(title=" ".join(title.split()), entries=entries, total=count)


_ITEM_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def cut_items(body: bytes, limit: int) -> tuple[bytes, int]:
    """``body`` with only its first ``limit`` items, and how many items it had.

    The cut is made on the bytes, before any parsing: the document up to the start of item
    ``limit + 1``, then whatever follows the last item's end tag (``</channel></rss>``,
    ``</feed>``), so the result is as well formed as the original. A document within the
    limit is returned as it is.
    """
    starts = _ITEM_START.finditer(body)
    cut_at, total = None, 0
    for match in starts:
        total += 1
        if total == limit + 1:
            cut_at = match.start()
    if cut_at is None:
        return body, total
    tail_at = cut_at
    for match in _ITEM_END.finditer(body, cut_at):
        tail_at = match.end()
    return body[:cut_at] + body[tail_at:], total


def _entry(raw: Any, source: str, topic: str | None, now: int) -> FeedEntry | None:
    """An item as an ``ArticleInput``; None for one with nothing to show."""
    title = " ".join(_text_of(raw.get("title_detail"), raw.get("title", "")).split())
    summary_text = _text_of(raw.get("summary_detail"), raw.get("summary", ""))
    body_text = _content_text(raw.get("content")) or summary_text
    lead = (summary_text or body_text).split("\n\n", 1)[0]  # a standfirst, not the story
    summary = shorten_text(lead, SUMMARY_LIMIT)
    if not title:
        title = shorten_text(summary, 120)
    if not title:
        return None
    link = _http_url(raw.get("link"))
    guid = str(raw.get("id") or "").strip()[:500] or link or _digest(title, summary)
    article = ArticleInput(
        title=title,
        summary=summary,
        body="" if body_text == summary else body_text,
        url=link,
        authors=_authors(raw),
        source=source,
        topics=((topic,) if topic else ()) + _categories(raw),
        image_url=_image(raw),
        published_at=_published(raw, now),
        external_id=guid,
    )
    return FeedEntry(guid=guid, article=article, title_key=title_key(title))


def _text_of(detail: Any, value: str) -> str:
    """Plain text of a feed text construct: HTML is reduced to text, plain text kept."""
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, dict) else "text/html"
    value = value if isinstance(value, str) else ""
    if kind == "text/plain":
        return html.unescape(value) if _ENTITY.search(value) else value
    return html_to_text(value)


def _content_text(content: Any) -> str:
    """The longest text of an item's content elements (content:encoded, atom:content)."""
    if not isinstance(content, list):
        return ""
    texts = [_text_of(part, part.get("value", "")) for part in content if isinstance(part, dict)]
    return max(texts, key=len, default="")


def _authors(raw: Any) -> tuple[str, ...]:
    names = [a.get("name", "") for a in raw.get("authors") or [] if isinstance(a, dict)]
    if not any(names) and isinstance(raw.get("author"), str):
        names = [raw["author"]]
    return tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))[:5]


def _categories(raw: Any) -> tuple[str, ...]:
    terms = [t.get("term") or "" for t in raw.get("tags") or [] if isinstance(t, dict)]
    usable = [t.strip() for t in terms if t.strip() and "://" not in t]
    return tuple(dict.fromkeys(usable))[:MAX_CATEGORIES]


def _image(raw: Any) -> str | None:
    """The item's picture: media:content/thumbnail, else an image enclosure."""
    for media in raw.get("media_content") or []:
        kind = f"{media.get('medium', '')} {media.get('type', '')}"
        if "image" in kind and _http_url(media.get("url")):
            return media["url"]
    for thumb in raw.get("media_thumbnail") or []:
        if _http_url(thumb.get("url")):
            return thumb["url"]
    for link in raw.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            if _http_url(link.get("href")):
                return link["href"]
    return None


def _published(raw: Any, now: int) -> int | None:
    """feedparser's parsed date (UTC); a date in the future is taken as now."""
    # Plain dict lookups: feedparser's own mapping warns when it falls back between the two.
    moment = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    if not moment:
        return None
    try:
        stamp = calendar.timegm(moment)
    except (TypeError, ValueError, OverflowError):
        return None
    return min(stamp, now)


def _http_url(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
        return value.strip()
    return None


def _digest(*parts: str) -> str:
    return "sha1:" + hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()


_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]\w*);")
_NOT_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str | None:
    """A title as compared across feeds: case, accents' forms and punctuation ignored.

    Titles shorter than three words or 16 letters ("Letters", "Live updates") are not keys:
    different stories share them.
    """
    words = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", title).casefold()).split()
    key = " ".join(words)
    return key if len(words) >= 3 and len(key) >= 16 else None


def shorten_text(text: str, limit: int) -> str:
    """Cut plain text at a word boundary to at most ``limit`` characters, with '…'."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


_BLOCKS = frozenset(
    "p div li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article header footer"
    " figure figcaption hr dd dt aside details summary".split()
)
_SKIPPED = frozenset("script style iframe object embed noscript template svg math head".split())


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment: blocks become paragraphs, scripts vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # <script/> opens nothing
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(_SPACE.sub(" ", data))  # in HTML, a line break is a space


_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[A-Za-z/!]")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, paragraphs separated by a blank line.

    A fragment without any tag is text that merely claims to be HTML (common in RSS): its
    entities are decoded and its line breaks kept.
    """
    if not _TAG.search(fragment):
        return _tidy(html.unescape(fragment))
    parser = _TextExtractor()
    try:
        parser.feed(fragment)
        parser.close()
    except (AssertionError, ValueError):  # the stdlib parser's complaints about broken markup
        pass
    return _tidy("".join(parser.parts))


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
