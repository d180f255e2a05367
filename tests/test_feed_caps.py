"""A followed feed turns hostile (issue 13, finding 1): subscribers are not flooded.

The real Herald runs against the fake Bot API with a reader subscribed to everything; the
feed is served on 127.0.0.1. The hostile documents here are small (a few thousand items) to
keep the tests fast; ``bench/hostile_feed.py`` polls the 100,000-item one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.fake_api import FakeBotAPI
from bot.services import feeds
from bot.services.feed_fetch import FeedPolicy, cut_items, parse_feed
from bot.services.http_fetch import AddressGuard
from tests.factories import EDITOR, READER, Herald, eventually, herald_running, settings_for
from tests.feed_server import FeedServer, Item, Resource, rss

NOW = int(time.time())
POLICY = FeedPolicy(
    interval=600,
    timeout=2.0,
    max_bytes=300_000,
    max_items=50,
    max_pushes=2,
    parse_processes=0,
    guard=AddressGuard(allow_private=True),
)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


def dated(n: int, at: int = NOW - 60) -> Item:
    return Item(f"Harbour council vote number {n} is news", guid=f"dated-{n}", published=at)


def undated_flood(count: int, start: int = 0) -> bytes:
    """``count`` items with a title and nothing else: no date, no link (about 60 bytes each)."""
    return rss("Wire", [Item(f"Buy cheap pills now offer {n:07d}") for n in range(start, count)])


class Editors:
    """The notices the poller sends to editors (``handlers.feeds.run_poller`` sends them)."""

    def __init__(self) -> None:
        self.told: list[str] = []

    async def __call__(self, text: str) -> None:
        self.told.append(text)


async def pushes_to(herald: Herald) -> int:
    rows = await herald.services.db.scalar(
        "SELECT count(*) FROM outbox WHERE chat_id = ?", (READER,)
    )
    return int(rows)


async def start(herald: Herald, server: FeedServer) -> tuple[feeds.FeedPoller, Editors]:
    """The reader subscribes to everything; Herald follows /wire.xml and polls it once."""
    assert "Subscribed" in (await herald.send("/subscribe")).visible_text
    server.routes["/wire.xml"] = Resource(rss("Wire", [dated(n) for n in range(10)]))
    await feeds.add_feed(herald.services.db, server.url("/wire.xml"), None, EDITOR)
    editors = Editors()
    poller = feeds.FeedPoller(
        herald.services.db, POLICY, on_new=herald.services.outbox_changed, notify=editors
    )
    first = await poller.poll_once(NOW, force=True)
    assert first.added == 10
    return poller, editors


async def test_a_first_poll_and_an_undated_flood_push_nothing_and_editors_hear_once(
    herald: Herald, server: FeedServer
) -> None:
    poller, editors = await start(herald, server)
    assert await pushes_to(herald) == 0  # the first poll is the feed's archive

    server.routes["/wire.xml"] = Resource(undated_flood(3_000), validators=False)
    flood = await poller.poll_once(NOW + 900, force=True)
    server.routes["/wire.xml"] = Resource(undated_flood(6_000, 3_000), validators=False)
    again = await poller.poll_once(NOW + 1800, force=True)
    await poller.close()

    assert (flood.added, flood.cut, again.added) == (50, 2_950, 50)  # 50 a poll, no more
    assert await pushes_to(herald) == 0  # an undated item never proves it is new
    assert len(editors.told) == 1 and "lists 3,000 items and Herald reads 50" in editors.told[0]
    latest = await herald.send("/latest")  # stored: readers can still find them
    assert "Buy cheap pills" in latest.visible_text
    texts = [m.visible_text for m in herald.api.messages[READER].values()]
    assert sum("Buy cheap pills" in t for t in texts) == 1  # only in the /latest answer


async def test_pushes_a_feed_may_send_are_capped_per_hour(
    herald: Herald, server: FeedServer
) -> None:
    poller, editors = await start(herald, server)

    burst = [dated(n) for n in range(100, 112)]
    server.routes["/wire.xml"] = Resource(rss("Wire", burst), validators=False)
    report = await poller.poll_once(NOW + 900, force=True)
    assert await pushes_to(herald) == 2  # max_pushes; the other 10 are stored only
    assert (report.added, report.held) == (12, 10)

    more = [dated(n, NOW + 1000) for n in range(200, 203)]
    server.routes["/wire.xml"] = Resource(rss("Wire", more + burst), validators=False)
    await poller.poll_once(NOW + 1800, force=True)  # the same hour: nothing left to push
    assert await pushes_to(herald) == 2

    later = [dated(n, NOW + 4000) for n in range(300, 301)]
    server.routes["/wire.xml"] = Resource(rss("Wire", later + more + burst), validators=False)
    await poller.poll_once(NOW + 4600, force=True)  # a new hour
    await poller.close()
    assert await pushes_to(herald) == 3

    async def delivered() -> bool:
        texts = [m.visible_text for m in herald.api.messages[READER].values()]
        return sum("Harbour council vote" in t for t in texts) == 3

    await eventually(delivered)
    assert (
        len(editors.told) == 1
        and "10 new items were stored without being pushed" in (editors.told[0])
    )


def test_only_the_first_items_of_a_huge_document_are_parsed() -> None:
    body = undated_flood(5_000)
    cut, total = cut_items(body, 40)
    assert total == 5_000 and len(cut) < len(body) // 50
    parsed = parse_feed(body, "http://wire.example/", limit=40, now=NOW)
    assert (len(parsed.entries), parsed.total) == (40, 5_000)
    assert parsed.entries[-1].article.title == "Buy cheap pills now offer 0000039"
    small = rss("Wire", [dated(1)])
    assert cut_items(small, 40) == (small, 1)  # within the limit: untouched


async def test_the_running_herald_tells_the_editors_in_telegram(
    tmp_path: Path, api: FakeBotAPI, server: FeedServer
) -> None:
    """As shipped: /feeds add wakes the poller; a document over HERALD_FEED_MAX_ITEMS is cut,
    stored without pushes, and the editor gets one Telegram message saying so."""
    settings = settings_for(
        tmp_path / "herald.db", api, editor_ids=frozenset({EDITOR}), feed_max_items=50
    )
    async with herald_running(settings, api) as herald:
        await herald.send("/subscribe")
        server.routes["/wire.xml"] = Resource(undated_flood(3_000))
        mark = api.mark()
        await herald.send(f"/feeds add {server.url('/wire.xml')}", chat_id=EDITOR)
        notice = await api.wait_for(
            "sendMessage", lambda c: "over its limits" in c.params.get("text", ""), after=mark
        )
        assert int(notice.params["chat_id"]) == EDITOR
        assert "lists 3,000 items and Herald reads 50" in notice.params["text"]
        assert await herald.services.db.scalar("SELECT count(*) FROM articles") == 50
        assert await pushes_to(herald) == 0
