"""The fetch guard: Herald never fetches internal addresses for editors, feeds or OPML files.

Each attack of issue 13 (finding 3) through the real bot and the fake Bot API, with the
guard as shipped (``HERALD_FETCH_ALLOW_PRIVATE`` false): ``/post`` of a loopback page, a
"public" page that redirects to loopback, a feed that does the same, OPML outlines to the
cloud metadata address, and ``/feeds`` telling a closed port from an open one. A page
counts as public here when a test's guard says so: it is served on 127.0.0.2 and the guard
is handed a classifier that calls that one address public, the way httpx takes a transport.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, ip_address

import pytest

from bot.sandbox.fake_api import SentMessage
from bot.sandbox.fake_state import ApiCall
from bot.services import feeds
from bot.services.feed_fetch import FeedPolicy
from bot.services.http_fetch import AddressGuard, IPAddress, is_public
from bot.services.opml import to_opml
from tests.factories import EDITOR, READER, Herald
from tests.feed_server import FeedServer, Item, Resource, rss

SECRET = "INTERNAL-ADMIN-PANEL root password hunter2"
ADMIN_PAGE = (
    f"<html><head><title>Admin console</title></head><body><h1>Admin console</h1>"
    f"<p>{SECRET}. Lots of words so that it reads as an article body.</p></body></html>"
).encode()
HTML = "text/html; charset=utf-8"
PUBLIC_LOOKALIKE = IPv4Address("127.0.0.2")  # "public" for the guard a test hands in


def public_for_this_test(address: IPAddress) -> bool:
    """The real classifier, except that 127.0.0.2 stands for a server on the internet."""
    return address == PUBLIC_LOOKALIKE or is_public(address)


@pytest.fixture
async def internal() -> AsyncIterator[FeedServer]:
    """A server on 127.0.0.1: what an attacker wants Herald to read for them."""
    async with FeedServer() as server:
        server.routes["/admin"] = Resource(ADMIN_PAGE, HTML)
        server.routes["/feed.xml"] = Resource(
            rss("Intranet", [Item("Internal memo about the layoffs list", guid="memo")])
        )
        yield server


@pytest.fixture
async def public() -> AsyncIterator[FeedServer]:
    async with FeedServer(host=str(PUBLIC_LOOKALIKE)) as server:
        yield server


async def post_url(herald: Herald, url: str) -> SentMessage:
    """The editor sends ``/post URL``; returns Herald's answer after "Reading the page…"."""
    mark = herald.api.mark()
    herald.api.send_text(f"/post {url}", chat_id=EDITOR)

    def answer(call: ApiCall) -> bool:
        text = call.params.get("text", "")
        return int(call.params["chat_id"]) == EDITOR and not text.startswith("⏳")

    call = await herald.api.wait_for("sendMessage", answer, after=mark)
    return herald.api.messages[EDITOR][call.result["message_id"]]


def everything_sent(herald: Herald) -> str:
    return "\n".join(m.visible_text for chat in herald.api.messages.values() for m in chat.values())


# ------------------------------------------------------------------ the classifier, pure


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
        "169.254.169.254", "fe80::1", "100.64.0.1", "100.127.255.254", "224.0.0.1",
        "ff02::1", "240.0.0.1", "255.255.255.255", "0.0.0.0", "::", "fc00::1", "fd12::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::",
        "198.18.0.1", "192.0.2.1", "fec0::1",
    ],
)  # fmt: skip
def test_internal_and_special_addresses_are_not_public(address: str) -> None:
    assert not is_public(ip_address(address))
    assert not AddressGuard().allows(address)
    assert AddressGuard(allow_private=True).allows(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(ip_address(address)) and AddressGuard().allows(address)


# ------------------------------------------------------------------ /post URL, end to end


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
async def test_post_of_an_internal_page_is_refused(guarded_herald: Herald, host: str) -> None:
    served_on = "::1" if host == "[::1]" else "127.0.0.1"
    async with FeedServer(host=served_on) as server:
        server.routes["/admin"] = Resource(ADMIN_PAGE, HTML)
        answer = await post_url(guarded_herald, f"http://{host}:{server.port}/admin")

        assert answer.visible_text.startswith("⚠️ I could not connect to")
        assert "internal address" in answer.visible_text
        assert server.requests == []  # not one byte was asked of it
    assert SECRET not in everything_sent(guarded_herald)


async def test_a_public_page_that_redirects_to_loopback_is_refused(
    guarded_herald: Herald, public: FeedServer, internal: FeedServer
) -> None:
    guarded_herald.services.fetch_guard = AddressGuard(is_public=public_for_this_test)
    public.routes["/story"] = Resource(redirect=internal.url("/admin"))

    answer = await post_url(guarded_herald, public.url("/story"))

    assert answer.visible_text.startswith("⚠️ I could not connect to 127.0.0.1")
    assert len(public.requests_to("/story")) == 1  # the public hop was fetched…
    assert internal.requests == []  # …the loopback one never
    assert SECRET not in everything_sent(guarded_herald)


async def test_the_guard_lets_a_public_page_through(
    guarded_herald: Herald, public: FeedServer
) -> None:
    """The other side of the test above: the same guard does fetch what it calls public."""
    guarded_herald.services.fetch_guard = AddressGuard(is_public=public_for_this_test)
    public.routes["/story"] = Resource(ADMIN_PAGE.replace(b"Admin console", b"Town news"), HTML)

    answer = await post_url(guarded_herald, public.url("/story"))

    assert answer.visible_text.startswith("Town news")


# ------------------------------------------------------------------- feeds, end to end


async def test_a_feed_that_redirects_to_an_internal_one_is_not_ingested(
    guarded_herald: Herald, public: FeedServer, internal: FeedServer
) -> None:
    herald = guarded_herald
    await herald.send("/subscribe")
    public.routes["/rss.xml"] = Resource(redirect=internal.url("/feed.xml"))
    db = herald.services.db
    await feeds.add_feed(db, public.url("/rss.xml"), None, EDITOR)  # the poller sleeps on
    policy = FeedPolicy(timeout=2.0, guard=AddressGuard(is_public=public_for_this_test))

    async with feeds.FeedPoller(db, policy, on_new=herald.services.outbox_changed) as poller:
        report = await poller.poll_once(force=True)

    assert (report.failed, report.added) == (1, 0)
    assert len(public.requests_to("/rss.xml")) == 1 and internal.requests == []
    assert await db.scalar("SELECT count(*) FROM articles") == 0
    listing = await herald.send("/feeds", chat_id=EDITOR)
    assert "I could not connect to 127.0.0.1: it is an internal address" in listing.visible_text
    assert "layoffs" not in everything_sent(herald)
    assert READER in herald.api.messages  # the reader's /subscribe answer, and nothing else
    assert all("layoffs" not in m.visible_text for m in herald.api.messages[READER].values())


async def test_feeds_shows_the_same_line_for_a_closed_and_an_open_internal_port(
    guarded_herald: Herald, internal: FeedServer
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/feed.xml"
    db = guarded_herald.services.db
    for url in (closed, internal.url("/feed.xml")):
        await feeds.add_feed(db, url, None, EDITOR)
    policy = FeedPolicy(timeout=2.0, guard=guarded_herald.services.fetch_guard)

    async with feeds.FeedPoller(db, policy) as poller:
        await poller.poll_once(int(time.time()), force=True)

    listing = (await guarded_herald.send("/feeds", chat_id=EDITOR)).visible_text
    lines = [line for line in listing.splitlines() if line.startswith("failing, ")]
    assert len(lines) == 2
    assert lines[0].split(" · ")[0] == lines[1].split(" · ")[0]
    assert "could not connect to 127.0.0.1" in lines[0]
    assert "Connect call failed" not in listing and "Errno" not in listing
    assert internal.requests == []


# ------------------------------------------------------------------- OPML, end to end


async def test_opml_outlines_to_internal_addresses_are_refused(
    guarded_herald: Herald, public: FeedServer
) -> None:
    class Listed:
        def __init__(self, url: str) -> None:
            self.url, self.title, self.topic = url, "", None

    urls = [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/feed.xml",
        "http://[::ffff:10.0.0.1]/rss",
        "http://localhost/rss",
        public.url("/rss.xml"),  # 127.0.0.2: public for the guard the editor's import uses
    ]
    guarded_herald.services.fetch_guard = AddressGuard(is_public=public_for_this_test)
    mark = guarded_herald.api.mark()
    guarded_herald.api.send_document(EDITOR, EDITOR, "feeds.opml", to_opml(map(Listed, urls)))
    call = await guarded_herald.api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == EDITOR, after=mark
    )
    answer = call.params["text"]

    assert answer.startswith("📥 Following 1 new feed ")
    assert "169.254.169.254" in answer and "localhost" in answer  # listed as skipped
    followed = [f.url for f in await feeds.list_feeds(guarded_herald.services.db)]
    assert followed == [public.url("/rss.xml")]


async def test_feeds_add_of_an_internal_address_is_refused(guarded_herald: Herald) -> None:
    answer = await guarded_herald.send(
        "/feeds add http://169.254.169.254/latest/meta-data/", chat_id=EDITOR
    )

    assert "internal address" in answer.visible_text
    assert await feeds.list_feeds(guarded_herald.services.db) == []


async def test_a_feed_whose_name_resolves_to_loopback_fails_at_fetch(
    guarded_herald: Herald, internal: FeedServer
) -> None:
    """A name is judged when it resolves (here ``localhost``, from an old list or an import
    made while internal addresses were allowed): every fetch refuses it with the same line."""
    db = guarded_herald.services.db
    await feeds.add_feed(db, f"http://localhost:{internal.port}/feed.xml", None, EDITOR)
    policy = FeedPolicy(timeout=2.0, guard=guarded_herald.services.fetch_guard)

    async with feeds.FeedPoller(db, policy) as poller:
        report = await poller.poll_once(int(time.time()), force=True)

    assert (report.failed, report.added) == (1, 0) and internal.requests == []
    listing = (await guarded_herald.send("/feeds", chat_id=EDITOR)).visible_text
    assert "I could not connect to localhost: it is an internal address" in listing
