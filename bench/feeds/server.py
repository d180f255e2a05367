"""A local feed server for the benchmark: N RSS feeds of realistic items, in its own process.

    .venv/bin/python -m bench.feeds.server --corpus PATH [--feeds 1000] [--items 50]

Prints ``PORT <n>`` once it listens on 127.0.0.1, then serves until its stdin closes (the
benchmark's exit closes it). ``/feed/<i>.xml`` is feed ``i``: items from the synthetic corpus
(BBC + HuffPost text, see ``bench.corpus``), dated within the last hour so a poll pushes
them, with ETag and Last-Modified answered by 304. The last item of feed ``i`` is the first
item of feed ``i + 1`` under another guid: the same story from two feeds, as wire copy is.
``POST /validators/off`` makes the server forget validators (a publisher without them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import itertools
import json
import sys
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    etag: str


def _item(record: dict, guid: str, published: int) -> str:
    paragraphs = [p for p in record["body"].split("\n\n") if p.strip()]
    lead = record["summary"] or (paragraphs[0] if paragraphs else "")
    parts = [
        f"<item><title>{html.escape(record['title'])}</title>",
        f"<link>{html.escape(record['url'])}</link>",
        f'<guid isPermaLink="false">{guid}</guid>',
        f"<description>{html.escape('<p>' + html.escape(lead) + '</p>')}</description>",
        f"<category>{html.escape(record['category'])}</category>",
        f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>",
    ]
    if paragraphs:
        content = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    parts += [f"<dc:creator>{html.escape(a)}</dc:creator>" for a in record["authors"]]
    parts.append("</item>")
    return "".join(parts)


def build_feeds(corpus: Path, feeds: int, items: int, now: int) -> list[Document]:
    """Feed ``i`` holds records ``i*(items-1) …`` plus the next feed's first record."""
    unique = items - 1
    with corpus.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in itertools.islice(lines, feeds * unique)]
    if len(records) < feeds * unique:
        sys.exit(f"bench.feeds.server: {corpus} has {len(records)} records, need {feeds * unique}")
    documents = []
    for i in range(feeds):
        own = records[i * unique : (i + 1) * unique]
        shared = records[((i + 1) % feeds) * unique]
        entries = [_item(r, f"feed{i}-item{j}", now - 60 * j) for j, r in enumerate(own)]
        entries.append(_item(shared, f"feed{i}-item{unique}", now - 60 * unique))
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>Bench feed {i}</title><link>http://127.0.0.1/</link>"
            f"<description>feed {i}</description>{''.join(entries)}</channel></rss>\n"
        ).encode()
        documents.append(Document(body, '"' + hashlib.sha1(body).hexdigest()[:20] + '"'))
    return documents


class Server:
    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents
        self.validators = True
        self.modified = formatdate(time.time(), usegmt=True)

    async def feed(self, request: web.Request) -> web.Response:
        try:
            document = self.documents[int(request.match_info["number"])]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
        if self.validators:
            headers |= {"ETag": document.etag, "Last-Modified": self.modified}
            if request.headers.get("If-None-Match") == document.etag:
                return web.Response(status=304, headers=headers)
        return web.Response(body=document.body, headers=headers)

    async def validators_off(self, request: web.Request) -> web.Response:
        self.validators = False
        return web.Response(text="ok")


async def serve(documents: list[Document]) -> None:
    server = Server(documents)
    app = web.Application()
    app.router.add_get("/feed/{number}.xml", server.feed)
    app.router.add_post("/validators/off", server.validators_off)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark goes away
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    documents = build_feeds(args.corpus, args.feeds, args.items, int(time.time()))
    asyncio.run(serve(documents))


if __name__ == "__main__":
    main()
