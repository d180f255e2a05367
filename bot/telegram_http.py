"""PTB's requests to the Bot API over aiohttp instead of httpx.

Every reader's reply, edit, callback answer and inline answer, and every ``getUpdates``, goes
through ``telegram.request.BaseRequest.do_request``. PTB's own ``HTTPXRequest`` pays, per
request, for httpx's request and response models and httpcore's pool, which looks at every
pooled connection (a ``poll`` system call each, and an idle count quadratic in the pool) at
each request and response: with many replies in flight that was 7% of Herald's CPU, and httpx
was most of the rest of a reply's cost after PTB's own (issue 14, docs/benchmarks.md "Readers
at speed"). Herald already talks aiohttp to the Bot API for broadcasts (``bot.sender``), and
aiohttp's pool costs next to nothing per request, so PTB's requests use it too.

What PTB expects of a transport, as ``HTTPXRequest`` does it:

- Errors: a timeout (connecting, waiting for a pooled connection, reading) is ``TimedOut``,
  any other failure to talk HTTP is ``NetworkError``; both are retried by PTB's polling loop
  and by Herald's callers as before. HTTP error statuses are returned, not raised: PTB turns
  them into ``BadRequest``, ``RetryAfter``, ``Forbidden``… from the answer's body.
- Timeouts: ``DEFAULT_NONE`` means this transport's default; ``None`` means no limit. aiohttp
  has no write timeout, so a write is bounded by the sum of the request's finite timeouts.
- Bodies: parameters as one JSON object (what ``BroadcastSender`` sends; the Bot API takes
  JSON for every method), uploads (an OPML export) as ``multipart/form-data`` with the
  other parameters as JSON-encoded form fields, as PTB sends them.
- Pools: 256 connections for requests, 1 for ``getUpdates``, as PTB's defaults.

Error texts never carry the request's URL, which holds the bot's token. A proxy in the
environment (``HTTPS_PROXY``, ``NO_PROXY``) is honoured, as httpx did: where Telegram is only
reachable through one, that is how an operator sets it (``bot.sender`` does the same).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}
# "Not passed: use the transport's default", PTB's DefaultValue, named without its private module.
_DefaultValue = type(BaseRequest.DEFAULT_NONE)


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` over one pooled ``aiohttp.ClientSession``, made at ``initialize``."""

    __slots__ = (
        "_connections",
        "_connect",
        "_media_write",
        "_pool",
        "_read",
        "_session",
        "_timeouts",
        "_write",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        """The defaults are ``HTTPXRequest``'s."""
        self._connections = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # Most requests use the defaults: one ClientTimeout each combination, built once.
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        timeout = self._timeout(
            self._read if isinstance(read_timeout, _DefaultValue) else read_timeout,
            (self._media_write if uploads else self._write)
            if isinstance(write_timeout, _DefaultValue)
            else write_timeout,
            self._connect if isinstance(connect_timeout, _DefaultValue) else connect_timeout,
            self._pool if isinstance(pool_timeout, _DefaultValue) else pool_timeout,
        )
        data: bytes | aiohttp.FormData | None = None
        headers = None
        if request_data is not None:
            if uploads:
                data = _form(request_data)
            else:
                data = json.dumps(request_data.parameters).encode()
                headers = _JSON
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(_describe(exc, url)) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkError(_describe(exc, url)) from exc

    def _timeout(
        self,
        read: float | None,
        write: float | None,
        connect: float | None,
        pool: float | None,
    ) -> aiohttp.ClientTimeout:
        """aiohttp's ``connect`` covers the wait for a pooled connection and the connecting;
        ``sock_connect`` the connecting alone; ``sock_read`` each wait for the answer. The
        total bounds the write, which aiohttp does not time by itself."""
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            parts = (read, write, connect, pool)
            timeout = aiohttp.ClientTimeout(
                total=None if None in parts else sum(p for p in parts if p is not None),
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout


def _form(request_data: RequestData) -> aiohttp.FormData:
    """An upload as PTB sends it: each parameter a JSON-encoded field, each file a part."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _describe(exc: BaseException, url: str) -> str:
    """``aiohttp.ClassName: text``, as ``HTTPXRequest`` words it, without the URL (the token)."""
    text = str(exc)
    if url in text:
        text = text.replace(url, "<Bot API URL>")
    path = url.split("://", 1)[-1].partition("/")[2]
    if path and path in text:
        text = text.replace(path, "<Bot API path>")
    name = f"aiohttp.{type(exc).__name__}"
    return f"{name}: {text}" if text else name
