"""One guarded HTTP GET for everything Herald fetches from the web: feeds and ``/post URL`` pages.

Every address an editor or a feed gives Herald is somebody else's server, so every fetch is
hostile by default: one deadline for the whole answer, the body streamed into a size cap after
decompression (a small gzip bomb cannot grow past it), few redirects, http(s) only, no proxy
from the environment, and the **address guard**: every socket Herald opens is checked against
the IP address it is about to connect to, after DNS. Loopback, private, link-local, CGNAT
(100.64/10), multicast, reserved and unspecified addresses are refused, IPv4-mapped and
embedded IPv4 in IPv6 included. The check sits in aiohttp's ``socket_factory``: it sees the
very address the socket connects to (no second DNS lookup an attacker could answer
differently), and every redirect hop opens its connection through it too.
``HERALD_FETCH_ALLOW_PRIVATE=true`` lets internal addresses through (the sandbox, tests, a
newsroom's intranet feeds).

What can go wrong is one small hierarchy; ``str()`` is one line an editor can act on, and no
aiohttp or socket exception leaves this module. A refused or closed port, a reset and a
forbidden address all read "I could not connect to HOST", so the answers do not map a network:

    FetchError            nothing usable came back; ``str()`` says why
    ├── Timeout           no complete answer within the deadline
    ├── Unreachable       not a web address, DNS, refused or broken connection, TLS, a
    │   │                 redirect to something that is no web address
    │   └── Forbidden     the address is internal and the guard refused it
    ├── TooManyRedirects  more than the allowed redirects (a loop, usually)
    ├── HttpStatus        an HTTP error status (``status`` holds it)
    ├── TooLarge          the body passed the byte cap
    └── WrongType         the answer is not of a type the caller reads (an image for a page)

Tests pass a guard with their own idea of "public" (``AddressGuard(is_public=...)``), the way
httpx takes a transport: a name can then be served on 127.0.0.2 as if it were public.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """Nothing usable came back; the message is one short line for editors."""


class Timeout(FetchError):
    pass


class Unreachable(FetchError):
    pass


class Forbidden(Unreachable):
    pass


class TooManyRedirects(FetchError):
    pass


class HttpStatus(FetchError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the server answered {status} {reason}".strip())
        self.status = status


class TooLarge(FetchError):
    pass


class WrongType(FetchError):
    pass


class _Refused(ConnectionRefusedError):
    """Raised by the guard inside aiohttp's connect; becomes ``Forbidden`` here."""

    MARK = "herald: internal address refused"


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet; False for anything internal or special.

    An IPv6 address that carries an IPv4 one (mapped ``::ffff:a.b.c.d``, NAT64, 6to4,
    Teredo) is judged by the IPv4 address it leads to.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    elif address in _CGNAT:
        return False
    special = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
    return address.is_global and not special


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Which addresses Herald may connect to; ``allow_private`` (the setting) lets all through."""

    allow_private: bool = False
    is_public: Callable[[IPAddress], bool] = field(default=is_public)

    def allows(self, host: str) -> bool:
        """Whether a socket may connect to ``host`` (an IP address, as the resolver gave it)."""
        if self.allow_private:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            return False
        return self.is_public(address)

    def may_fetch(self, url: str) -> bool:
        """False for an address that names an internal host outright: an IP literal the guard
        refuses, or ``localhost``. Other names are judged when they resolve, at connect time;
        this only lets an editor hear at once about an address that can never work."""
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        if self.allow_private:
            return True
        if host == "localhost" or host.endswith(".localhost"):
            return False
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return True  # a name: checked when it resolves
        return self.allows(host)

    def socket(self, addr_info: tuple) -> socket.socket:
        """aiohttp's ``socket_factory``: a socket for an allowed address, else refused."""
        family, kind, proto, _, sockaddr = addr_info
        if not self.allows(str(sockaddr[0])):
            log.info("refused to connect to internal address %s", sockaddr[0])
            raise _Refused(_Refused.MARK)
        return socket.socket(family=family, type=kind, proto=proto)


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    url: str  # after redirects: relative links resolve against it
    content_type: str  # the whole header (its charset decodes a page)
    etag: str | None
    last_modified: str | None


def open_session(
    guard: AddressGuard,
    *,
    timeout: float,
    connections: int = 100,
    headers: Mapping[str, str] | None = None,
) -> aiohttp.ClientSession:
    """A pooled session whose every connection goes through ``guard``."""
    connector = aiohttp.TCPConnector(
        limit=max(connections, 1), ttl_dns_cache=300, socket_factory=guard.socket
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": "Herald/0.1 (news bot)", **(headers or {})},
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10)),
        trust_env=False,  # no proxy from the environment: it would connect for us, unguarded
    )


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: its limits, and what the caller accepts."""

    url: str
    timeout: float
    max_bytes: int
    max_redirects: int = 5
    headers: Mapping[str, str] = field(default_factory=dict)
    types: frozenset[str] | None = None  # None: any Content-Type (or none at all)
    type_name: str = "web page"  # "that address is not a {type_name} (image/png)"


async def get(session: aiohttp.ClientSession, request: Request) -> Fetched | None:
    """GET under the deadline, the cap, the redirect limit and the guard; None for a 304.

    ``request.timeout`` bounds everything (connect, redirects, the whole body) whatever the
    session's own timeouts are.
    """
    url = request.url.strip()
    if not is_web_address(url):
        raise Unreachable("that is not a web address (it must start with http:// or https://)")
    try:
        async with asyncio.timeout(request.timeout):
            async with session.get(
                url,
                headers=dict(request.headers),
                max_redirects=request.max_redirects,
                timeout=aiohttp.ClientTimeout(total=request.timeout),
            ) as response:
                return await _answer(response, request)
    except FetchError:
        raise
    except TimeoutError:  # before ClientError: aiohttp's timeouts are both
        raise Timeout(f"no answer within {request.timeout:g} s") from None
    except aiohttp.TooManyRedirects:
        raise TooManyRedirects(f"more than {request.max_redirects} redirects") from None
    except aiohttp.ClientConnectorCertificateError:
        raise Unreachable(f"the certificate of {host_of(url)} is not valid") from None
    except aiohttp.ClientConnectorError as exc:
        raise _unreachable(exc, url) from None
    except aiohttp.InvalidURL:  # also a redirect to a non-web address (aiohttp ≥ 3.10)
        raise Unreachable("the server sent me to an address I cannot open") from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        log.info("fetch failed for %s: %r", url, exc)
        raise Unreachable(f"{host_of(url)} broke off its answer") from None


def _unreachable(exc: aiohttp.ClientConnectorError, url: str) -> Unreachable:
    """The one line for a connection that did not happen: no errno, no port state."""
    host = exc.host or host_of(url)
    if _Refused.MARK in str(exc.os_error):
        return Forbidden(
            f"I could not connect to {host}: it is an internal address "
            "(HERALD_FETCH_ALLOW_PRIVATE allows those)"
        )
    log.info("could not connect to %s: %r", host, exc.os_error)
    return Unreachable(f"I could not connect to {host}")


async def _answer(response: aiohttp.ClientResponse, request: Request) -> Fetched | None:
    if response.status == 304 and _conditional(request.headers):
        return None
    if response.status >= 300:  # 3xx here: one aiohttp does not follow (304, 300)
        raise HttpStatus(response.status, _reason(response))
    if request.types is not None and "Content-Type" in response.headers:
        if response.content_type not in request.types:  # no need to download a video
            raise WrongType(f"that address is not a {request.type_name} ({response.content_type})")
    return Fetched(
        body=await _read_capped(response, request.max_bytes),
        url=str(response.url),
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def _conditional(headers: Mapping[str, str]) -> bool:
    return any(name in headers for name in ("If-None-Match", "If-Modified-Since"))


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, streamed, refusing more than ``limit`` bytes (declared or actually sent)."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise TooLarge(f"larger than {size_text(limit)} ({declared:,} bytes declared)")
    body = bytearray()
    async for chunk in response.content.iter_chunked(65_536):
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"larger than {size_text(limit)}")
    return bytes(body)


def is_web_address(url: str) -> bool:
    """http(s) with a host: the only addresses Herald fetches."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def host_of(url: str) -> str:
    """The host an editor recognises (no ``www.``), or "the site"."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.") or "the site"


def size_text(limit: int) -> str:
    """A byte cap as an editor reads it: 3000000 → "3 MB", 50000 → "50 kB"."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if limit >= scale:
            return f"{limit / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{limit} bytes"


def _reason(response: aiohttp.ClientResponse) -> str:
    if response.reason:
        return response.reason
    try:
        return HTTPStatus(response.status).phrase
    except ValueError:
        return ""
