"""Feeds: fetching (good, broken, slow, huge, redirecting), parsing, dedup, back-off, OPML, /feeds.

Every feed is served by ``tests.feed_server`` on 127.0.0.1; nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.rendering import feeds as feed_texts
from bot.rendering.base import utf16_len
from bot.sandbox.fake_api import SentMessage
from bot.services import feeds, opml
from bot.services.feed_fetch import FeedPolicy, NotAFeed, html_to_text, parse_feed, title_key
from bot.services.http_fetch import AddressGuard
from bot.services.ingest import InvalidArticle, normalise
from bot.services.opml import MAX_OPML_BYTES, OpmlError, from_opml, to_opml
from handlers import feeds as feed_handlers
from storage import feeds as feed_store
from storage.articles import get_article
from storage.db import Database
from tests.conftest import SHARED_DATA, shared_file
from tests.factories import EDITOR, GROUP, READER, Herald, button_data, buttons, eventually
from tests.feed_server import FeedServer, Item, Resource, atom, rss

LOCAL = AddressGuard(allow_private=True)  # the test feeds are served on 127.0.0.1
POLICY = FeedPolicy(interval=600, timeout=1.0, max_bytes=200_000, concurrency=4, guard=LOCAL)
NOW = int(time.time())


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


def story(n: int, **fields: object) -> Item:
    """A plausible item number ``n``, published a minute ago."""
    values: dict[str, object] = {
        "title": f"Council approves the new harbour plan number {n}",
        "link": f"http://news.example.com/story/{n}",
        "guid": f"urn:story:{n}",
        "description": f"<p>The council voted on plan {n}.</p><p>More follows.</p>",
        "published": NOW - 60,
    }
    return Item(**(values | fields))


async def follow(db: Database, server: FeedServer, path: str, topic: str | None = None) -> int:
    added = await feeds.add_feed(db, server.url(path), topic, EDITOR)
    return added.feed.id


async def poll_once(db: Database, now: int = NOW, **kwargs: object) -> feeds.PollReport:
    """One round by a fresh poller (closed afterwards)."""
    async with feeds.FeedPoller(db, POLICY, **kwargs) as poller:
        return await poller.poll_once(now)


async def count(db: Database, table: str) -> int:
    return int(await db.scalar(f"SELECT count(*) FROM {table}"))


# ------------------------------------------------------------------------ parsing, pure


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    fragment = (
        "<p>First &amp; <b>bold</b>\n line.</p><script>alert(1)</script>"
        "<div>Second<br/>line</div><style>p{}</style>"
    )
    assert html_to_text(fragment) == "First & bold line.\n\nSecond\nline"
    assert html_to_text("Plain\n\ntext &eacute;") == "Plain\n\ntext é"


def test_title_key_ignores_case_and_punctuation_but_not_short_titles() -> None:
    assert title_key("Council APPROVES the plan!") == title_key("council approves — the plan")
    assert title_key("Letters") is None


def test_item_becomes_an_article_input() -> None:
    body = rss(
        "The &lt;Daily&gt; Bugle",
        [
            Item(
                title="Storm &amp; <b>floods</b> hit the coast",
                link="http://bugle.example/storm",
                guid="bugle-1",
                description="<p>Rivers burst their banks.</p><p>Second paragraph.</p>",
                content="<p>Rivers burst their banks.</p><p>Full story here.</p>",
                author="Ann Writer",
                categories=("Weather", "http://scheme.example/x"),
                image="http://bugle.example/storm.jpg",
                published=1_700_000_000,
            )
        ],
    )
    parsed = parse_feed(body, "http://bugle.example/rss", "application/rss+xml", "news", NOW)
    (entry,) = parsed.entries
    article = entry.article
    assert parsed.title == "The <Daily> Bugle"
    assert article.title == "Storm & floods hit the coast"
    assert article.summary == "Rivers burst their banks."
    assert article.body == "Rivers burst their banks.\n\nFull story here."
    assert (article.url, article.external_id) == ("http://bugle.example/storm", "bugle-1")
    assert article.authors == ("Ann Writer",) and article.topics == ("news", "Weather")
    assert article.image_url == "http://bugle.example/storm.jpg"
    assert article.published_at == 1_700_000_000


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(NotAFeed):
        parse_feed(b"<!doctype html><html><body><p>Hello</p></body></html>", "http://x/")


def _shared_feed_files() -> list[Path]:
    root = SHARED_DATA / "feeds"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "INDEX.md")
    return files or [root / "absent"]


@pytest.mark.parametrize(
    "path", _shared_feed_files(), ids=lambda p: str(p.relative_to(SHARED_DATA / "feeds"))
)
def test_every_shared_feed_parses_without_raising(path: Path) -> None:
    """~250 real and broken feeds: items or NotAFeed, never an exception."""
    shared_file(str(path.relative_to(SHARED_DATA)))
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    try:
        parsed = parse_feed(data, "http://example.com/feed.xml", "", "news", NOW)
    except NotAFeed:
        return
    for entry in parsed.entries:
        try:
            normalise(entry.article, NOW)
        except InvalidArticle:
            pass


# ------------------------------------------------------------------------------- OPML


@dataclass(frozen=True)
class Listed:
    url: str
    title: str = ""
    topic: str | None = None


def test_opml_round_trip_and_refusals() -> None:
    listed = [Listed("http://a.example/rss", "A & B", "politics"), Listed("https://b.example/x")]
    assert from_opml(to_opml(listed)) == [
        ("http://a.example/rss", "A & B"),
        ("https://b.example/x", "https://b.example/x"),
    ]
    nested = (
        b'<opml version="1.0"><body><outline text="News"><outline text="X" '
        b'xmlUrl="http://x.example/feed"/><outline xmlUrl="ftp://no"/></outline></body></opml>'
    )
    assert from_opml(nested) == [("http://x.example/feed", "X")]
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        b"<opml><body><outline xmlUrl='http://x/&lol;'/></body></opml>"
    )
    for bad in (laughs, b"not xml at all", b"<opml><body/></opml>"):
        with pytest.raises(OpmlError):
            from_opml(bad)


async def test_opml_import_follows_each_feed_once(db: Database) -> None:
    data = b'<opml><body><outline xmlUrl="http://a.example/rss" title="A"/></body></opml>'
    first = await opml.import_opml(db, data, EDITOR, "world")
    again = await opml.import_opml(db, data, EDITOR)
    (feed,) = await feeds.list_feeds(db)
    assert (first.added, again.added, again.existing) == (1, 0, 1)
    assert (feed.title, feed.topic) == ("A", "world")
    assert b'xmlUrl="http://a.example/rss"' in await opml.export_opml(db)


# ------------------------------------------------------------------- polling a live server


async def test_rss_atom_gzip_and_legacy_encodings_are_stored(
    db: Database, server: FeedServer
) -> None:
    cyrillic = Item(title="Новости дня: мэр открыл новый мост", link="http://ru.example/1")
    latin = Item(title="Café crème prices rise in Zürich", link="http://fr.example/1")
    server.routes |= {
        "/rss.xml": Resource(rss("Rss Feed", [story(1), story(2)])),
        "/atom.xml": Resource(atom("Atom Feed", [story(3, title="Atom <i>entry</i> three")])),
        "/gzip.xml": Resource(rss("Zipped", [story(4)]), gzip=True),
        "/cp1251.xml": Resource(
            rss("Лента", [cyrillic], encoding="windows-1251"), content_type="text/xml"
        ),
        "/latin1.xml": Resource(
            rss("Latin", [latin], encoding="iso-8859-1"), content_type="application/xml"
        ),
    }
    for path in server.routes:
        await follow(db, server, path, "world")
    report = await poll_once(db)
    assert (report.fetched, report.failed, report.added) == (5, 0, 6)
    titles = {row[0] for row in await db.fetchall("SELECT title FROM articles")}
    assert {"Atom entry three", cyrillic.title, latin.title} <= titles
    sources = {row[0] for row in await db.fetchall("SELECT DISTINCT source FROM articles")}
    assert sources == {"Rss Feed", "Atom Feed", "Zipped", "Лента", "Latin"}


async def test_conditional_get_and_no_duplicates_on_repoll(
    db: Database, server: FeedServer
) -> None:
    server.routes["/rss.xml"] = Resource(rss("Feed", [story(1), story(2)]))
    await follow(db, server, "/rss.xml")
    poller = feeds.FeedPoller(db, POLICY)
    assert (await poller.poll_once(NOW)).added == 2
    again = await poller.poll_once(NOW + 1, force=True)
    assert (again.not_modified, again.added) == (1, 0)
    second = server.requests_to("/rss.xml")[1]
    assert second.headers.get("If-None-Match", "").startswith('"')
    assert "If-Modified-Since" in second.headers
    # Without validators the body is parsed again: seen guids add nothing, a new item is added.
    server.routes["/rss.xml"] = Resource(rss("Feed", [story(3), story(1)]), validators=False)
    third = await poller.poll_once(NOW + 2, force=True)
    assert (third.added, third.seen) == (1, 1)
    assert await count(db, "articles") == 3
    await poller.close()


async def test_broken_slow_huge_and_redirecting_feeds_never_stop_the_poll(
    db: Database, server: FeedServer
) -> None:
    server.routes |= {
        "/good.xml": Resource(rss("Good", [story(1)])),
        "/moved.xml": Resource(redirect="/good2.xml"),
        "/good2.xml": Resource(rss("Good two", [story(2)])),
        "/illformed.xml": Resource(b'<?xml version="1.0"?><rss><channel><title>x</ti'),
        "/page.html": Resource(b"<html><body><h1>Welcome</h1></body></html>", "text/html"),
        "/error.xml": Resource(b"oops", status=500),
        "/slow.xml": Resource(rss("Slow", [story(3)]), delay=60.0),
        "/huge.xml": Resource(b"<rss>" + b" " * 300_000 + b"</rss>"),
        "/endless.xml": Resource(stream=1_000_000),
        "/loop-a": Resource(redirect="/loop-b"),
        "/loop-b": Resource(redirect="/loop-a"),
    }
    for path in [*server.routes, "/missing.xml"]:
        if path not in ("/good2.xml", "/loop-b"):
            await follow(db, server, path)
    # The slow feed answers after a minute: the poll ends long before, at its 1 s timeout
    # (a generous bound, so a loaded machine cannot fail it; a missing timeout always would).
    report = await asyncio.wait_for(poll_once(db), timeout=30)
    assert (report.added, report.failed) == (2, 8)
    errors = {f.url.rsplit("/", 1)[1]: f for f in await feeds.list_feeds(db)}
    expected = {
        "illformed.xml": "ill-formed XML",
        "page.html": "not an RSS or Atom feed",
        "error.xml": "answered 500",
        "missing.xml": "answered 404",
        "slow.xml": "no answer within 1 s",
        "huge.xml": "300,011 bytes declared",
        "endless.xml": "larger than 200 kB",
        "loop-a": "more than 5 redirects",
    }
    for name, text in expected.items():
        feed = errors[name]
        assert feed.errors == 1 and text in (feed.last_error or ""), (name, feed.last_error)
        assert feed.next_fetch_at == NOW + 2 * POLICY.interval  # backed off
    assert errors["good.xml"].errors == errors["moved.xml"].errors == 0


async def test_backoff_grows_and_editors_are_told_once(db: Database, server: FeedServer) -> None:
    server.routes["/flaky.xml"] = Resource(b"down", status=503)
    await follow(db, server, "/flaky.xml")
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    poller = feeds.FeedPoller(db, POLICY, notify=notify)
    now, delays = NOW, []
    for _ in range(7):
        await poller.poll_once(now)
        (feed,) = await feeds.list_feeds(db)
        delays.append(feed.next_fetch_at - now)
        now = feed.next_fetch_at
    assert delays == [1200, 2400, 4800, 9600, 19200, 21600, 21600]
    assert feed.errors == 7 and feed.total_errors == 7
    assert len(told) == 1 and "failed 5 times in a row" in told[0] and "answered 503" in told[0]
    server.routes["/flaky.xml"] = Resource(rss("Flaky", [story(1)]))
    await poller.poll_once(now)
    (feed,) = await feeds.list_feeds(db)
    assert (feed.errors, feed.notified, feed.items) == (0, False, 1)
    assert len(told) == 2 and "works again" in told[1]
    await poller.close()


async def test_same_story_from_two_feeds_is_one_article_with_two_sources(
    db: Database, server: FeedServer
) -> None:
    shared_link = story(1, guid="a-1")
    same_title = story(2, guid="a-2", link="http://a.example/2")
    server.routes |= {
        "/a.xml": Resource(rss("Agency A", [shared_link, same_title])),
        "/b.xml": Resource(
            rss(
                "Agency B",
                [
                    story(1, guid="b-1", title="A different headline for story one"),
                    story(2, guid="b-2", link="http://b.example/2", title=same_title.title + "!"),
                ],
            )
        ),
    }
    await follow(db, server, "/a.xml")
    await follow(db, server, "/b.xml")
    report = await poll_once(db)
    assert (report.added, report.merged) == (2, 2)
    assert await count(db, "articles") == 2 and await count(db, "feed_items") == 4
    for (article_id,) in await db.fetchall("SELECT id FROM articles"):
        assert await feed_store.sources_of(db, article_id) == ["Agency A", "Agency B"]


async def test_items_sharing_one_guid_are_stored_once(db: Database, server: FeedServer) -> None:
    items = [story(n, guid="same-guid") for n in range(1, 5)]
    server.routes["/dupes.xml"] = Resource(rss("Dupes", items))
    await follow(db, server, "/dupes.xml")
    report = await poll_once(db)
    assert (report.added, report.seen) == (1, 3)
    assert await count(db, "articles") == 1


async def test_old_items_are_stored_but_not_pushed(db: Database, server: FeedServer) -> None:
    await db.execute(
        "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
        (READER,),
    )
    await db.execute(
        "INSERT INTO subscriptions (chat_id, kind, created_at) VALUES (?, 'all', 0)", (READER,)
    )
    server.routes["/rss.xml"] = Resource(rss("Feed", [story(0)]))
    await follow(db, server, "/rss.xml")
    await poll_once(db)  # the first poll is the feed's archive: stored, never pushed
    assert await count(db, "articles") == 1 and await count(db, "outbox") == 0
    archive = story(1, published=NOW - 30 * 86400)
    server.routes["/rss.xml"] = Resource(rss("Feed", [archive, story(2), story(0)]))
    woken: list[bool] = []
    await poll_once(db, NOW + POLICY.interval, on_new=lambda: woken.append(True))
    assert await count(db, "articles") == 3 and await count(db, "outbox") == 1
    assert woken == [True]


# ------------------------------------------------------------------- end to end: /feeds


async def test_editor_adds_a_feed_and_a_subscriber_gets_its_headline(
    herald: Herald, server: FeedServer
) -> None:
    url = server.url("/rss.xml")
    added = await herald.send(f"/feeds add {url} politics", chat_id=EDITOR)
    assert "Following" in added.visible_text and "#politics" in added.visible_text
    services = herald.services
    if feeds.POLLER_KEY in herald.app.bot_data:  # bot.app runs a poller: let it find a 404
        await eventually(_failed_once(services.db))
    subscribed = await herald.send("/subscribe politics")
    assert "Subscribed to #politics" in subscribed.visible_text
    archive = story(2, title="Last week the harbour bill was first read")
    server.routes["/rss.xml"] = Resource(rss("Capital Times", [archive]))
    async with feeds.FeedPoller(services.db, POLICY, on_new=services.outbox_changed) as poller:
        assert (await poller.poll_once(force=True)).added == 1  # the archive: stored only
        fresh = story(1, title="Parliament passes the harbour bill tonight")
        server.routes["/rss.xml"] = Resource(rss("Capital Times", [fresh, archive]))
        assert (await poller.poll_once(force=True)).added == 1

    async def pushed() -> bool:
        return any(
            "Parliament passes the harbour bill" in m.visible_text
            for m in herald.api.messages.get(READER, {}).values()
        )

    await eventually(pushed)
    article = await get_article(services.db, 2)
    assert article is not None and article.topics == ("politics",)
    pushes = [m.visible_text for m in herald.api.messages[READER].values()]
    assert not any("first read" in text for text in pushes)
    listing = await herald.send("/feeds", chat_id=EDITOR)
    assert "Capital Times" in listing.visible_text and "2 items" in listing.visible_text
    removed = await herald.send("/feeds remove 1", chat_id=EDITOR)
    assert "No longer following" in removed.visible_text
    assert await count(services.db, "feeds") == 0


async def test_non_editor_is_refused_and_nothing_is_stored(
    herald: Herald, server: FeedServer
) -> None:
    refused = await herald.send(f"/feeds add {server.url('/rss.xml')} politics")
    assert "only Herald's editors" in refused.visible_text
    assert await count(herald.services.db, "feeds") == 0
    bad = await herald.send("/feeds add ftp://example.com/feed", chat_id=EDITOR)
    assert "http://" in bad.visible_text and await count(herald.services.db, "feeds") == 0


async def test_running_poller_fetches_a_new_feed_at_once(
    herald: Herald, server: FeedServer
) -> None:
    """As ``bot.app`` runs it: /feeds add wakes the poller, the feed is read at once."""
    server.routes["/wire.xml"] = Resource(rss("Wire", [story(7, title="Ferry strike ends today")]))
    await herald.send("/subscribe")
    stop = asyncio.Event()
    running = None
    if feeds.POLLER_KEY not in herald.app.bot_data:  # until bot.app starts it itself
        running = asyncio.create_task(feed_handlers.run_poller(herald.app, herald.services, stop))
    try:
        await eventually(_poller_registered(herald))
        await herald.send(f"/feeds add {server.url('/wire.xml')}", chat_id=EDITOR)

        async def stored() -> bool:
            return await count(herald.services.db, "articles") == 1

        await eventually(stored)  # a first poll is the feed's archive: in /latest, not pushed
        latest = await herald.send("/latest")
        assert "Ferry strike ends today" in latest.visible_text
    finally:
        stop.set()
        if running is not None:
            await asyncio.wait_for(running, timeout=5)


def _failed_once(db: Database) -> Callable[[], Awaitable[bool]]:
    async def failed() -> bool:
        return any(feed.errors for feed in await feeds.list_feeds(db))

    return failed


def _poller_registered(herald: Herald) -> Callable[[], Awaitable[bool]]:
    async def registered() -> bool:
        return feeds.POLLER_KEY in herald.app.bot_data

    return registered


# ------------------------------------------------------------- end to end: OPML as files


async def send_file(
    herald: Herald, filename: str, data: bytes, caption: str | None = None
) -> SentMessage:
    """The editor sends a file in the private chat; returns Herald's text reply."""
    mark = herald.api.mark()
    herald.api.send_document(EDITOR, EDITOR, filename, data, caption)
    call = await herald.api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == EDITOR, after=mark
    )
    assert call.ok, call.error
    return herald.api.messages[EDITOR][call.result["message_id"]]


async def test_export_sends_the_feed_list_as_an_opml_file(
    herald: Herald, db: Database, server: FeedServer
) -> None:
    first, second = server.url("/times.xml"), server.url("/wire.xml")
    await feeds.add_feed(db, first, "politics", EDITOR, title="Capital Times")
    await feeds.add_feed(db, second, None, EDITOR)
    mark = herald.api.mark()
    herald.api.send_text("/feeds export", chat_id=EDITOR)
    call = await herald.api.wait_for("sendDocument", after=mark)
    assert call.ok, call.error
    sent = herald.api.messages[EDITOR][call.result["message_id"]]
    assert "Send this file back to me" in sent.visible_text
    exported = herald.api.file(sent.document)
    assert exported.filename == "herald-feeds.opml"
    assert from_opml(exported.data) == [(first, "Capital Times"), (second, second)]
    assert b'category="politics"' in exported.data


async def test_editor_sends_an_opml_file_and_herald_follows_its_feeds(
    herald: Herald, server: FeedServer
) -> None:
    urls = [server.url("/a.xml"), server.url("/b.xml")]
    data = to_opml([Listed(urls[0], "Agency A"), Listed(urls[1], "Agency B")])
    answer = await send_file(herald, "from-my-reader.opml", data, caption="world")
    assert answer.visible_text == "📥 Following 2 new feeds (0 were followed already)."
    listing = await herald.send("/feeds", chat_id=EDITOR)
    assert "1. Agency A #world" in listing.visible_text
    assert "2. Agency B #world" in listing.visible_text
    again = await send_file(herald, "from-my-reader.opml", data)
    assert again.visible_text == "📥 Following 0 new feeds (2 were followed already)."


async def test_opml_files_from_readers_or_groups_are_ignored(
    herald: Herald, db: Database, server: FeedServer
) -> None:
    data = to_opml([Listed(server.url("/a.xml"), "Agency A")])
    mark = herald.api.mark()
    herald.api.send_document(READER, READER, "feeds.opml", data)
    herald.api.send_document(GROUP, EDITOR, "feeds.opml", data)  # an editor, but not in private
    reply = await herald.send("/help")
    sent = [c for c in herald.api.calls[mark:] if c.method == "sendMessage"]
    assert [c.result["message_id"] for c in sent] == [reply.message_id]
    assert herald.api.calls_of("getFile") == [] and herald.api.downloads == []
    assert await count(db, "feeds") == 0


async def test_oversized_and_non_opml_files_get_a_short_error(herald: Herald, db: Database) -> None:
    huge = b"<opml><body>" + b" " * MAX_OPML_BYTES + b"</body></opml>"
    too_big = await send_file(herald, "huge.opml", huge)
    assert too_big.visible_text == (
        "⚠️ That file is too big: I read OPML files up to 1,000,000 bytes."
    )
    assert herald.api.downloads == []  # refused on the size Telegram reports, unread
    a_feed = await send_file(herald, "feed.xml", rss("Not a list", [story(1)]))
    assert a_feed.visible_text == (
        "⚠️ I could not import that file: no feeds found (outlines with an xmlUrl)."
    )
    garbage = await send_file(herald, "feeds.opml", b"\x89PNG not xml at all")
    assert garbage.visible_text.startswith("⚠️ I could not import that file: not valid XML")
    assert await count(db, "feeds") == 0


async def test_remove_by_url_and_bad_numbers(db: Database) -> None:
    await feeds.add_feed(db, "http://a.example/rss", None, EDITOR)
    await feeds.add_feed(db, "http://b.example/rss", None, EDITOR)
    with pytest.raises(feeds.FeedProblem, match="no feed number 3"):
        await feeds.remove_feed(db, "3")
    removed = await feeds.remove_feed(db, "http://b.example/rss")
    assert removed.url == "http://b.example/rss"
    assert [f.url for f in await feeds.list_feeds(db)] == ["http://a.example/rss"]


def _feed(number: int, **fields: object) -> feed_store.Feed:
    values: dict[str, object] = dict(
        id=number, url=f"http://feed{number}.example/rss", title=f"Feed {number}", topic=None,
        etag=None, last_modified=None, body_hash=None, last_fetch_at=NOW - 120,
        last_success_at=NOW - 120, next_fetch_at=NOW + 600, errors=0, total_errors=0,
        last_error=None, notified=False, items=5,
    )  # fmt: skip
    return feed_store.Feed(**(values | fields))


def test_feed_list_shows_failures_and_fits_one_message() -> None:
    failing = _feed(
        1, url="http://x.example/rss", title="X <News>", topic="world", last_success_at=None,
        next_fetch_at=NOW + 3600, errors=3, total_errors=4, last_error="HTTP 500", items=12,
    )  # fmt: skip
    text = feed_texts.feed_page([failing], 0, NOW).text
    assert "X &lt;News&gt;" in text and "#world" in text and "last fetch 2 min ago" in text
    assert "12 items · 4 errors in all" in text and "3 in a row: HTTP 500" in text
    one = feed_texts.feed_page([_feed(1, items=1, total_errors=1)], 0, NOW).text
    assert "1 item · 1 error in all" in one
    long_url = "http://x.example/" + "u" * 400
    long_names = [_feed(n, title="T" * 300, url=long_url) for n in range(200)]
    for page in range(30):
        rendered = feed_texts.feed_page(long_names, page, NOW)
        assert utf16_len(rendered.text) <= 4096


async def _all_pages(herald: Herald, first: SentMessage) -> list[str]:
    """Every page of the feed list, pressing Next ▶ on the same message until it is gone."""
    pages = [first.visible_text]
    message = first
    while any(text == "Next ▶" for text, _ in buttons(message)):
        _, message = await herald.press(message, button_data(message, "Next ▶"))
        assert message.message_id == first.message_id  # the same message, edited
        pages.append(message.visible_text)
    return pages


async def test_feed_list_pages_through_all_54_feeds_failing_first(
    herald: Herald, db: Database
) -> None:
    for n in range(1, 55):
        await feeds.add_feed(db, f"http://feed{n}.example/rss", None, EDITOR, title=f"Feed {n}")
        # Not due while the list is read: the running bot's poller must not fetch them.
        await feed_store.schedule_fetch(db, n, NOW + 3600)
    for n in (3, 30, 54):  # three feeds failing, one on each part of the list
        await feed_store.record_failure(db, n, 1, "HTTP 503", NOW, NOW + 600)
    first = await herald.send("/feeds", chat_id=EDITOR)
    assert first.visible_text.startswith("Feeds (54) · ⚠️ 3 failing · page 1 of 6")
    assert [text for text, _ in buttons(first)] == ["Next ▶"]
    shown = first.visible_text.split("\n\n")[1:4]
    assert [block.split("\n")[0] for block in shown] == [
        "⚠️ 3. Feed 3", "⚠️ 30. Feed 30", "⚠️ 54. Feed 54"
    ]
    assert "failing, 1 in a row: HTTP 503" in shown[0]
    pages = await _all_pages(herald, first)
    assert len(pages) == 6 and pages[-1].startswith("Feeds (54) · ⚠️ 3 failing · page 6 of 6")
    every = "\n".join(pages)
    for n in range(1, 55):  # every feed once, each with its last fetch, items and errors
        assert every.count(f". Feed {n}\n") == 1, n
    assert every.count("not fetched yet · 0 items · no errors") == 51
    last = herald.api.messages[EDITOR][first.message_id]
    assert [text for text, _ in buttons(last)] == ["◀ Previous"]
    _, back = await herald.press(last, button_data(last, "◀ Previous"))
    assert back.visible_text == pages[-2]
    removed = await herald.send("/feeds remove 30", chat_id=EDITOR)
    assert "Feed 30" in removed.visible_text  # numbers are what /feeds remove N takes


async def test_feed_list_buttons_are_for_editors_only(herald: Herald, db: Database) -> None:
    for n in range(1, 15):
        await feeds.add_feed(db, f"http://feed{n}.example/rss", None, EDITOR, title=f"Feed {n}")
    listing = await herald.send("/feeds", chat_id=EDITOR)
    mark = herald.api.mark()
    update = herald.api.press_button(
        EDITOR, listing.message_id, button_data(listing, "Next ▶"), user_id=READER
    )
    query_id = update["callback_query"]["id"]
    answer = await herald.api.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id, after=mark
    )
    assert answer.params["text"] == "Sorry, only Herald's editors can do that."
    assert not herald.api.messages[EDITOR][listing.message_id].edited
