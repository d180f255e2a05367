"""Subscriptions: what a chat asked for, read from what a person types.

``/subscribe`` alone means everything; bare words are topic names (a misspelt one gets the
closest names as suggestions, never silence); text in quotes is a keyword or phrase matched as
whole words against each new article's title and summary, in any letter case.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from bot.i18n import N_, _
from bot.services.fanout import word_pattern
from bot.services.names import close_names
from storage import articles as article_store
from storage import subscriptions as store
from storage.db import Database
from storage.subscriptions import ALL, KEYWORD, TOPIC, Subscription

MAX_PHRASE = 100
MAX_PER_CHAT = 100

# How a subscription to everything is named to the reader, in the reader's language.
EVERYTHING = N_("everything")

_QUOTED = re.compile(r"[\"“”«»„](.*?)(?:[\"“”«»„]|$)")


@dataclass(slots=True)
class Request:
    """What a /subscribe or /unsubscribe argument asks for."""

    everything: bool = False
    topics: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Change:
    """What a /subscribe or /unsubscribe did, for the reply."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: dict[str, list[str]] = field(default_factory=dict)  # word → suggestions
    too_many: bool = False


def parse_request(text: str) -> Request:
    """Split an argument into quoted phrases and topic names; empty means everything."""
    phrases = [p.strip() for p in _QUOTED.findall(text) if p.strip()]
    rest = _QUOTED.sub(" ", text)
    topics = [w for w in re.split(r"[\s,]+", rest) if w.strip("#")]
    return Request(everything=not phrases and not topics, topics=topics, phrases=phrases)


async def _resolve_topics(
    db: Database, words: list[str]
) -> tuple[list[article_store.Topic], dict[str, list[str]]]:
    """Topics named by ``words``; a whole multi-word name ('u.s. news') is tried first."""
    known = await article_store.list_topics(db)
    by_name = {t.name.casefold(): t for t in known}
    whole = " ".join(words).lstrip("#").casefold()
    if len(words) > 1 and whole in by_name:
        return [by_name[whole]], {}
    found, unknown = [], {}
    for word in words:
        name = word.lstrip("#").casefold()
        if name in by_name:
            found.append(by_name[name])
        else:
            unknown[word] = close_names(name, [t.name for t in known])
    return found, unknown


async def subscribe(db: Database, chat_id: int, text: str, now: int | None = None) -> Change:
    """Add what ``text`` asks for to the chat's subscriptions."""
    now = int(time.time()) if now is None else now
    request, change = parse_request(text), Change()
    current = await store.list_subscriptions(db, chat_id)
    room = MAX_PER_CHAT - len(current)
    if request.everything:
        added = await store.add_subscription(db, chat_id, ALL, now)
        (change.done if added else change.unchanged).append(_(EVERYTHING))
        return change
    topics, change.unknown = await _resolve_topics(db, request.topics)
    for topic in topics:
        if room <= 0:
            change.too_many = True
            break
        added = await store.add_subscription(db, chat_id, TOPIC, now, topic_id=topic.id)
        (change.done if added else change.unchanged).append(f"#{topic.name}")
        room -= added
    for phrase in request.phrases:
        pattern = word_pattern(phrase[:MAX_PHRASE])
        if not pattern:
            change.unknown[f"“{phrase[:MAX_PHRASE]}”"] = []
            continue
        if room <= 0:
            change.too_many = True
            break
        shown = pattern.strip()
        added = await store.add_subscription(
            db, chat_id, KEYWORD, now, phrase=shown, pattern=pattern
        )
        (change.done if added else change.unchanged).append(f"“{shown}”")
        room -= added
    return change


async def unsubscribe(db: Database, chat_id: int, text: str) -> Change:
    """Remove everything, or the named topics and phrases."""
    request, change = parse_request(text), Change()
    current = await store.list_subscriptions(db, chat_id)
    if request.everything:
        removed = await store.remove_all(db, chat_id)
        (change.done if removed else change.unchanged).append(_(EVERYTHING))
        return change
    topics, _unknown = await _resolve_topics(db, request.topics)
    named = {t.casefold() for t in request.topics}
    if topics and len(topics) == 1 and len(request.topics) > 1:
        named = set()  # one multi-word topic name, e.g. "u.s. news"
    wanted = {f"#{t.name.casefold()}" for t in topics} | {f"#{n.lstrip('#')}" for n in named}
    wanted |= {f"“{word_pattern(p).strip()}”" for p in request.phrases}
    for sub in current:
        label = describe(sub)
        if label.casefold() in {w.casefold() for w in wanted}:
            await store.remove_subscription(db, chat_id, sub.id)
            change.done.append(label)
    missing = {w for w in wanted if w.casefold() not in {d.casefold() for d in change.done}}
    change.unchanged.extend(sorted(missing))
    return change


def describe(sub: Subscription) -> str:
    """How the reader sees a subscription: translated 'everything', '#topic' or '“phrase”'."""
    if sub.kind == ALL:
        return _(EVERYTHING)
    if sub.kind == TOPIC:
        return f"#{sub.label}"
    return f"“{sub.label}”"


async def list_for(db: Database, chat_id: int) -> list[Subscription]:
    return await store.list_subscriptions(db, chat_id)


async def remove_one(db: Database, chat_id: int, subscription_id: int) -> bool:
    """A remove button: only ever the chat's own subscription."""
    return await store.remove_subscription(db, chat_id, subscription_id)


async def add_topic(db: Database, chat_id: int, topic_id: int, now: int | None = None) -> bool:
    """An add-topic button; False when the topic no longer exists."""
    topic = await article_store.get_topic(db, topic_id)
    if topic is None:
        return False
    now = int(time.time()) if now is None else now
    await store.add_subscription(db, chat_id, TOPIC, now, topic_id=topic.id)
    return True
