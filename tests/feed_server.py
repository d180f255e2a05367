"""A feed server on 127.0.0.1 for tests: good, broken, slow, huge and redirecting feeds.

Each path serves one ``Resource``; the server answers conditional GETs (ETag and
Last-Modified → 304) the way a well-behaved publisher does, and records every request's path
and headers so tests can see what the poller sent. Builders for RSS and Atom documents live
here too, so tests describe items, not XML.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass
class Resource:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    validators: bool = True  # send ETag/Last-Modified and honour them with 304
    gzip: bool = False  # Content-Encoding: gzip
    delay: float = 0.0  # seconds before answering (a slow server)
    redirect: str | None = None  # Location of a 301
    stream: int = 0  # >0: send this many bytes in chunks, without Content-Length


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    """``async with FeedServer() as server``; ``server.url(path)``; ``server.routes[path] = …``."""

    routes: dict[str, Resource] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    host: str = "127.0.0.1"  # any loopback address: 127.0.0.2, ::1
    _runner: web.AppRunner | None = None
    _port: int = 0

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}{path}"

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Request(request.path, dict(request.headers)))
        resource = self.routes.get(request.path)
        if resource is None:
            return web.Response(status=404, text="not found")
        if resource.delay:
            await asyncio.sleep(resource.delay)
        if resource.redirect is not None:
            raise web.HTTPMovedPermanently(location=resource.redirect)
        if resource.stream:
            return await _stream(request, resource.stream)
        return _answer(request, resource)


def _answer(request: web.Request, resource: Resource) -> web.Response:
    headers = {"Content-Type": resource.content_type}
    if resource.validators and resource.status == 200:
        etag = '"' + hashlib.sha1(resource.body).hexdigest()[:16] + '"'
        modified = formatdate(1_700_000_000, usegmt=True)
        headers |= {"ETag": etag, "Last-Modified": modified}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
    body = resource.body
    if resource.gzip:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return web.Response(status=resource.status, body=body, headers=headers)


async def _stream(request: web.Request, size: int) -> web.StreamResponse:
    """A body of ``size`` bytes sent in chunks with no Content-Length: only reading tells."""
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
    sent = 0
    try:
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        while sent < size:
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client gave up, as it should
    return response


@dataclass(frozen=True)
class Item:
    title: str
    link: str | None = None
    guid: str | None = None
    description: str = ""
    content: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    image: str | None = None
    published: int | None = None  # unix seconds


def rss(title: str, items: list[Item], encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document (content:encoded and media:content where items have them)."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>http://example.com/</link>"
        "<description>test feed</description>"
    ]
    for item in items:
        parts.append(f"<item><title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.description:
            parts.append(f"<description>{escape(item.description)}</description>")
        if item.content:
            parts.append(f"<content:encoded><![CDATA[{item.content}]]></content:encoded>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        parts += [f"<category>{escape(c)}</category>" for c in item.categories]
        if item.image:
            parts.append(f'<media:content url="{escape(item.image)}" medium="image"/>')
        if item.published is not None:
            parts.append(f"<pubDate>{formatdate(item.published, usegmt=True)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode(encoding)


def atom(title: str, items: list[Item]) -> bytes:
    """An Atom 1.0 document; each item's description is its summary, content its content."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id>"
        "<updated>2025-01-01T00:00:00Z</updated>"
    ]
    for item in items:
        parts.append(f'<entry><title type="html">{escape(item.title)}</title>')
        parts.append(f"<id>{escape(item.guid or item.link or item.title)}</id>")
        if item.link:
            parts.append(f'<link rel="alternate" href="{escape(item.link)}"/>')
        if item.description:
            parts.append(f'<summary type="html">{escape(item.description)}</summary>')
        if item.content:
            parts.append(f'<content type="html">{escape(item.content)}</content>')
        if item.author:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        parts += [f'<category term="{escape(c)}"/>' for c in item.categories]
        if item.published is not None:
            parts.append(f"<updated>{_iso(item.published)}</updated>")
        parts.append("</entry>")
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
