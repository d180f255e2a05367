"""Several real ``python -m bot`` processes on one PostgreSQL schema, as a newsroom runs them.

``Fleet`` starts instances in webhook mode behind a ``Balancer`` (what a load balancer does:
each POST from Telegram goes to a live instance; none answering is a 502, and Telegram sends
the update again). Instances are killed and started by index; ``leader()`` asks each live one
through ``/readyz`` which of them leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.sandbox.fake_api import FakeBotAPI
from bot.web.webhook import SECRET_HEADER
from tests.factories import free_port, start_bot_process

SECRET = "fleet-webhook-SECRET-42"
HOOK_PATH = "/telegram/webhook"
START_WITHIN = 60.0  # seconds for a process to serve HTTP (imports, migrations; a busy machine)


class Balancer:
    """Round robin over the live instances' ports; 502 when none answers."""

    def __init__(self) -> None:
        self.ports: dict[int, int] = {}  # instance index → its HTTP port, while it lives
        self.url = ""
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=2**21)
        app.router.add_post(HOOK_PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{HOOK_PATH}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {"Content-Type": "application/json"}
        if SECRET_HEADER in request.headers:
            headers[SECRET_HEADER] = request.headers[SECRET_HEADER]
        ports = list(self.ports.values())
        if ports:
            first = next(self._turn) % len(ports)
            ports = ports[first:] + ports[:first]
        for port in ports:
            url = f"http://127.0.0.1:{port}{HOOK_PATH}"
            try:
                async with self._session.post(url, data=body, headers=headers) as response:
                    return web.Response(status=response.status, body=await response.read())
            except (aiohttp.ClientError, OSError, TimeoutError):
                continue  # that instance is down: the next one
        return web.Response(status=502, text="no instance answers")


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    port: int
    log: Path


@dataclass
class Fleet:
    api: FakeBotAPI
    database: str  # the PostgreSQL URL all instances share
    folder: Path
    settings: dict[str, str] = field(default_factory=dict)
    balancer: Balancer = field(default_factory=Balancer)
    instances: dict[int, Instance] = field(default_factory=dict)
    started: int = 0

    async def __aenter__(self) -> Fleet:
        await self.balancer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for index in list(self.instances):
            self.kill(index)
        for instance in self.instances.values():
            await instance.process.wait()
        await self.balancer.stop()

    async def start(self, index: int) -> Instance:
        """Start instance ``index`` and wait until it answers ``/healthz``."""
        port = free_port()
        self.started += 1
        log = self.folder / f"instance-{index}-{self.started}.log"
        process = await start_bot_process(
            self.api,
            self.database,
            self.folder,
            log=log,
            http_port=str(port),
            webhook_url=self.balancer.url,
            webhook_secret=SECRET,
            **self.settings,
        )
        instance = self.instances[index] = Instance(process, port, log)
        deadline = asyncio.get_running_loop().time() + START_WITHIN
        while await self._get(port, "/healthz") is None:
            if process.returncode is not None:
                raise AssertionError(f"instance {index} exited: {self.log_of(index)[-2000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"instance {index} not serving after {START_WITHIN} s")
            await asyncio.sleep(0.1)
        self.balancer.ports[index] = port
        return instance

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown at all, as a crashed machine."""
        self.balancer.ports.pop(index, None)
        with contextlib.suppress(ProcessLookupError):
            self.instances[index].process.send_signal(signal.SIGKILL)

    async def terminate(self, index: int, within: float) -> int | None:
        """SIGTERM; the exit code, or None when it did not exit ``within`` seconds."""
        self.balancer.ports.pop(index, None)
        process = self.instances[index].process
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), timeout=within)
        except TimeoutError:
            return None

    def alive(self) -> list[int]:
        return [i for i, inst in self.instances.items() if inst.process.returncode is None]

    def log_of(self, index: int) -> str:
        return self.instances[index].log.read_text(errors="replace")

    async def readyz(self, index: int) -> dict | None:
        """What ``/readyz`` says (its JSON), or None when the instance does not answer."""
        return await self._get(self.instances[index].port, "/readyz")

    async def leader(self, within: float = 30.0, *, besides: int | None = None) -> int:
        """The index of the instance that says it leads (waiting for one, up to ``within``)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for index in self.alive():
                if index == besides:
                    continue
                body = await self.readyz(index)
                if body is not None and body.get("leader") is True:
                    return index
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no instance leads after {within} s")
            await asyncio.sleep(0.1)

    async def _get(self, port: int, path: str) -> dict | None:
        timeout = aiohttp.ClientTimeout(total=2)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"http://127.0.0.1:{port}{path}") as response,
            ):
                return await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return None
