"""Telegram's flood limits and persistent per-chat failures, for the fake Bot API.

:class:`FloodLimits` is opt-in (``FakeBotAPI(limits=...)`` or ``api.limits = ...``); without it
nothing is enforced but :class:`SendStats` still counts, so a test can check a sender's pace.

Semantics (all times are ``time.monotonic()`` at the moment the request *arrives* at the fake,
before any artificial latency; a "send" is a request of a :data:`COUNTED_METHODS` method):

* A send is *accepted* when the flood check lets it through, whatever happens next (it may
  still fail with 400/403/500: Telegram's limiter sits in front of the rest). Sends answered
  429 are *rejected* and do not count. ``fail_next`` failures are decided before the flood
  check and do not count either; ``fail_chat`` failures are decided after it and do.
* Global: a send is rejected if ``global_per_second`` sends were accepted in the last 1.0 s,
  i.e. if ``now - t[-N] < 1.0`` where ``t[-N]`` is the N-th most recent accepted send.
* Private chat (positive id / registered type "private"): rejected if
  ``now - last < 1 / private_per_second`` (``last``: previous accepted send to that chat).
* Group, supergroup, channel: rejected if ``now - t[-N] < 60.0`` for that chat's
  ``N = group_per_minute``-th most recent accepted send.
* The 429 says ``retry after R``, R = ceil(seconds until every broken limit frees a slot),
  at least 1; waiting R seconds then sending is accepted unless other sends took the slot.

So every half-open window ``[t, t + w)`` holds at most N accepted sends, which is exactly what
:meth:`SendStats.max_in_window` measures: ``max_in_window(1.0) <= global_per_second`` etc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from bot.sandbox.fake_state import ApiError

#: Methods that count as sends (Telegram limits messages *to chats*, edits included).
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
GLOBAL_WINDOW = 1.0
GROUP_WINDOW = 60.0

FailKind = Literal["blocked", "migrated", "timeout", "bad_request", "server_error"]
FAIL_KINDS: tuple[str, ...] = get_args(FailKind)


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's documented bot limits; the defaults are the live values."""

    global_per_second: int = 30
    private_per_second: float = 1
    group_per_minute: int = 20

    def __post_init__(self) -> None:
        if self.global_per_second < 1 or self.group_per_minute < 1:
            raise ValueError("global_per_second and group_per_minute must be at least 1")
        if self.private_per_second <= 0:
            raise ValueError("private_per_second must be positive")

    @property
    def private_interval(self) -> float:
        """Minimum seconds between two accepted sends to one private chat."""
        return 1.0 / self.private_per_second


def too_many_requests(wait: float) -> ApiError:
    """Telegram's flood-wait error; ``retry_after`` is whole seconds, at least 1."""
    seconds = max(1, math.ceil(wait))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


class SendStats:
    """Accepted sends (globally and per chat) and 429 rejections; also the flood gate's memory.

    The gate looks at O(1) entries per request (the N-th most recent send); the full lists are
    kept for :meth:`send_times` / :meth:`max_in_window` (about 40 bytes per accepted send).
    """

    def __init__(self) -> None:
        self.sent = 0  # accepted counted sends
        self.rejected_429 = 0  # counted sends answered 429 by the flood limits
        self._times: list[float] = []
        self._chat_times: dict[int, list[float]] = {}

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Arrival times (monotonic) of the accepted sends to ``chat_id`` (None: all chats)."""
        return list(self._times if chat_id is None else self._chat_times.get(chat_id, ()))

    def max_in_window(self, seconds: float, chat_id: int | None = None) -> int:
        """Most accepted sends in any window ``[t, t + seconds)``, overall or to one chat."""
        times = self._times if chat_id is None else self._chat_times.get(chat_id, [])
        best = left = 0
        for right, now in enumerate(times):
            while now - times[left] >= seconds:
                left += 1
            best = max(best, right - left + 1)
        return best

    def chats(self) -> list[int]:
        """Chats that received at least one accepted send."""
        return list(self._chat_times)

    def admit(
        self, limits: FloodLimits | None, chat_id: int | None, private: bool, now: float
    ) -> ApiError | None:
        """Count a send arriving at ``now``, or return the 429 if it breaks ``limits``."""
        if limits is not None:
            wait = self._wait(limits, chat_id, private, now)
            if wait > 0:
                self.rejected_429 += 1
                return too_many_requests(wait)
        self.sent += 1
        self._times.append(now)
        if chat_id is not None:
            chat_times = self._chat_times.get(chat_id)
            if chat_times is None:
                self._chat_times[chat_id] = [now]
            else:
                chat_times.append(now)
        return None

    def _wait(self, limits: FloodLimits, chat_id: int | None, private: bool, now: float) -> float:
        """Seconds until a send to ``chat_id`` would be accepted (0: now)."""
        wait = 0.0
        count = limits.global_per_second
        if len(self._times) >= count:
            elapsed = now - self._times[-count]
            if elapsed < GLOBAL_WINDOW:
                wait = GLOBAL_WINDOW - elapsed
        chat_times = self._chat_times.get(chat_id) if chat_id is not None else None
        if chat_times:
            if private:
                window, count = limits.private_interval, 1
            else:
                window, count = GROUP_WINDOW, limits.group_per_minute
            if len(chat_times) >= count:
                elapsed = now - chat_times[-count]
                if elapsed < window:
                    wait = max(wait, window - elapsed)
        return wait


@dataclass
class ChatFailure:
    """A persistent failure of every send to one chat (see ``FakeBotAPI.fail_chat``).

    ``error`` is None for "timeout", which delivers the message and answers after ``hold`` s.
    ``remaining`` counts down per failed send; None means until ``heal_chat``.
    """

    kind: str
    error: ApiError | None
    hold: float = 0.0
    remaining: int | None = None


def chat_failure(
    kind: str,
    chat_type: str,
    *,
    migrate_to: int | None = None,
    hold: float = 30.0,
    times: int | None = None,
    description: str | None = None,
    error_code: int | None = None,
) -> ChatFailure:
    """Build the failure ``fail_chat`` installs; raises ValueError for a bad combination."""
    if kind not in FAIL_KINDS:
        raise ValueError(f"unknown failure kind {kind!r}; use one of {FAIL_KINDS}")
    if times is not None and times < 1:
        raise ValueError("times must be at least 1 (or None: until heal_chat)")
    if kind == "blocked":
        default = (
            "Forbidden: bot was blocked by the user"
            if chat_type == "private"
            else f"Forbidden: bot was kicked from the {chat_type} chat"
        )
        error = ApiError(error_code or 403, description or default)
    elif kind == "migrated":
        if migrate_to is None:
            raise ValueError("a migrated chat needs migrate_to")
        error = ApiError(
            400,
            description or "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": migrate_to},
        )
    elif kind == "timeout":
        if hold < 0:
            raise ValueError("hold must not be negative")
        return ChatFailure(kind, None, hold=hold, remaining=times)
    elif kind == "bad_request":
        text = description or "chat not found"
        error = ApiError(
            error_code or 400, text if text.startswith("Bad Request") else f"Bad Request: {text}"
        )
    else:  # server_error: transient, one failure unless told otherwise
        code = error_code or 500
        default = "Bad Gateway" if code == 502 else "Internal Server Error"
        return ChatFailure(kind, ApiError(code, description or default), remaining=times or 1)
    return ChatFailure(kind, error, remaining=times)
