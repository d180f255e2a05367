"""Fair update slots: one chat can hold at most one, and nobody holds one while waiting.

PTB's own concurrency is a plain semaphore taken in arrival order: 300 updates from one flooding
chat took the 8 slots in turn, and a reply that slept off a 429 (or its chat's one-second
spacing) did so inside its slot, so every other reader waited behind them. Here:

- a chat's updates run one at a time, in order (a lock per chat, taken *before* a slot), so a
  chat with a backlog waits in its own line without taking anyone's slot;
- an optional ``screen`` looks at each update the moment it arrives, before it joins its
  chat's line: one it refuses (a user over their budget) is dropped there, at no cost;
- ``stepped_out()`` gives the slot back for the length of a wait (a 429's ``retry_after``, a
  chat's spacing, the message budget) and takes one again after it, so a waiting reply never
  blocks another chat's update.

PTB's ``process_update`` (its semaphore) is left as it is, with a high bound: it then only caps
how many updates may be queued here at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

QUEUED = 10_000  # updates admitted into this processor at once (waiting included)


@dataclass(slots=True)
class _Slot:
    """The slot one update holds (or gave back while it waits)."""

    slots: asyncio.Semaphore
    held: bool = False


@dataclass(slots=True)
class _Line:
    """One chat's queue: its lock and how many updates are in it (to forget idle chats)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


_current: ContextVar[_Slot | None] = ContextVar("herald_update_slot", default=None)


class FairUpdateProcessor(BaseUpdateProcessor):
    """``slots`` updates at once, at most one per chat (see the module docstring)."""

    __slots__ = ("_lines", "_screen", "_slots")

    def __init__(self, slots: int, screen: Callable[[object], bool] | None = None) -> None:
        """``screen(update)``: False drops the update on arrival (it must not wait or fail)."""
        super().__init__(QUEUED)
        self._slots = asyncio.Semaphore(slots)
        self._lines: dict[int, _Line] = {}
        self._screen = screen

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._screen is not None and not self._screen(update):
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never run: no "was never awaited" warning
            return
        key = _chat_key(update)
        if key is None:
            await self._run(coroutine)
            return
        line = self._lines.setdefault(key, _Line())
        line.users += 1
        try:
            async with line.lock:
                await self._run(coroutine)
        finally:
            line.users -= 1
            if not line.users:
                del self._lines[key]

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        slot = _Slot(self._slots)
        await self._slots.acquire()
        slot.held = True
        token = _current.set(slot)
        try:
            await coroutine
        finally:
            _current.reset(token)
            if slot.held:
                self._slots.release()


@asynccontextmanager
async def stepped_out() -> AsyncIterator[None]:
    """Give this update's slot back while the body waits; take one again afterwards.

    Outside an update (the delivery worker, tests driving a Bot directly) it does nothing.
    """
    slot = _current.get()
    if slot is None or not slot.held:
        yield
        return
    slot.held = False
    slot.slots.release()
    try:
        yield
    finally:
        await slot.slots.acquire()
        slot.held = True


def _chat_key(update: object) -> int | None:
    """The chat whose line the update joins: its chat, else its user (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
