"""Reading one news page for ``/post URL``: headline, lead, picture, byline, date and text.

An editor's link is still somebody else's server, so the fetch is as guarded as a feed's
(``feed_fetch``): one deadline for the whole answer, the body streamed into a size cap after
decompression, few redirects, http(s) only. The HTML is decoded the way a browser would
(BOM, the Content-Type charset, ``<meta charset>``, then a guess), because trafilatura, left
alone, guesses and ignores what the page declares, and legacy Cyrillic or Western pages then
come out as mojibake. Extraction itself is trafilatura's (OpenGraph, JSON-LD, ``<meta>``,
htmldate for the date, its main-text extractor for the body): a maintained library that
already knows the thousand ways publishers mark these things up.

Whatever goes wrong is a ``PageProblem`` whose ``str()`` is one line an editor can act on;
no aiohttp, lxml or trafilatura exception leaves this module:

    PageProblem          the page could not become an article; ``str()`` says why
    ├── PageTimeout      no complete answer within the deadline
    ├── PageUnreachable  bad address, DNS, refused or broken connection, TLS, bad redirects
    ├── PageStatus       an HTTP error status (``status`` holds it)
    ├── PageTooLarge     the body passed the byte cap
    ├── NotAPage         the answer is no HTML page (an image, a PDF, JSON)
    └── NoHeadline       HTML, but nothing that reads as an article's headline
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import aiohttp
import trafilatura
from charset_normalizer import from_bytes
from trafilatura.settings import Document
from w3lib.encoding import html_to_unicode

from bot.services.feed_fetch import SUMMARY_LIMIT, TooLarge, _read_capped, shorten_text

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


class PageProblem(Exception):
    """The page gave no article; ``str()`` is one short line for the editor who sent it."""


class PageTimeout(PageProblem):
    pass


class PageUnreachable(PageProblem):
    pass


class PageStatus(PageProblem):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the server answered {status} {reason}".strip())
        self.status = status


class PageTooLarge(PageProblem):
    pass


class NotAPage(PageProblem):
    pass


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
    session: aiohttp.ClientSession | None = None,
) -> ExtractedPage:
    """Fetch ``url`` and read it as a news article; raise ``PageProblem`` if it is none.

    ``timeout`` bounds the fetch (connect, redirects and the whole body), not the parsing,
    which runs in a worker thread so the bot keeps answering meanwhile. ``session`` lets a
    caller share its connection pool; without one, a session is made for this page alone.
    """
    page = await fetch_page(url, timeout=timeout, max_bytes=max_bytes, session=session)
    return await asyncio.to_thread(read_page, page.body, page.url, page.content_type)


async def fetch_page(
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109 -- a setting (HERALD_PAGE_TIMEOUT) put in the message
    max_bytes: int,
    session: aiohttp.ClientSession | None = None,
) -> FetchedPage:
    """GET an HTML page under the deadline, the cap and the redirect limit."""
    url = url.strip()
    if not _is_web_address(url):
        raise PageUnreachable("that is not a web address (it must start with http:// or https://)")
    own_session = session is None
    if session is None:
        session = aiohttp.ClientSession(trust_env=False)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    try:
        # Both clocks: asyncio's covers everything here whatever the shared session's own
        # timeouts are; aiohttp's per-request one replaces a shared session's longer default.
        async with asyncio.timeout(timeout):
            async with session.get(
                url,
                headers=headers,
                max_redirects=MAX_REDIRECTS,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if response.status >= 300:  # 3xx here: one aiohttp does not follow (304, 300)
                    raise PageStatus(response.status, _reason(response))
                _check_type(response)
                try:
                    body = await _read_capped(response, max_bytes)
                except TooLarge:
                    raise PageTooLarge(f"the page is larger than {_size(max_bytes)}") from None
                return FetchedPage(
                    body=body,
                    url=str(response.url),
                    content_type=response.headers.get("Content-Type", ""),
                )
    except PageProblem:
        raise
    except TimeoutError:  # before ClientError: aiohttp's timeouts are both
        raise PageTimeout(f"the page took longer than {timeout:g} s") from None
    except aiohttp.TooManyRedirects:
        raise PageUnreachable(
            f"the page redirects too many times (more than {MAX_REDIRECTS})"
        ) from None
    except aiohttp.ClientConnectorCertificateError:
        raise PageUnreachable(f"the certificate of {_host(url)} is not valid") from None
    except aiohttp.ClientConnectorError:
        raise PageUnreachable(f"I could not connect to {_host(url)}") from None
    except aiohttp.InvalidURL:  # also a redirect to a non-web address (aiohttp ≥ 3.10)
        raise PageUnreachable("the page sent me to an address I cannot open") from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        log.info("page fetch failed for %s: %r", url, exc)
        raise PageUnreachable(f"{_host(url)} broke off its answer") from None
    finally:
        if own_session:
            await session.close()


def _check_type(response: aiohttp.ClientResponse) -> None:
    """Refuse what is not HTML before reading it: no need to download a 50 MB video."""
    if "Content-Type" not in response.headers:
        return  # no type at all: let the parser judge what it is
    if response.content_type not in HTML_TYPES:
        raise NotAPage(f"that address is not a web page ({response.content_type})")


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


def _is_web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def _web_url(value: str | None, base: str) -> str | None:
    """``value`` resolved against ``base``, kept only if it is an http(s) address."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        absolute = urljoin(base, value)
    except ValueError:
        return None
    return absolute if _is_web_address(absolute) else None


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.") or "the site"


def _source(sitename: str | None, *urls: str) -> str:
    """The site's declared name; trafilatura's fallback, the address's host and port, is
    replaced by the bare host (the port means nothing to a reader)."""
    name = _line(sitename)
    netlocs = {urlsplit(u).netloc.lower().removeprefix("www.") for u in urls}
    if name and name.lower() not in netlocs:
        return name
    return _host(urls[0])


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


def _reason(response: aiohttp.ClientResponse) -> str:
    if response.reason:
        return response.reason
    try:
        return HTTPStatus(response.status).phrase
    except ValueError:
        return ""


def _size(limit: int) -> str:
    """A byte cap as an editor reads it: 3000000 → "3 MB", 50000 → "50 kB"."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if limit >= scale:
            return f"{limit / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{limit} bytes"
