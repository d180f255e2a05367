"""``/post URL``'s page reading, against pages served by ``tests.feed_server`` on 127.0.0.1.

Each test is a page an editor might send, good or hostile, and asserts what the editor gets
back: the article's fields, or the one line that says why there is none.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import trafilatura

from bot.services.http_fetch import AddressGuard
from bot.services.page_extract import ExtractedPage, PageProblem, extract_page
from tests.feed_server import FeedServer, Resource

HTML = "text/html; charset=utf-8"
TIMEOUT = 0.5  # seconds: every page here answers at once, except the slow one
MAX_BYTES = 50_000
LOCAL = AddressGuard(allow_private=True)  # these pages are served on 127.0.0.1

NEWS_PAGE = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Flood barrier holds as river peaks | The Daily Test</title>
<meta property="og:title" content="Flood barrier holds as river peaks">
<meta property="og:description" content="The new barrier kept the old town dry on Tuesday night.">
<meta property="og:image" content="/img/barrier.jpg">
<meta property="og:site_name" content="The Daily Test">
<meta property="article:author" content="Jane Doe">
<meta property="article:published_time" content="2025-03-04T17:30:00+01:00">
<link rel="canonical" href="https://news.example.com/2025/03/flood-barrier">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav></header>
<article>
<h1>Flood barrier holds as river peaks</h1>
<p>The river rose to its highest level in forty years on Tuesday, but the new barrier held
and the old town stayed dry for the first time in a generation.</p>
<p>Engineers said the barrier performed exactly as designed, and residents who had moved
their belongings upstairs began to return home on Wednesday morning.</p>
<p>"We were lucky, and we were prepared," the mayor told reporters at the town hall.</p>
</article>
<footer>Copyright 2025 The Daily Test. All rights reserved.</footer>
</body></html>
"""

PLAIN_PAGE = """<html><head><title>Council approves the new city budget</title></head>
<body>
<p>The city council approved next year's budget on Monday evening after a six-hour debate
that ran well past midnight.</p>
<p>Spending on roads rises by a tenth, while the libraries keep their opening hours despite
earlier plans to cut them.</p>
</body></html>
"""


def legacy_page(charset: str, title: str, paragraph: str, *, meta: bool = True) -> bytes:
    """A page in a legacy encoding, declared in its ``<meta>`` as old CMSes do (or not).

    A page labelled iso-8859-1 is written in windows-1252, as such pages are on the web.
    """
    declaration = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    page = (
        f"<html><head>{declaration if meta else ''}"
        f"<title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{paragraph}</p><p>{paragraph}</p></article></body></html>"
    )
    return page.encode("cp1252" if charset == "iso-8859-1" else charset)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


async def extract(server: FeedServer, path: str, **options: Any) -> ExtractedPage:
    options = {"timeout": TIMEOUT, "max_bytes": MAX_BYTES, "guard": LOCAL} | options
    return await extract_page(server.url(path), **options)


async def problem(server: FeedServer, path: str, **options: Any) -> str:
    """The line the editor reads when ``path`` gives no article."""
    with pytest.raises(PageProblem) as caught:
        await extract(server, path, **options)
    return str(caught.value)


async def test_a_news_page_gives_every_field_from_its_opengraph_tags(server: FeedServer) -> None:
    server.routes["/story"] = Resource(NEWS_PAGE.encode(), HTML)

    page = await extract(server, "/story")

    assert page.title == "Flood barrier holds as river peaks"
    assert page.lead == "The new barrier kept the old town dry on Tuesday night."
    assert page.image_url == server.url("/img/barrier.jpg")
    assert page.authors == ("Jane Doe",)
    assert page.published_at == int(datetime(2025, 3, 4, 16, 30, tzinfo=UTC).timestamp())
    assert page.url == "https://news.example.com/2025/03/flood-barrier"
    assert page.source == "The Daily Test"
    assert page.body.startswith("The river rose to its highest level in forty years")
    assert "the mayor told reporters" in page.body
    assert "\n\n" in page.body  # paragraphs stay paragraphs
    for boilerplate in ("Sport", "Copyright", page.title):
        assert boilerplate not in page.body
    assert server.requests_to("/story")[0].headers["User-Agent"].startswith("Herald/")


async def test_a_page_with_only_a_title_and_paragraphs(server: FeedServer) -> None:
    server.routes["/plain"] = Resource(PLAIN_PAGE.encode(), "text/html")

    page = await extract(server, "/plain")

    assert page.title == "Council approves the new city budget"
    assert page.lead.startswith("The city council approved next year's budget on Monday")
    assert "libraries keep their opening hours" in page.body
    assert page.url == server.url("/plain")
    assert page.source == "127.0.0.1"
    assert (page.image_url, page.authors, page.published_at) == (None, (), None)


@pytest.mark.parametrize(
    ("charset", "title", "paragraph"),
    [
        (
            "windows-1251",
            "Дамба выдержала паводок",
            "Река поднялась до самого высокого уровня за сорок лет, но новая дамба выдержала, "
            "и старый город остался сухим.",
        ),
        (
            "iso-8859-1",  # read as windows-1252, as browsers do: its curly quotes survive
            "Café owners “relieved” after the flood",
            "Owners of the riverside cafés said on Wednesday that the water stopped a few "
            "metres short of their terraces – for the first time in years.",
        ),
    ],
)
async def test_a_legacy_encoding_declared_in_meta_is_decoded(
    server: FeedServer, charset: str, title: str, paragraph: str
) -> None:
    server.routes["/legacy"] = Resource(legacy_page(charset, title, paragraph), "text/html")

    page = await extract(server, "/legacy")

    assert page.title == title
    assert page.lead == paragraph


async def test_a_charset_in_the_content_type_header_is_decoded(server: FeedServer) -> None:
    title, paragraph = "Мэр: нам повезло", "Вода остановилась в двух метрах от набережной."
    body = legacy_page("koi8-u", title, paragraph, meta=False)
    server.routes["/legacy"] = Resource(body, "text/html; charset=KOI8-U")

    page = await extract(server, "/legacy")

    assert (page.title, page.lead) == (title, paragraph)


async def test_a_gzipped_page_is_read(server: FeedServer) -> None:
    server.routes["/zipped"] = Resource(NEWS_PAGE.encode(), HTML, gzip=True)

    page = await extract(server, "/zipped")

    assert page.title == "Flood barrier holds as river peaks"
    assert server.requests_to("/zipped")[0].headers.get("Accept-Encoding", "").count("gzip")


async def test_a_redirect_chain_ends_at_the_page_it_leads_to(server: FeedServer) -> None:
    server.routes["/short"] = Resource(redirect="/moved")
    server.routes["/moved"] = Resource(redirect="/2025/story")
    server.routes["/2025/story"] = Resource(
        PLAIN_PAGE.replace("<body>", '<body><img src="pic.jpg">').encode(), HTML
    )

    page = await extract(server, "/short")

    assert page.title == "Council approves the new city budget"
    assert page.url == server.url("/2025/story")


async def test_an_image_url_that_is_not_a_web_address_is_dropped(server: FeedServer) -> None:
    html = NEWS_PAGE.replace("/img/barrier.jpg", "javascript:alert(1)")
    server.routes["/story"] = Resource(html.encode(), HTML)

    page = await extract(server, "/story")

    assert page.image_url is None
    assert page.title == "Flood barrier holds as river peaks"


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (None, "the server answered 404 Not Found"),
        (Resource(b"oops", HTML, status=500), "the server answered 500 Internal Server Error"),
        (Resource(b"\x89PNG\r\n\x1a\n", "image/png"), "that address is not a web page (image/png)"),
        (Resource(b"{}", "application/json"), "that address is not a web page (application/json)"),
        (Resource(b"", HTML), "the page is empty"),
        (Resource(b"  \n\t ", HTML), "the page is empty"),
        (Resource(bytes(range(256)) * 4, HTML), "I could not find a headline on that page"),
        (Resource(b"just some words", HTML), "I could not find a headline on that page"),
        (
            Resource(b"<html><body><div><br></div></body></html>", HTML),
            "I could not find a headline on that page",
        ),
    ],
    ids=["404", "500", "png", "json", "empty", "blank", "binary", "text", "no-title"],
)
async def test_a_page_that_is_no_article_gets_one_clear_line(
    server: FeedServer, resource: Resource | None, message: str
) -> None:
    if resource is not None:
        server.routes["/page"] = resource

    assert await problem(server, "/page") == message


async def test_a_slow_page_is_given_up_at_the_deadline(server: FeedServer) -> None:
    server.routes["/slow"] = Resource(NEWS_PAGE.encode(), HTML, delay=3.0)

    assert await problem(server, "/slow", timeout=0.2) == "no answer within 0.2 s"


@pytest.mark.parametrize("zipped", [False, True], ids=["declared", "decompressed"])
async def test_a_page_over_the_size_cap_is_refused(server: FeedServer, zipped: bool) -> None:
    # Zipped, the page is a few hundred bytes on the wire: only counting while reading tells.
    padding = "<p>" + "filler " * 20_000 + "</p>"
    big = NEWS_PAGE.replace("</article>", padding + "</article>").encode()
    server.routes["/big"] = Resource(big, HTML, gzip=zipped)

    assert (await problem(server, "/big")).startswith("larger than 50 kB")


async def test_a_redirect_loop_is_given_up(server: FeedServer) -> None:
    server.routes["/loop-a"] = Resource(redirect="/loop-b")
    server.routes["/loop-b"] = Resource(redirect="/loop-a")

    assert await problem(server, "/loop-a") == "more than 5 redirects"


@pytest.mark.parametrize("address", ["ftp://example.com/story", "example.com/story", "mailto:x@y"])
async def test_only_web_addresses_are_fetched(address: str) -> None:
    with pytest.raises(PageProblem) as caught:
        await extract_page(address, timeout=TIMEOUT, max_bytes=MAX_BYTES)

    assert str(caught.value) == (
        "that is not a web address (it must start with http:// or https://)"
    )


async def test_a_server_that_is_not_there() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(PageProblem) as caught:
        await extract_page(
            f"http://127.0.0.1:{port}/story", timeout=TIMEOUT, max_bytes=MAX_BYTES, guard=LOCAL
        )

    assert str(caught.value) == "I could not connect to 127.0.0.1"


async def test_the_bot_keeps_running_while_a_page_is_parsed(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing waits for the event loop to answer: were it parsing on the loop, nothing
    # could answer and the wait would fail (a deadlock guard, not a measurement).
    server.routes["/story"] = Resource(NEWS_PAGE.encode(), HTML)
    parsing, loop_answered = threading.Event(), threading.Event()
    real_extraction = trafilatura.bare_extraction

    def waiting_extraction(*args: Any, **kwargs: Any) -> Any:
        parsing.set()
        assert loop_answered.wait(5), "the event loop was blocked while the page was parsed"
        return real_extraction(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", waiting_extraction)
    task = asyncio.create_task(extract(server, "/story"))
    assert await asyncio.to_thread(parsing.wait, 5)
    loop_answered.set()

    assert (await task).title == "Flood barrier holds as river peaks"


async def test_a_crash_inside_the_extractor_is_a_page_problem(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/story"] = Resource(NEWS_PAGE.encode(), HTML)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")  # deeply nested markup

    monkeypatch.setattr(trafilatura, "bare_extraction", crash)

    assert await problem(server, "/story") == "I could not read that page"
