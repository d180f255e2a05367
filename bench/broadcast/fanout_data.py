"""A realistic million-subscription database for timing the fan-out of one article.

Mix (of subscriptions, not chats): 10% "everything", 60% topics over 20 topics, 30% keywords and
phrases from a news vocabulary. Topic and keyword popularity follow a Zipf law (a few topics
and words are very popular, most are niche), chats hold 2.5 subscriptions on average and 5% of
them are groups or channels. Seeded, so every run builds the same database.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bot.services.fanout import word_pattern
from storage.articles import ensure_topics
from storage.db import Database

TOPICS = (
    "politics", "economy", "world", "sport", "technology", "business", "health", "science",
    "culture", "europe", "climate", "football", "markets", "energy", "education", "travel",
    "music", "film", "books", "space",
)  # fmt: skip
# Words and phrases readers follow, most popular first (Zipf ranks).
KEYWORDS = (
    "election", "ukraine", "bitcoin", "inflation", "ai", "tesla", "apple", "nasa", "covid",
    "china", "interest rates", "brexit", "oil", "climate change", "nvidia", "strike",
    "housing", "olympics", "central bank", "openai", "gaza", "tariffs", "recession", "nhs",
    "elon musk", "champions league", "taxes", "wildfire", "earthquake", "hurricane", "gold",
    "unemployment", "startup", "layoffs", "ipo", "merger", "chess", "formula 1", "tennis",
    "golf", "cricket", "rugby", "space x", "mars", "vaccine", "cancer", "obesity", "drought",
    "flood", "migration", "border", "nato", "un", "g7", "g20", "davos", "opec", "gas prices",
    "electric cars", "batteries", "solar", "wind power", "nuclear", "fusion", "quantum",
    "cybersecurity", "ransomware", "privacy", "tiktok", "meta", "google", "amazon",
    "microsoft", "netflix", "disney", "spotify", "streaming", "box office", "oscars", "grammys",
    "eurovision", "world cup", "premier league", "la liga", "nba", "nfl", "euro", "dollar",
    "yen", "stocks", "bonds", "mortgage", "rent", "wages", "pensions", "europe", "bank",
    "banks", "rates", "central banks", "prices", "food prices", "farmers", "trade",
)  # fmt: skip

CHATS = 400_000
GROUP_SHARE = 0.05
SUBSCRIPTIONS = 1_000_000
MIX = {"all": 0.10, "topic": 0.60, "keyword": 0.30}
SEED = 7


def _zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (rank**s) for rank in range(1, n + 1)]


def chat_ids(rng: random.Random) -> list[int]:
    """Private chats have positive ids, groups and channels negative ones (as on Telegram)."""
    groups = int(CHATS * GROUP_SHARE)
    ids = list(range(1, CHATS - groups + 1)) + [-1_000_000_000_000 - i for i in range(groups)]
    rng.shuffle(ids)
    return ids


async def build(path: Path, subscriptions: int = SUBSCRIPTIONS) -> dict[str, float]:
    """Create the database at ``path``; returns counts and how long the build took."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    chats = chat_ids(rng)
    chats = chats[: max(1, int(len(chats) * subscriptions / SUBSCRIPTIONS))]
    want = {kind: int(subscriptions * share) for kind, share in MIX.items()}
    db = await Database.open(path)
    try:
        async with db.transaction():
            await db.executemany(
                "INSERT INTO chats (id, kind, title, created_at, updated_at)"
                " VALUES (?, ?, '', 0, 0)",
                ((c, "private" if c > 0 else "supergroup") for c in chats),
            )
            topic_ids = await ensure_topics(db, TOPICS)
            rows: list[tuple[int, str, int | None, str | None, str | None]] = [
                (c, "all", None, None, None) for c in rng.sample(chats, want["all"])
            ]
            rows += _pairs(rng, chats, [topic_ids[t] for t in TOPICS], want["topic"], 1.0)
            phrases = [(p, word_pattern(p)) for p in KEYWORDS]
            for chat, index in _pair_indexes(rng, chats, len(phrases), want["keyword"], 1.1):
                phrase, pattern = phrases[index]
                rows.append((chat, "keyword", None, phrase, pattern))
            await db.executemany(
                "INSERT INTO subscriptions (chat_id, kind, topic_id, phrase, pattern, created_at)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                rows,
            )
        await db.execute("ANALYZE")
        total = await db.scalar("SELECT count(*) FROM subscriptions")
    finally:
        await db.close()
    return {"chats": len(chats), "subscriptions": total, "seconds": time.perf_counter() - started}


def _pair_indexes(
    rng: random.Random, chats: list[int], choices: int, count: int, s: float
) -> list[tuple[int, int]]:
    """``count`` distinct (chat, choice index) pairs, choices Zipf-distributed."""
    weights = _zipf_weights(choices, s)
    seen: set[tuple[int, int]] = set()
    while len(seen) < count:
        need = count - len(seen)
        picked = rng.choices(range(choices), weights=weights, k=need)
        seen.update(zip(rng.choices(chats, k=need), picked, strict=True))
    return sorted(seen)


def _pairs(
    rng: random.Random, chats: list[int], topic_ids: list[int], count: int, s: float
) -> list[tuple[int, str, int | None, str | None, str | None]]:
    return [
        (chat, "topic", topic_ids[i], None, None)
        for chat, i in _pair_indexes(rng, chats, len(topic_ids), count, s)
    ]
