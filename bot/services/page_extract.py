"""Reading one news page for ``/post URL``: headline, lead, picture, byline, date and text.

An editor's link is still somebody else's server, so the fetch is ``http_fetch``'s, the one
feeds use: one deadline for the whole answer, the body streamed into a size cap after
decompression, few redirects, http(s) only, and the address guard (no internal addresses
unless ``HERALD_FETCH_ALLOW_PRIVATE``). The HTML is decoded the way a browser would
(BOM, the Content-Type charset, ``<meta charset>``, then a guess), because trafilatura, left
alone, guesses and ignores what the page declares, and legacy Cyrillic or Western pages then
come out as mojibake. Extraction itself is trafilatura's (OpenGraph, JSON-LD, ``<meta>``,
htmldate for the date, its main-text extractor for the body): a maintained library that
already knows the thousand ways publishers mark these things up.

Whatever goes wrong is a ``PageProblem`` (``http_fetch.FetchError``) whose ``str()`` is one
line an editor can act on; no aiohttp, lxml or trafilatura exception leaves this module.
Besides the fetch's own errors (timeout, unreachable or internal address, HTTP status, too
large, not HTML: ``NotAPage``):

    PageProblem          the page could not become an article; ``str()`` says why
    └── NoHeadline       HTML, but nothing that reads as an article's headline
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import trafilatura
from charset_normalizer import from_bytes
from trafilatura.settings import Document
from w3lib.encoding import html_to_unicode

from bot.services import http_fetch
from bot.services.feed_fetch import SUMMARY_LIMIT, shorten_text
from bot.services.http_fetch import AddressGuard, host_of, is_web_address

log = logging.getLogger(__name__)

USER_AGENT = "Herald/0.1 (news bot; page reader)"
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_REDIRECTS = 5
MAX_AUTHORS = 5
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# htmldate (through trafilatura): the publication date, not the last update, with its time
# of day and zone. No "extensive" search of the running text: on a news page that picks up
# dates the story mentions, and no date is better than a wrong one.
_DATE_PARAMS = {
    "original_date": True,
    "extensive_search": False,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}

PageProblem = http_fetch.FetchError
NotAPage = http_fetch.WrongType


class NoHeadline(PageProblem):
    pass


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What ``/post URL`` found: the fields of an article, empty where the page had none."""

    url: str  # the canonical URL the page declares, else the URL after redirects
    title: str
    lead: str  # the page's description, else its first paragraph; at most SUMMARY_LIMIT
    body: str  # the main text, paragraphs separated by a blank line; "" when there is none
    image_url: str | None  # absolute http(s) only
    authors: tuple[str, ...]
    published_at: int | None  # unix seconds
    source: str  # the site's name, else its host


@dataclass(frozen=True, slots=True)
class FetchedPage:
    body: bytes
    url: str  # after redirects: relative links resolve against it
    content_type: str  # the whole header (its charset decodes the body)


async def extract_page(
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109 -- the fetch's deadline only; parsing is not under it
    max_bytes: int,
    guard: AddressGuard | None = None,
) -> ExtractedPage:
    """Fetch ``url`` and read it as a news article; raise ``PageProblem`` if it is none.

    ``timeout`` bounds the fetch (connect, redirects and the whole body), not the parsing,
    which runs in a worker thread so the bot keeps answering meanwhile. ``guard`` decides
    which addresses may be fetched (the default refuses internal ones).
    """
    page = await fetch_page(url, timeout=timeout, max_bytes=max_bytes, guard=guard)
    return await asyncio.to_thread(read_page, page.body, page.url, page.content_type)


async def fetch_page(
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109 -- a setting (HERALD_PAGE_TIMEOUT) put in the message
    max_bytes: int,
    guard: AddressGuard | None = None,
) -> http_fetch.Fetched:
    """GET an HTML page under the deadline, the cap, the redirect limit and the guard."""
    request = http_fetch.Request(
        url,
        timeout,
        max_bytes,
        MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        types=HTML_TYPES,
    )
    async with http_fetch.open_session(guard or AddressGuard(), timeout=timeout) as session:
        page = await http_fetch.get(session, request)
    assert page is not None, "no validators were sent, so a 304 is an HttpStatus"
    return page


def read_page(body: bytes, url: str, content_type: str = "") -> ExtractedPage:
    """Decode and extract one fetched page (CPU work: call it off the event loop).

    Any exception of the parsers on hostile markup becomes a ``PageProblem`` too.
    """
    try:
        return _read_page(body, url, content_type)
    except PageProblem:
        raise
    except Exception:  # lxml, htmldate or trafilatura tripping over hostile markup
        log.warning("page extraction failed for %s", url, exc_info=True)
        raise NoHeadline("I could not read that page") from None


def _read_page(body: bytes, url: str, content_type: str) -> ExtractedPage:
    if not body.strip():
        raise NoHeadline("the page is empty")
    _, text = html_to_unicode(content_type or None, body, auto_detect_fun=_guess_encoding)
    tree = trafilatura.load_html(text)
    if tree is None:
        raise NoHeadline("I could not find a headline on that page")
    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=dict(_DATE_PARAMS),
    )
    if isinstance(extracted, Document):
        document = extracted
    else:  # None: too little main text for trafilatura, but the metadata still counts
        document = trafilatura.extract_metadata(tree, url, dict(_DATE_PARAMS))
    title = _line(document.title)
    if not title:
        raise NoHeadline("I could not find a headline on that page")

    paragraphs = [_line(p) for p in (document.text or "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the <h1> again
    lead = shorten_text(_line(document.description) or next(iter(paragraphs), ""), SUMMARY_LIMIT)
    body_text = "\n\n".join(paragraphs)
    page_url = _web_url(document.url, url) or url
    return ExtractedPage(
        url=page_url,
        title=title,
        lead=lead,
        body="" if body_text == lead else body_text,
        image_url=_web_url(document.image, url),
        authors=_authors(document.author),
        published_at=_timestamp(document.date),
        source=_source(document.sitename, page_url, url),
    )


def _guess_encoding(body: bytes) -> str:
    """For a page that declares no charset: UTF-8 if it is valid, else the best guess."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(body[:100_000]).best()
    return best.encoding if best is not None else "cp1252"


def _line(value: str | None) -> str:
    return " ".join((value or "").split())


def _web_url(value: str | None, base: str) -> str | None:
    """``value`` resolved against ``base``, kept only if it is an http(s) address."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        absolute = urljoin(base, value)
    except ValueError:
        return None
    return absolute if is_web_address(absolute) else None


def _source(sitename: str | None, *urls: str) -> str:
    """The site's declared name; trafilatura's fallback, the address's host and port, is
    replaced by the bare host (the port means nothing to a reader)."""
    name = _line(sitename)
    netlocs = {urlsplit(u).netloc.lower().removeprefix("www.") for u in urls}
    if name and name.lower() not in netlocs:
        return name
    return host_of(urls[0])


def _authors(value: str | None) -> tuple[str, ...]:
    """trafilatura joins several authors with ';'; a profile URL is not a name."""
    names = (_line(name) for name in (value or "").split(";"))
    usable = (n for n in names if n and "://" not in n and not n.startswith("@"))
    return tuple(dict.fromkeys(usable))[:MAX_AUTHORS]


def _timestamp(value: str | None) -> int | None:
    """htmldate's date as unix seconds; a date without a zone is taken as UTC, one in the
    future (a wrong zone, a typo) as now."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    return int(min(moment, now).timestamp())
