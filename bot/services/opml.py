"""OPML: the feed list as the file every feed reader imports and exports.

``to_opml`` and ``from_opml`` are pure; ``export_opml`` and ``import_opml`` apply them to
Herald's feed list.

An OPML file comes from outside (an editor's upload), so it is read with expat directly and
refused outright when it declares a DOCTYPE or entities: OPML needs neither, and that closes
the entity-expansion ("billion laughs") and external-entity holes without a new dependency.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Protocol
from xml.etree import ElementTree

from bot.services.feeds import FeedProblem, add_feed
from bot.services.http_fetch import AddressGuard
from storage import feeds as store
from storage.db import Database

MAX_OPML_BYTES = 1_000_000
MAX_OUTLINES = 5_000


class OpmlError(ValueError):
    """The file is not an OPML list Herald can read; the message says why, for a person."""


class Outline(Protocol):
    """What an exported outline carries (``storage.feeds.Feed`` has it)."""

    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def topic(self) -> str | None: ...


def to_opml(feeds: Iterable[Outline], title: str = "Herald feeds") -> bytes:
    """An OPML 2.0 document with one ``<outline type="rss">`` a feed (topic as category)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        outline = ElementTree.SubElement(
            body, "outline", type="rss", text=feed.title or feed.url, xmlUrl=feed.url
        )
        if feed.title:
            outline.set("title", feed.title)
        if feed.topic:
            outline.set("category", feed.topic)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def from_opml(data: bytes) -> list[tuple[str, str]]:
    """(url, title) of every feed outline, nested folders included, in document order.

    Raises ``OpmlError`` for a file that is too big, not XML, declares a DOCTYPE or entities,
    or lists no feeds. Outlines whose ``xmlUrl`` is not http(s) are skipped; repeats once.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the file is larger than {MAX_OPML_BYTES:,} bytes")
    found: dict[str, str] = {}
    parser = xml.parsers.expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise OpmlError("the file declares a DOCTYPE or entities, which OPML never needs")

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.lower() != "outline":
            return
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if url.startswith(("http://", "https://")) and url not in found:
            if len(found) >= MAX_OUTLINES:
                raise OpmlError(f"the file lists more than {MAX_OUTLINES:,} feeds")
            found[url] = " ".join((attrs.get("title") or attrs.get("text") or "").split())

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlError(f"not valid XML ({xml.parsers.expat.ErrorString(exc.code)})") from None
    if not found:
        raise OpmlError("no feeds found (outlines with an xmlUrl)")
    return list(found.items())


@dataclass(frozen=True, slots=True)
class Imported:
    added: int
    existing: int
    invalid: list[str]  # URLs that were not usable, the first few


async def export_opml(db: Database) -> bytes:
    return to_opml(await store.list_feeds(db))


async def import_opml(
    db: Database,
    data: bytes,
    editor_id: int | None,
    topic: str | None = None,
    guard: AddressGuard | None = None,
) -> Imported:
    """Follow every feed of an OPML file (``OpmlError`` if it is none); repeats change nothing.

    An outline the ``guard`` refuses on its face (an internal IP address, ``localhost``) is
    skipped and listed like any unusable address; a name that resolves to an internal address
    is followed and fails at fetch with "I could not connect" (the guard checks every fetch).
    """
    added = existing = 0
    invalid: list[str] = []
    for url, title in from_opml(data):
        try:
            result = await add_feed(db, url, topic, editor_id, title=title, guard=guard)
        except FeedProblem:
            invalid.append(url)
            continue
        added += result.new
        existing += not result.new
    return Imported(added, existing, invalid[:10])
