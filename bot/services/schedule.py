"""When may a chat next receive news? Delivery modes, quiet hours and time zones as pure time.

The delivery worker asks two questions: "when may this article go out?" (``release_at``) and
"is a digest due now?" (``digest_due``). Both are answered here without I/O so every daylight
saving corner can be tested with an explicit ``now``.

Conventions:

* Every instant passed in or returned is an aware ``datetime``; results are in UTC.
* A chat's settings are local wall-clock times (``08:00``) in an IANA zone. A wall time is
  turned into an instant by ``_resolve``: a time that does not exist that day (skipped by a
  spring-forward) becomes the first instant that does exist after it, the moment the clocks
  jump; a time that occurs twice (fall-back) means its first occurrence. So a daily digest
  fires exactly once on both days, and a quiet window ends once, at its first chance.
* Hourly digests follow real hours: one at every instant where the local clock shows a full
  hour. On a fall-back night the repeated local hour is a separate real hour with its own news,
  so it gets its own digest (``02:00`` twice); on a spring-forward night the skipped hour was
  never lived, and the hour before it is followed by the first hour after it.

Zone data comes from the system database, or from the ``tzdata`` package where the system has
none (``zoneinfo`` falls back to it by itself).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from bot.services.names import CUTOFF, closest

Mode = Literal["instant", "hourly", "daily"]
MODES: tuple[Mode, ...] = ("instant", "hourly", "daily")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Entries of the zone database that name no place a reader lives in.
_NOT_FOR_READERS = frozenset({"localtime", "Factory", "posixrules"})
_CLOCK = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?")
_RANGE_DASHES = re.compile(r"\s*(?:-|–|—|\bto\b)\s*")
_OFF_WORDS = frozenset({"off", "none", "no"})


class UnknownTimezone(ValueError):
    """A zone name that is not in the database; carries up to three names the person may mean."""

    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown time zone {name!r}.{hint} Use a name like Europe/Berlin.")


@dataclass(frozen=True)
class DeliveryPlan:
    """One chat's delivery settings: how often, when never, and in which zone.

    ``daily_at`` is required for ``daily`` and ignored otherwise, so switching modes back and
    forth keeps the chosen time. Quiet hours run from ``quiet_start`` (inclusive) to
    ``quiet_end`` (exclusive) in local time and wrap midnight when the start is later.
    """

    mode: Mode = "instant"
    daily_at: time | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.mode == "daily" and self.daily_at is None:
            raise ValueError("a daily digest needs a time of day (daily_at)")
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end, or neither")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet hours that start and end at the same time are empty")
        for clock in (self.daily_at, self.quiet_start, self.quiet_end):
            if clock is not None and clock.tzinfo is not None:
                raise ValueError("times of day are local wall-clock times: pass them naive")
        if find_timezone(self.tz).key != self.tz:
            raise ValueError(f"use the zone's exact name {find_timezone(self.tz).key!r}")

    @property
    def zone(self) -> ZoneInfo:
        """The plan's zone (``ZoneInfo`` caches instances, so this is cheap)."""
        return ZoneInfo(self.tz)

    @property
    def has_quiet_hours(self) -> bool:
        """Whether the chat asked for quiet hours at all."""
        return self.quiet_start is not None


# --- time zones -------------------------------------------------------------------------


@cache
def _zone_names() -> dict[str, str]:
    """Lower-case name to exact name; cached because listing walks the zone files."""
    return {n.lower(): n for n in available_timezones() if n not in _NOT_FOR_READERS}


def find_timezone(name: str) -> ZoneInfo:
    """The zone a person typed, ignoring case and spaces; raises ``UnknownTimezone`` with hints.

    Only names from the database reach ``ZoneInfo``, so a typed path can never load a file.
    """
    wanted = _normalise_zone_name(name)
    exact = _zone_names().get(wanted)
    if exact is None:
        raise UnknownTimezone(name, suggest_timezones(name))
    return ZoneInfo(exact)


def suggest_timezones(name: str, limit: int = 3) -> tuple[str, ...]:
    """Up to ``limit`` zone names close to ``name``, best first.

    A bare city ("Berlin", "new york") is compared with the last part of each zone name as well
    as with the whole name, so it finds its zone even though it is far from "Europe/Berlin".
    """
    wanted = _normalise_zone_name(name)
    if not wanted:
        return ()
    matcher = difflib.SequenceMatcher(b=wanted)
    scored: list[tuple[float, str]] = []
    for lower, exact in _zone_names().items():
        score = max(_similarity(matcher, lower), _similarity(matcher, lower.rsplit("/", 1)[-1]))
        if score >= CUTOFF:
            scored.append((score, exact))
    return tuple(closest(scored, limit))


def _normalise_zone_name(name: str) -> str:
    return "_".join(name.strip().split()).lower()


def _similarity(matcher: difflib.SequenceMatcher[str], candidate: str) -> float:
    """difflib's ratio, skipping the slow part when the cheap bounds already rule it out."""
    matcher.set_seq1(candidate)
    if matcher.real_quick_ratio() < CUTOFF or matcher.quick_ratio() < CUTOFF:
        return 0.0
    return matcher.ratio()


# --- parsing what a person types ------------------------------------------------------------


def parse_clock(text: str) -> time:
    """A 24-hour time of day such as ``7:30``, ``07:30`` or ``23`` (a full hour)."""
    cleaned = text.strip()
    match = _CLOCK.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{cleaned!r} is not a time of day: write it as HH:MM, e.g. 07:30")
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23:
        raise ValueError(f"{cleaned!r}: hours go from 0 to 23 (midnight is 00:00)")
    if minute > 59:
        raise ValueError(f"{cleaned!r}: minutes go from 00 to 59")
    return time(hour, minute)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """Quiet hours as ``23:00-07:00``, ``23-7`` or ``off`` (``None``: no quiet hours)."""
    cleaned = text.strip()
    if cleaned.lower() in _OFF_WORDS:
        return None
    parts = _RANGE_DASHES.split(cleaned)
    if len(parts) != 2:
        raise ValueError(f"{cleaned!r}: write quiet hours as start-end, e.g. 23:00-07:00, or off")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise ValueError("quiet hours must start and end at different times (or say off)")
    return start, end


# --- wall time to instants ------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime (UTC); a naive one has no place in time")
    return moment.astimezone(UTC)


def _resolve(day: date, clock: time, zone: tzinfo) -> datetime:
    """The instant (UTC) a local wall time names: first occurrence, or after a skipped gap."""
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap fold=0 reads the wall time with the old offset (an instant after the jump) and
    # fold=1 with the new one (an instant before it); the jump lies between the two.
    before_jump = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _offset_change(before_jump, first, zone)


def _offset_change(before: datetime, after: datetime, zone: tzinfo) -> datetime:
    """The first instant in ``(before, after]`` with ``after``'s offset (to the second).

    Zone transitions fall on whole seconds and never twice within the short spans given here.
    """
    target = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _next_local_hour(after: datetime, zone: tzinfo) -> datetime:
    """The first instant strictly after ``after`` at which the local clock shows a full hour."""
    start = after
    while True:
        local = start.astimezone(zone)
        into_hour = timedelta(
            minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        candidate = start - into_hour + HOUR  # right if the offset holds until then
        if candidate.astimezone(zone).utcoffset() == local.utcoffset():
            return candidate
        jump = _offset_change(start, candidate, zone)
        shown = jump.astimezone(zone)
        if shown.minute == shown.second == shown.microsecond == 0:
            return jump  # clocks jumped to a full hour (03:00 after 01:59:59)
        start = jump  # jumped to a half hour or so: count on from there


def _next_local_time(after: datetime, clock: time, zone: tzinfo) -> datetime:
    """The first instant strictly after ``after`` named by ``clock`` on some local day."""
    day = after.astimezone(zone).date()
    for offset in range(3):
        moment = _resolve(day + offset * DAY, clock, zone)
        if moment > after:
            return moment
    raise AssertionError("a local time of day recurs within three days")  # pragma: no cover


# --- quiet hours ----------------------------------------------------------------------------


def _quiet_windows(plan: DeliveryPlan, around: datetime) -> list[tuple[datetime, datetime]]:
    """Quiet windows (UTC, end exclusive) that begin the local day before ``around`` to after."""
    assert plan.quiet_start is not None and plan.quiet_end is not None
    zone = plan.zone
    wraps = plan.quiet_start > plan.quiet_end
    today = around.astimezone(zone).date()
    windows = []
    for offset in (-1, 0, 1):
        day = today + offset * DAY
        start = _resolve(day, plan.quiet_start, zone)
        end = _resolve(day + DAY if wraps else day, plan.quiet_end, zone)
        windows.append((start, end))  # empty when both ends fall into one skipped hour
    return windows


def _quiet_window_end(plan: DeliveryPlan, moment: datetime) -> datetime | None:
    """The end of the quiet window ``moment`` is in, or ``None`` outside quiet hours."""
    if not plan.has_quiet_hours:
        return None
    for start, end in _quiet_windows(plan, moment):
        if start <= moment < end:
            return end
    return None


def in_quiet_hours(plan: DeliveryPlan, now_utc: datetime) -> bool:
    """Whether the chat is in its quiet hours at ``now_utc``."""
    return _quiet_window_end(plan, _as_utc(now_utc)) is not None


def quiet_ends_at(plan: DeliveryPlan, now_utc: datetime) -> datetime:
    """The first instant at or after ``now_utc`` outside quiet hours (``now_utc`` if not quiet).

    An end time skipped by spring-forward ends the window when the clocks jump; an end time that
    occurs twice ends it at its first occurrence.
    """
    moment = _as_utc(now_utc)
    # Loops only when one window ends exactly where the next begins (a skipped hour can do that).
    while (end := _quiet_window_end(plan, moment)) is not None:
        moment = end
    return moment


# --- digests and release --------------------------------------------------------------------


def next_digest_at(plan: DeliveryPlan, after_utc: datetime) -> datetime:
    """The first digest strictly after ``after_utc``, moved to the end of quiet hours if inside."""
    if plan.mode == "instant":
        raise ValueError("an instant plan sends no digests")
    return _next_digest_at(plan, _as_utc(after_utc))


@lru_cache(maxsize=4096)
def _next_digest_at(plan: DeliveryPlan, after: datetime) -> datetime:
    """Cached: the worker asks about the same chat and last digest every tick until it fires."""
    if plan.mode == "hourly":
        slot = _next_local_hour(after, plan.zone)
    else:
        assert plan.daily_at is not None
        slot = _next_local_time(after, plan.daily_at, plan.zone)
    return quiet_ends_at(plan, slot)


def digest_due(plan: DeliveryPlan, last_digest_at_utc: datetime, now_utc: datetime) -> bool:
    """Whether a digest is due at ``now_utc``, given when the last one went out.

    Feed back the time the digest was actually sent (``now_utc`` of the call that said True):
    then every scheduled digest is due exactly once, and digests missed while the worker was
    down become a single one. Before the first digest pass the time the chat chose the plan.
    Instant plans never have a digest due.
    """
    if plan.mode == "instant":
        return False
    return next_digest_at(plan, last_digest_at_utc) <= _as_utc(now_utc)


def release_at(
    plan: DeliveryPlan,
    now_utc: datetime,
    breaking: bool = False,
    breaking_respects_quiet: bool = False,
) -> datetime:
    """When an article queued at ``now_utc`` may go out (UTC; ``now_utc`` means at once).

    Breaking news skips digests, and quiet hours too unless the chat asked otherwise. Other news
    waits for the end of quiet hours (instant mode) or for the next digest, which is strictly
    after ``now_utc``: a digest being sent at this very instant was assembled without it.
    """
    now = _as_utc(now_utc)
    if breaking:
        return quiet_ends_at(plan, now) if breaking_respects_quiet else now
    if plan.mode == "instant":
        return quiet_ends_at(plan, now)
    return next_digest_at(plan, now)
