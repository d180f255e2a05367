"""What a feed may push: the caps that keep one hostile feed from flooding every subscriber.

A feed that turns hostile (a compromised server, a domain that changed hands) can list
100,000 items in a document under the size cap. Three rules keep that contained, and each
item over a cap is still stored (readers find it in /latest and /search), only not pushed:

- a feed's **first** successful poll pushes nothing: what it lists then is its archive;
- an item **without a date** cannot show that it is new, so it is never pushed (nor is a
  dated one older than the policy's ``push_window``);
- at most ``max_pushes`` items of one feed are pushed in an hour (``HERALD_FEED_MAX_PUSHES``).

The poller also reads at most ``max_items`` items of a document (``HERALD_FEED_MAX_ITEMS``,
``feed_fetch.cut_items``). When a poll goes over either cap the editors are told, once: not
again while the feed keeps going over them (polls over a cap less than ``QUIET`` apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.services.feed_fetch import FeedEntry, FeedPolicy
from storage.feeds import Feed

HOUR = 3600
QUIET = 86_400  # a day without going over a cap ends a flood: the next one is told again


@dataclass(frozen=True, slots=True)
class Allowance:
    """Which of a poll's new entries may be pushed, and the feed's push count after it."""

    push: list[bool]  # one flag an entry, in order
    held: int  # entries that would have been pushed but for the hourly cap
    hour_at: int  # the hour the feed's push count is for
    used: int  # pushes counted in that hour before this poll


def allowance(feed: Feed, entries: Sequence[FeedEntry], policy: FeedPolicy, now: int) -> Allowance:
    """Push flags for ``entries`` (new to this feed) under the rules above."""
    hour_at, used = (feed.push_hour_at, feed.pushes)
    if now - hour_at >= HOUR:
        hour_at, used = now, 0
    budget = max(policy.max_pushes - used, 0)
    recent = now - policy.push_window
    first = feed.last_success_at is None
    flags: list[bool] = []
    held = 0
    for entry in entries:
        published = entry.article.published_at
        eligible = not first and published is not None and published >= recent
        flags.append(eligible and budget > 0)
        budget -= flags[-1]
        held += eligible and not flags[-1]
    return Allowance(flags, held, hour_at, used)


def should_tell(feed: Feed, now: int) -> bool:
    """Tell the editors about a capped poll only when it starts a new flood."""
    return feed.capped_at is None or now - feed.capped_at > QUIET


def capped_text(name: str, url: str, listed: int, held: int, policy: FeedPolicy) -> str:
    """The one notice to editors (HTML; ``name`` and ``url`` escaped by the caller)."""
    parts = []
    if listed > policy.max_items:
        parts.append(f"its document lists {listed:,} items and Herald reads {policy.max_items:,}")
    if held:
        parts.append(
            f"{held:,} new items were stored without being pushed (at most "
            f"{policy.max_pushes:,} of one feed's items are pushed an hour)"
        )
    return (
        f"⚠️ The feed {name} is over its limits: {'; '.join(parts)}. Herald keeps following "
        f"it within them and will not tell you again today.\n"
        f"<code>/feeds remove {url}</code> stops it."
    )
