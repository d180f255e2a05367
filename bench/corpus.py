"""A large synthetic news corpus built from the real BBC and HuffPost files.

Scale numbers are only meaningful with realistic text: FTS5 posting lists, the related-story
term statistics and the duplicate check all depend on word frequencies and article lengths.
So each synthetic article starts from a real *base* article (chosen uniformly from both files,
so about 18% are long BBC-style stories and 82% short HuffPost-style items), keeps its category,
and gets a new title and text mixed from several real articles of the same category, plus a
unique reference number so every article has its own content hash. Ids, urls and source ids are
unique; ``published_at`` increases through the last ``--years`` years, as a live archive's would.

The output is deterministic for a given (count, seed) and written as a stream, so a million
articles take well under a minute and little memory. It is cached: an existing complete file is
reused (the file is written under a temporary name and renamed when complete).

    .venv/bin/python -m bench.corpus --articles 100000 [--seed 7] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DATA, OUT, data_file

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
YEAR = 365 * 24 * 3600
# A fixed epoch end keeps the corpus byte-identical whatever day it is generated on.
END = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass(slots=True)
class Pool:
    """The real material of one category that synthetic articles are mixed from."""

    titles: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)  # BBC body paragraphs
    sentences: list[str] = field(default_factory=list)  # HuffPost description sentences
    authors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Base:
    """A real article: its category and whether it is a long (BBC) or short (HuffPost) story."""

    category: str
    long: bool
    title: str


def load(data_dir: Path) -> tuple[list[Base], dict[str, Pool]]:
    """Read both real files into base articles and per-category pools."""
    bases: list[Base] = []
    pools: dict[str, Pool] = {}
    with data_file("bbc_news.jsonl", data_dir).open(encoding="utf-8") as lines:
        for line in lines:
            rec = json.loads(line)
            cat = rec["category"].strip().lower()
            pool = pools.setdefault(cat, Pool())
            pool.titles.append(rec["title"])
            pool.paragraphs.extend(p.strip() for p in rec["body"].split("\n\n") if p.strip())
            bases.append(Base(cat, True, rec["title"]))
    with data_file("huffpost_news_category_sample.jsonl", data_dir).open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            cat = rec["category"].strip().lower()
            pool = pools.setdefault(cat, Pool())
            pool.titles.append(rec["headline"])
            desc = rec.get("short_description") or ""
            pool.sentences.extend(s for s in _SENTENCE.split(desc) if s.strip())
            if rec.get("authors"):
                pool.authors.append(rec["authors"])
            bases.append(Base(cat, False, rec["headline"]))
    for cat, pool in pools.items():  # every category needs both kinds of material
        if not pool.sentences:
            pool.sentences = [s for p in pool.paragraphs for s in _SENTENCE.split(p)][:5000]
        if not pool.paragraphs:
            pool.paragraphs = pool.sentences
        if not pool.titles:
            sys.exit(f"bench: category {cat!r} has no titles")
    return bases, pools


def _mixed_title(rng: random.Random, base: Base, pool: Pool) -> str:
    """The base title's first half joined to the second half of another title of its category."""
    head = base.title.split()
    tail = rng.choice(pool.titles).split()
    cut_head = max(1, len(head) // 2)
    cut_tail = len(tail) // 2
    return " ".join(head[:cut_head] + tail[cut_tail:]) or base.title


def synthesise(rng: random.Random, n: int, base: Base, pool: Pool, published: int) -> dict:
    """Synthetic article number ``n`` from ``base``: same category, mixed text, unique number."""
    ref = f"Reference {n:07d}-{rng.randrange(10**6):06d}."
    title = _mixed_title(rng, base, pool)
    if base.long:
        paragraphs = rng.sample(pool.paragraphs, k=min(len(pool.paragraphs), rng.randint(3, 9)))
        summary = ""
        body = "\n\n".join(paragraphs) + "\n\n" + ref
        source = "bbc-synthetic"
        authors: list[str] = []
    else:
        k = min(len(pool.sentences), rng.randint(1, 3))
        summary = " ".join(rng.sample(pool.sentences, k=k)) + " " + ref
        body = ""
        source = "huffpost-synthetic"
        authors = [rng.choice(pool.authors)] if pool.authors else []
    return {
        "id": f"syn-{n:08d}",
        "url": f"https://news.example.org/{source}/{n:08d}",
        "title": title,
        "summary": summary,
        "body": body,
        "category": base.category,
        "authors": authors,
        "source": source,
        "published_at": published,
    }


def corpus_path(out: Path, articles: int, seed: int) -> Path:
    return out / f"corpus-{articles}-seed{seed}.jsonl"


def build(
    articles: int, seed: int = 7, out: Path = OUT, data_dir: Path = DATA, years: float = 4.0
) -> Path:
    """Write (or reuse) the corpus of ``articles`` articles; return its path."""
    path = corpus_path(out, articles, seed)
    if path.is_file():
        return path
    out.mkdir(parents=True, exist_ok=True)
    bases, pools = load(data_dir)
    rng = random.Random(seed)
    start = END - int(years * YEAR)
    step = (END - start) / max(articles, 1)
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    with partial.open("w", encoding="utf-8") as fh:
        chunk: list[str] = []
        for n in range(articles):
            base = rng.choice(bases)
            published = start + int(n * step)  # increasing: the archive grows in time order
            record = synthesise(rng, n, base, pools[base.category], published)
            chunk.append(json.dumps(record, ensure_ascii=False))
            if len(chunk) >= 10_000:
                fh.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            fh.write("\n".join(chunk) + "\n")
    partial.rename(path)
    seconds = time.perf_counter() - started
    size = path.stat().st_size / 2**20
    print(f"corpus: wrote {articles:,} articles, {size:,.0f} MiB in {seconds:.1f} s: {path}")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    args = parser.parse_args(argv)
    path = build(args.articles, args.seed, args.out, args.data)
    print(path)


if __name__ == "__main__":
    main()
