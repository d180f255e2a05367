"""Scale benchmark: import rate, /search and article-open latency on a large synthetic corpus.

It builds (or reuses) the synthetic corpus of ``bench.corpus``, imports it through the real
``import_file`` into a fresh database in ``bench/out/``, then times a few hundred searches of
several classes through ``start_search`` and article opens through ``open_article``: the same
code paths a reader's /search and "open" buttons take. Phase timers are wrapped around the
import's and search's inner functions (module attributes, no code change) to show where the
time goes; their overhead is a few microseconds per call.

    .venv/bin/python -m bench.scale --articles 100000 [--json] [--reuse]

Targets (at 1M articles): /search p95 ≤ 50 ms, open p95 ≤ 5 ms, import ≥ 2,000 articles/s.

With ``--corpus PATH`` it measures Herald against the search peers instead (issue 11): it
stores the peers' corpus (``../shared/bench-peers/gen_corpus.py``; ``--fill`` skips the
related index, the default import keeps it), builds the search index, then times the peers'
200 queries (``queries.json`` beside ``data/``) through the whole path a reader's ``/search``
takes (``start_search`` + rendering the page of 5) exactly as the peers' ``bench.py`` times
its engines: one warm-up pass, ``--rounds`` shuffled passes, the median per query, p50/p95/p99
per class and overall (interpolated percentiles, as the peers compute them). With ``--peers
DIR`` it first runs the peers' ``bench.py --engine tantivy --reuse`` (under ``nice -n 10``)
on the same corpus, so both sets of numbers come from one run:

    .venv/bin/python -m bench.scale --fill --reuse \
        --corpus bench/out/peers/data/corpus_1m.jsonl \
        --peers ../shared/bench-peers --peers-python .venv-peers/bin/python --markdown
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import bot.services.importer as importer_mod
import bot.services.ingest as ingest_mod
import bot.services.related as related_mod
import storage.related as related_store
import storage.search as search_store
from bench import corpus
from bench.common import DATA, OUT, data_file, machine, median, percentile
from bot.rendering import reading as pages
from bot.services.importer import BATCH, ImportSummary, import_file, read_articles
from bot.services.reading import open_article
from bot.services.search import start_search
from storage import search_index
from storage.articles import NewArticle, insert_articles
from storage.db import Database

TARGETS = {"search_p95_ms": 50.0, "open_p95_ms": 5.0, "import_rate": 2000.0}
COMMON = ("the", "said", "government", "year", "people", "new", "would", "one", "time", "first")
CLASS_BUDGET_S = 90.0  # a query class stops early after this long, to bound the run
_WORD = re.compile(r"[a-z]{4,}")


class PhaseTimer:
    """Accumulates wall time per named phase by wrapping module-level functions (or methods)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._undo: list[tuple[ModuleType | type, str, Any]] = []

    def wrap(self, module: ModuleType | type, name: str, phase: str | None = None) -> None:
        original = getattr(module, name)
        label = phase or name
        timer = self

        if inspect.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    timer.seconds[label] += time.perf_counter() - started
                    timer.calls[label] += 1

            setattr(module, name, timed_async)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    timer.seconds[label] += time.perf_counter() - started
                    timer.calls[label] += 1

            setattr(module, name, timed)
        self._undo.append((module, name, original))

    def snapshot(self) -> dict[str, float]:
        return dict(self.seconds)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def restore(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)
        self._undo.clear()


def instrument_import(timer: PhaseTimer) -> None:
    """Time the import's phases: normalise, insert (+FTS triggers), related index, commit."""
    timer.wrap(importer_mod, "normalise")
    timer.wrap(importer_mod, "ingest")
    timer.wrap(ingest_mod, "insert_articles")
    timer.wrap(ingest_mod, "index_documents")
    timer.wrap(related_mod, "term_counts")
    timer.wrap(related_mod, "keyword_weights")
    for name in (
        "add_document_frequencies",
        "document_frequencies",
        "add_keywords",
        "score_candidates",
        "add_related",
        "offer_related",
        "published_among",
    ):
        timer.wrap(related_store, name)
    timer.wrap(related_mod.ImportPostings, "follow", "postings_follow")
    timer.wrap(related_mod.ImportPostings, "candidates", "postings_candidates")


def instrument_search(timer: PhaseTimer) -> None:
    """Time a search's steps: recency-window probes, saving the search, ranking the page."""
    for name in ("newest_rowid", "has_matches", "save_search", "search_articles"):
        timer.wrap(search_store, name)


def import_phases(seconds: dict[str, float]) -> dict[str, float]:
    """Exclusive seconds per import phase from the (nested) wrapped totals."""
    related_inner = ("term_counts", "keyword_weights", "add_document_frequencies",
                     "document_frequencies", "add_keywords", "score_candidates",
                     "add_related", "offer_related", "published_among",
                     "postings_follow", "postings_candidates")
    g = seconds.get
    ingest = g("ingest", 0.0)
    index = g("index_documents", 0.0)
    return {
        "read+json+parse": g("total", 0.0) - ingest - g("normalise", 0.0),
        "normalise": g("normalise", 0.0),
        "insert_articles (+FTS trigger, topics)": g("insert_articles", 0.0),
        "related: term_counts": g("term_counts", 0.0),
        "related: df update+fetch": g("add_document_frequencies", 0.0)
        + g("document_frequencies", 0.0),
        "related: keyword_weights": g("keyword_weights", 0.0),
        "related: add_keywords": g("add_keywords", 0.0),
        "related: score_candidates": g("score_candidates", 0.0),
        "related: add/offer_related": g("add_related", 0.0) + g("offer_related", 0.0),
        "related: postings follow (reads, appends)": g("postings_follow", 0.0),
        "related: postings candidates (sums)": g("postings_candidates", 0.0),
        "related: status check": g("published_among", 0.0),
        "related: other python": index - sum(g(k, 0.0) for k in related_inner),
        "BEGIN/COMMIT (+WAL checkpoints)": ingest - g("insert_articles", 0.0) - index,
    }


class ImportBudgetSpent(Exception):
    """Raised from the progress callback to stop an import that ran out of its time budget."""


async def run_import(
    db: Database, path: Path, total: int, timer: PhaseTimer, budget_s: float
) -> dict[str, Any]:
    """Import ``path`` and report the overall rate, the last 10%'s rate and the phase split.

    The import stops after the batch that crosses ``budget_s`` seconds (0: no limit), so a
    run on a slow machine is bounded and still measures a large database.
    """
    started = time.perf_counter()
    timeline: list[tuple[int, float, dict[str, float]]] = [(0, started, {})]
    done = 0
    step = max(total // 100, 1)
    report_every = max(total // 20, 1)

    def progress(n: int) -> None:
        nonlocal done
        done += n
        now = time.perf_counter()
        if done // step != (done - n) // step:
            snap = timer.snapshot()
            snap["total"] = now - started
            timeline.append((done, now, snap))
        if done // report_every != (done - n) // report_every:
            rate = done / (now - started)
            print(f"  import {done:>9,}/{total:,} {rate:8.0f} articles/s", flush=True)
        if budget_s and now - started > budget_s:
            raise ImportBudgetSpent

    instrument_import(timer)
    stopped = False
    try:
        summary = await import_file(db, path, progress)
        seconds = summary.seconds
    except ImportBudgetSpent:
        stopped = True
        seconds = time.perf_counter() - started
        summary = None
    finally:
        timer.restore()
    added = int(await db.scalar("SELECT count(*) FROM articles"))
    final = timer.snapshot()
    final["total"] = seconds
    end = (done, started + seconds, final)
    cut = next(t for t in timeline if t[0] >= 0.9 * done) if done else end
    if cut is end or cut[0] == done:
        cut = timeline[-2] if len(timeline) > 1 else timeline[0]
    whole = import_phases(final)
    head = import_phases(cut[2]) if cut[2] else {}
    last_n, last_s = done - cut[0], end[1] - cut[1]
    return {
        "read": summary.read if summary else done,
        "added": added,
        "duplicates": summary.duplicates if summary else 0,
        "rejected": summary.rejected if summary else 0,
        "stopped_by_budget": stopped,
        "seconds": seconds,
        "rate": added / seconds if seconds else 0.0,
        "rate_last_10pct": last_n / last_s if last_s else 0.0,
        "phases_s": whole,
        "phases_last_10pct_s": {k: whole[k] - head.get(k, 0.0) for k in whole},
        "last_10pct_articles": last_n,
    }


def source_words(data_dir: Path) -> tuple[Counter[str], list[str]]:
    """Word counts of the real text, and its sentences (for phrase and two-word queries)."""
    counts: Counter[str] = Counter()
    sentences: list[str] = []
    for name, fields in (
        ("bbc_news.jsonl", ("title", "body")),
        ("huffpost_news_category_sample.jsonl", ("headline", "short_description")),
    ):
        with data_file(name, data_dir).open(encoding="utf-8") as lines:
            for line in lines:
                rec = json.loads(line)
                for f in fields:
                    text = rec.get(f) or ""
                    counts.update(_WORD.findall(text.lower()))
                    sentences.extend(s for s in re.split(r"[.!?\n]+", text) if len(s) > 30)
    return counts, sentences


def make_queries(
    rng: random.Random, data_dir: Path, per_class: int, articles: int
) -> dict[str, list[str]]:
    """``per_class`` queries of each class a reader might type, drawn from the real text."""
    counts, sentences = source_words(data_dir)
    rare = sorted(w for w, c in counts.items() if 2 <= c <= 3)
    medium = sorted(w for w, c in counts.items() if 30 <= c <= 300)
    frequent = sorted(w for w, c in counts.items() if 1000 <= c)

    def content_words(sentence: str) -> list[str]:
        return [w for w in _WORD.findall(sentence.lower()) if 30 <= counts[w] <= 3000]

    def pick(seq: list[str]) -> str:
        return rng.choice(seq)

    def phrase() -> str:
        while True:
            words = re.findall(r"[A-Za-z]+", pick(sentences))
            if len(words) >= 4:
                i = rng.randrange(len(words) - 2)
                return '"' + " ".join(words[i : i + rng.choice((2, 3))]) + '"'

    def two_words() -> str:
        while True:
            words = sorted(set(content_words(pick(sentences))))
            if len(words) >= 2:
                return " ".join(rng.sample(words, 2))

    def unique() -> str:  # the reference number of one synthetic article: exactly one hit
        return f"{rng.randrange(articles):07d}"

    makers: dict[str, Callable[[], str]] = {
        "unique number": unique,
        "rare word": lambda: pick(rare),
        "medium word": lambda: pick(medium),
        "common word": lambda: pick(list(COMMON) + frequent[:20]),
        "two words": two_words,
        "common two words": lambda: f"{pick(COMMON)} {pick(frequent)}",
        "phrase": phrase,
        "prefix": lambda: pick(medium + frequent)[: rng.randint(3, 5)] + "*",
        "OR": lambda: f"{pick(medium)} OR {pick(medium)}",
    }
    return {name: [make() for _ in range(per_class)] for name, make in makers.items()}


async def time_searches(
    db: Database, queries: dict[str, list[str]], timer: PhaseTimer
) -> dict[str, Any]:
    """Latency of ``start_search`` per query class, and the slowest queries with a breakdown."""
    instrument_search(timer)
    by_class: dict[str, list[float]] = {}
    every: list[tuple[float, str, str, dict[str, float], int, int]] = []
    newest = int(await db.scalar("SELECT max(id) FROM articles"))
    try:
        for name, texts in queries.items():
            times: list[float] = []
            class_started = time.perf_counter()
            for text in texts:
                timer.reset()
                started = time.perf_counter()
                page = await start_search(db, 1, text, 5)
                ms = 1000 * (time.perf_counter() - started)
                times.append(ms)
                window = 0
                if page is not None:
                    saved = await search_store.get_search(db, page.search_id)
                    lo = saved.min_rowid if saved else 0
                    window = newest - int(lo) + 1 if lo else 0
                steps = {k: 1000 * v for k, v in timer.seconds.items()}
                steps["has_matches calls"] = timer.calls["has_matches"]
                hits = len(page.hits) if page else 0
                every.append((ms, name, text, steps, window, hits))
                if time.perf_counter() - class_started > CLASS_BUDGET_S:
                    break
            by_class[name] = times
    finally:
        timer.restore()
    all_ms = [t for ts in by_class.values() for t in ts]
    every.sort(key=lambda row: row[0], reverse=True)
    return {
        "all": summarise(all_ms),
        "by_class": {name: summarise(ts) for name, ts in by_class.items()},
        "slowest": [
            {"ms": ms, "class": c, "query": q, "steps_ms": s, "window": w or "all", "hits": h}
            for ms, c, q, s, w, h in every[:8]
        ],
    }


async def time_opens(db: Database, ids: list[int]) -> dict[str, Any]:
    """Latency of ``open_article`` (article, topics, related headlines) on the given ids."""
    times = []
    related = 0
    for article_id in ids:
        started = time.perf_counter()
        view = await open_article(db, article_id)
        times.append(1000 * (time.perf_counter() - started))
        related += len(view.related) if view else 0
    result = summarise(times)
    result["mean_related"] = related / max(len(ids), 1)
    return result


def summarise(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "p50": median(ms),
        "p95": percentile(ms, 95),
        "max": max(ms) if ms else float("nan"),
    }


async def table_sizes(db: Database) -> dict[str, int]:
    """Bytes per table/index via dbstat, when SQLite was built with it."""
    try:
        rows = await db.fetchall(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        )
    except Exception:  # dbstat is a compile-time option
        return {}
    return {row[0]: int(row[1]) for row in rows}


def db_bytes(path: Path) -> int:
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


async def fill_without_related(db: Database, path: Path, budget_s: float) -> dict[str, Any]:
    """Store the corpus through ``read_articles`` + ``insert_articles`` only, without ``ingest``.

    This is NOT the production import: it skips the related-story index, which is what makes the
    real import slow, so that search and open latency can be measured on a database of the full
    size when the real import cannot finish in the time available. Articles, topics and the
    FTS index (its triggers) are exactly what the real import writes; only ``related`` and
    ``article_keywords`` stay empty, so opens show no related headlines.
    """
    summary = ImportSummary()
    started = time.perf_counter()
    now = int(time.time())
    batch: list[NewArticle] = []
    added = 0
    stopped = False

    async def flush() -> None:
        nonlocal added
        async with db.transaction():
            ids = await insert_articles(db, batch)
        added += sum(1 for i in ids if i is not None)
        batch.clear()

    for _number, article in read_articles(path, summary, now):
        batch.append(article)
        if len(batch) >= BATCH:
            await flush()
            if added % 100_000 == 0:
                print(f"  fill {added:>9,} {added / (time.perf_counter() - started):8.0f}/s",
                      flush=True)
            if budget_s and time.perf_counter() - started > budget_s:
                stopped = True
                break
    if batch:
        await flush()
    seconds = time.perf_counter() - started
    return {
        "mode": "fill without related index (NOT the production import)",
        "read": summary.read, "added": added, "duplicates": 0, "rejected": summary.rejected,
        "stopped_by_budget": stopped, "seconds": seconds,
        "rate": added / seconds, "rate_last_10pct": float("nan"),
        "phases_s": {}, "phases_last_10pct_s": {}, "reused": False, "fill": True,
    }


def _reused(args: argparse.Namespace, db_path: Path, done_marker: Path) -> dict[str, Any] | None:
    """The import figures of a database kept from an earlier run (``--reuse``), else None
    after clearing what is left of one."""
    if args.reuse and done_marker.is_file() and db_path.is_file():
        return json.loads(done_marker.read_text()) | {"reused": True}
    for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), done_marker):
        p.unlink(missing_ok=True)
    return None


async def _stored(
    args: argparse.Namespace, db_path: Path, done_marker: Path, source: Path, timer: PhaseTimer
) -> tuple[Database, dict[str, Any]]:
    """The benchmark's database: reused with its import figures (``--reuse``), else made anew
    from ``source`` (``--fill``: without related stories)."""
    figures = _reused(args, db_path, done_marker)
    db = await Database.open(db_path)
    if figures is not None:
        return db, figures
    print(f"storing {source} into {db_path}", flush=True)
    if args.fill:
        figures = await fill_without_related(db, source, args.import_budget)
    else:
        figures = await run_import(db, source, args.articles, timer, args.import_budget)
    _mark_done(done_marker, figures)
    return db, figures


def _mark_done(done_marker: Path, figures: dict[str, Any]) -> None:
    """Keep the import figures beside the database, for ``--reuse``."""
    done_marker.write_text(json.dumps(figures))


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    source = corpus.build(args.articles, args.seed, args.out, args.data)
    suffix = "-fill" if args.fill else ""
    db_path = args.out / f"scale-{args.articles}-seed{args.seed}{suffix}.db"
    done_marker = db_path.with_suffix(".imported.json")
    timer = PhaseTimer()
    result: dict[str, Any] = {"articles": args.articles, "machine": machine()}
    db, result["import"] = await _stored(args, db_path, done_marker, source, timer)
    try:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["db_bytes"] = db_bytes(db_path)
        if args.table_sizes:
            result["table_bytes"] = await table_sizes(db)
        rng = random.Random(args.seed)
        queries = make_queries(rng, args.data, args.queries, args.articles)
        newest = int(await db.scalar("SELECT max(id) FROM articles"))
        # Warm-up: a pass of distinct queries and opens, so the page cache is in steady state.
        warm = make_queries(random.Random(args.seed + 1), args.data, 5, args.articles)
        for texts in warm.values():
            for text in texts:
                await start_search(db, 1, text, 5)
        for _ in range(200):
            await open_article(db, rng.randint(1, newest))
        print("timing searches …", flush=True)
        result["search"] = await time_searches(db, queries, timer)
        ids = [rng.randint(1, newest) for _ in range(args.opens)]
        result["open"] = await time_opens(db, ids)
        result["queries"] = {name: texts[:5] for name, texts in queries.items()}
    finally:
        await db.close()
    return result


def report(r: dict[str, Any]) -> str:
    imp, s, o = r["import"], r["search"], r["open"]
    t = TARGETS

    def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
        ok = value >= target if higher_is_better else value <= target
        if ok:
            return "ok"
        return f"MISS x{(target / value if higher_is_better else value / target):.1f}"

    lines = [
        f"articles {imp['added']:,} (corpus {r['articles']:,})   "
        f"database {r['db_bytes'] / 2**20:,.0f} MiB   "
        f"({r['machine']['cpus']} CPU {r['machine']['cpu_model']}, Python "
        f"{r['machine']['python']}, SQLite {r['machine']['sqlite']})",
        "",
        "metric                          value        target     verdict",
        f"import rate (overall)      {imp['rate']:>10,.0f} /s  ≥ {t['import_rate']:,.0f} /s  "
        f"{verdict(imp['rate'], t['import_rate'], True)}",
        f"import rate (last 10%)     {imp['rate_last_10pct']:>10,.0f} /s  ≥ {t['import_rate']:,.0f}"
        f" /s  {verdict(imp['rate_last_10pct'], t['import_rate'], True)}",
        f"import time                {imp['seconds']:>10,.0f} s   "
        f"(added {imp['added']:,}, duplicates {imp['duplicates']}, rejected {imp['rejected']})"
        + ("  STOPPED by --import-budget" if imp.get("stopped_by_budget") else ""),
        f"/search p50 / p95 / max    {s['all']['p50']:>7.1f} / {s['all']['p95']:.1f} / "
        f"{s['all']['max']:.1f} ms  p95 ≤ {t['search_p95_ms']:.0f} ms  "
        f"{verdict(s['all']['p95'], t['search_p95_ms'])}   (n={s['all']['n']})",
        f"open p50 / p95 / max       {o['p50']:>7.2f} / {o['p95']:.2f} / {o['max']:.2f} ms"
        f"  p95 ≤ {t['open_p95_ms']:.0f} ms  {verdict(o['p95'], t['open_p95_ms'])}"
        f"   (n={o['n']}, {o['mean_related']:.1f} related)",
        "",
        "search by class         n      p50      p95      max  (ms)",
    ]
    for name, c in s["by_class"].items():
        lines.append(
            f"  {name:<18} {c['n']:>4} {c['p50']:>8.1f} {c['p95']:>8.1f} {c['max']:>8.1f}"
        )
    lines += ["", "slowest searches (ms: newest_rowid / has_matches×n / save / rank page)"]
    for q in s["slowest"]:
        st = q["steps_ms"]
        lines.append(
            f"  {q['ms']:8.1f}  {q['class']:<16} {q['query']!r:<28} window={q['window']!s:<7}"
            f" hits={q['hits']}  [{st.get('newest_rowid', 0):.1f} / "
            f"{st.get('has_matches', 0):.1f}×{st.get('has_matches calls', 0):.0f} / "
            f"{st.get('save_search', 0):.1f} / {st.get('search_articles', 0):.1f}]"
        )
    if imp.get("fill"):
        lines.insert(1, "NOTE: --fill: related index skipped; import rate is NOT the real one")
    if not imp.get("reused") and not imp.get("fill"):
        lines += ["", "import phases           whole (s)   share   last 10% (s)   share"]
        whole, last = imp["phases_s"], imp["phases_last_10pct_s"]
        total_whole = sum(whole.values()) or 1.0
        total_last = sum(last.values()) or 1.0
        for name in whole:
            lines.append(
                f"  {name:<40} {whole[name]:>8.1f} {100 * whole[name] / total_whole:>6.1f}%"
                f" {last[name]:>10.1f} {100 * last[name] / total_last:>6.1f}%"
            )
    if r.get("table_bytes"):
        lines += ["", "largest tables/indexes (MiB)"]
        for name, size in list(r["table_bytes"].items())[:10]:
            lines.append(f"  {name:<32} {size / 2**20:>9,.1f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- Herald vs the search peers
PEER_GOAL = 2.0  # issue 11: Herald's p95 and p99 at most twice tantivy's, overall and per class


def peer_pct(values: list[float], p: float) -> float:
    """Interpolated percentile, as the peers' ``bench.py`` computes it (same numbers, same
    method, so the ratios compare like with like)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def peer_summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(peer_pct(values, 50), 3),
        "p95": round(peer_pct(values, 95), 3),
        "p99": round(peer_pct(values, 99), 3),
    }


def reader_text(query: dict[str, Any]) -> str:
    """What a reader types for a peers' query: a phrase in quotes, anything else as is."""
    return f'"{query["text"]}"' if query["phrase"] else query["text"]


def same_title(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


async def herald_path(db: Database, text: str) -> tuple[list[int], str]:
    """A reader's /search: parse, match, rank, save, the page of 5 with snippets, rendered."""
    page = await start_search(db, 1, text, 5)
    if page is None:
        return [], ""
    return [h.id for h in page.hits], pages.search_results(page, 5).text


async def time_peer_queries(
    db: Database, queries: list[dict[str, Any]], rounds: int
) -> dict[str, Any]:
    """The peers' timing loop (``timed_loop`` in their bench.py) around Herald's path."""
    results: dict[str, list[int]] = {}
    titles: dict[str, str] = {}
    for q in queries:  # warm-up pass, untimed
        results[q["qid"]], _ = await herald_path(db, reader_text(q))
    times: dict[str, list[float]] = {q["qid"]: [] for q in queries}
    for r in range(rounds):
        order = list(queries)
        random.Random(1 * 1000 + r).shuffle(order)
        for q in order:
            started = time.perf_counter_ns()
            results[q["qid"]], _ = await herald_path(db, reader_text(q))
            times[q["qid"]].append((time.perf_counter_ns() - started) / 1e6)
    firsts = [ids[0] for ids in results.values() if ids]
    if firsts:
        rows = await db.fetchall(
            "SELECT id, title FROM articles WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(firsts),),
        )
        titles = {str(row[0]): row[1] for row in rows}
    medians = {qid: statistics.median(ts) for qid, ts in times.items()}
    classes: dict[str, Any] = {}
    for cls in dict.fromkeys(q["cls"] for q in queries):
        classes[cls] = peer_summary([medians[q["qid"]] for q in queries if q["cls"] == cls])
    title_queries = [q for q in queries if q["cls"] == "title"]
    found = [
        q["qid"] for q in title_queries
        if results[q["qid"]] and same_title(titles.get(str(results[q["qid"]][0]), ""), q["text"])
    ]
    return {
        "rounds": rounds,
        "classes": classes,
        "overall": peer_summary(list(medians.values())),
        "title_at_1": len(found),
        "titles": len(title_queries),
        "title_missed": [q["text"] for q in title_queries if q["qid"] not in found],
        "empty": [q["qid"] for q in queries if not results[q["qid"]]],
        "per_query_ms": {qid: round(ms, 3) for qid, ms in medians.items()},
    }


def run_peer_tantivy(args: argparse.Namespace, size: str, workdir: Path) -> dict[str, Any]:
    """The peers' own ``bench.py --engine tantivy`` on the same corpus, under ``nice -n 10``."""
    bench_py = args.peers / "bench.py"
    env = {**os.environ, "PEERS_WORKDIR": str(workdir)}
    cmd = ["nice", "-n", "10", str(args.peers_python), str(bench_py), "--engine", "tantivy",
           "--size", size, "--reuse", "--rounds", str(args.rounds)]
    print("peers:", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    return json.loads((workdir / "results" / f"tantivy-{size}.json").read_text())


async def tantivy_title_at_1(
    db: Database, peer: dict[str, Any], queries: list[dict[str, Any]]
) -> int:
    """Exact-title success@1 of the peers' tantivy run, read back through Herald's copy of the
    corpus (the peers' ids are the articles' external ids)."""
    by_qid = {pq["qid"]: pq for pq in peer["query"]["per_query"]}
    found = 0
    for q in queries:
        if q["cls"] != "title" or not by_qid.get(q["qid"], {}).get("top"):
            continue
        title = await db.scalar(
            "SELECT title FROM articles WHERE external_id = ?", (str(by_qid[q["qid"]]["top"][0]),)
        )
        found += bool(title and same_title(title, q["text"]))
    return found


async def peers_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    corpus_path: Path = args.corpus.resolve()
    size = re.sub(r"^corpus_", "", corpus_path.stem)
    workdir = corpus_path.parent.parent  # the peers' PEERS_WORKDIR: data/, idx/, queries.json
    queries_path = args.peer_queries or workdir / "queries.json"
    queries = json.loads(queries_path.read_text(encoding="utf-8"))
    suffix = "-fill" if args.fill else ""
    db_path = args.out / f"peers-{size}{suffix}.db"
    done_marker = db_path.with_suffix(".imported.json")
    result: dict[str, Any] = {
        "corpus": str(corpus_path), "queries": str(queries_path), "size": size,
        "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    if args.peers:
        peer = run_peer_tantivy(args, size, workdir)
        result["tantivy"] = {
            "classes": peer["query"]["classes"], "overall": peer["query"]["overall"],
            "version": peer["machine"].get("tantivy"), "loadavg": peer["query"]["loadavg_start"],
            "started": peer["started"],
        }
    db, result["import"] = await _stored(args, db_path, done_marker, corpus_path, PhaseTimer())
    try:
        index = await search_index.get(db)
        if index is None:
            sys.exit("bench: the search index cannot open (is tantivy installed?)")
        started = time.perf_counter()
        waiting = await search_index.pending(db)
        applied = await search_index.catch_up(db, index)
        result["index_catch_up"] = {"queued": waiting, "applied": applied,
                                    "seconds": round(time.perf_counter() - started, 1)}
        print(f"search index: {applied:,} queued changes applied in "
              f"{result['index_catch_up']['seconds']} s", flush=True)
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["articles"] = int(await db.scalar("SELECT count(*) FROM articles"))
        result["db_bytes"] = db_bytes(db_path)
        idx_dir = search_index.index_path(db)
        result["index_bytes"] = sum(
            f.stat().st_size for f in idx_dir.iterdir() if f.is_file()
        ) if idx_dir else 0
        result["herald"] = await time_peer_queries(db, queries, args.rounds)
        if args.peers:
            result["tantivy"]["title_at_1"] = await tantivy_title_at_1(db, peer, queries)
        # Opening an article (issue 11 goal 3) at this size: 200 warm-up opens, then timed.
        rng, newest = random.Random(args.seed), int(await db.scalar("SELECT max(id) FROM articles"))
        for _ in range(200):
            await open_article(db, rng.randint(1, newest))
        opened = await time_opens(db, [rng.randint(1, newest) for _ in range(args.opens)])
        result["open"] = opened
        print(f"open: p50 {opened['p50']:.2f} ms, p95 {opened['p95']:.2f} ms, "
              f"mean related {opened['mean_related']:.2f}", flush=True)
    finally:
        await db.close()
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def peers_report(r: dict[str, Any], markdown: bool) -> str:
    h = r["herald"]
    t = r.get("tantivy")
    classes = list(h["classes"])
    cols = classes + ["overall"]

    def get(side: dict[str, Any], cls: str, p: str) -> float:
        return (side["overall"] if cls == "overall" else side["classes"][cls])[p]

    lines = []
    if markdown:
        lines += ["| ms | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for label, side in (("Herald", h), ("tantivy", t)):
            if side is None:
                continue
            for p in ("p50", "p95", "p99"):
                lines.append(f"| {label} {p} | " + " | ".join(
                    f"{get(side, c, p):.1f}" for c in cols) + " |")
        if t:
            for p in ("p95", "p99"):
                cells = []
                for c in cols:
                    ratio = get(h, c, p) / get(t, c, p)
                    verdict = "met" if ratio <= PEER_GOAL else f"missed by {ratio / PEER_GOAL:.2f}×"
                    cells.append(f"{ratio:.2f}× {verdict}")
                lines.append(f"| Herald ÷ tantivy {p} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(f"Exact-title success@1: Herald {h['title_at_1']}/{h['titles']}"
                     + (f", tantivy {t['title_at_1']}/{h['titles']}" if t else "") + ".")
        return "\n".join(lines)
    lines.append(f"articles {r['articles']:,}  database {r['db_bytes'] / 2**20:,.0f} MiB  "
                 f"search index {r['index_bytes'] / 2**20:,.0f} MiB  load {r['loadavg_start']}"
                 f" → {r['loadavg_end']}")
    lines.append(f"{'class':<9}" + "".join(f"{'Herald ' + p:>12}" for p in ("p50", "p95", "p99"))
                 + ("".join(f"{'tantivy ' + p:>13}" for p in ("p50", "p95", "p99"))
                    + f"{'p95 ×':>8}{'p99 ×':>8}" if t else ""))
    for c in cols:
        row = f"{c:<9}" + "".join(f"{get(h, c, p):>12.2f}" for p in ("p50", "p95", "p99"))
        if t:
            row += "".join(f"{get(t, c, p):>13.2f}" for p in ("p50", "p95", "p99"))
            row += f"{get(h, c, 'p95') / get(t, c, 'p95'):>8.2f}"
            row += f"{get(h, c, 'p99') / get(t, c, 'p99'):>8.2f}"
        lines.append(row)
    lines.append(f"exact-title success@1: Herald {h['title_at_1']}/{h['titles']}"
                 + (f", tantivy {t['title_at_1']}/{h['titles']}" if t else ""))
    if h["title_missed"]:
        lines.append(f"  Herald missed: {h['title_missed']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=40, help="queries per class (9 classes)")
    parser.add_argument("--opens", type=int, default=500)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA, help="relative to the repo root")
    parser.add_argument(
        "--import-budget", type=float, default=0.0,
        help="stop the import after this many seconds (0: import everything)",
    )
    parser.add_argument(
        "--fill", action="store_true",
        help="store articles without the related index (search/open latency at full size only)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse an imported database")
    parser.add_argument("--no-table-sizes", dest="table_sizes", action="store_false")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--corpus", type=Path, help="the peers' corpus (gen_corpus.py output)")
    parser.add_argument("--peer-queries", type=Path, help="default: queries.json beside data/")
    parser.add_argument("--rounds", type=int, default=5, help="--corpus: timed passes")
    parser.add_argument("--peers", type=Path, help="--corpus: the peers' folder, to run "
                        "their tantivy bench.py in the same run")
    parser.add_argument("--peers-python", type=Path, default=Path(sys.executable),
                        help="a Python with tantivy for the peers' bench.py")
    parser.add_argument("--markdown", action="store_true", help="--corpus: the docs table")
    args = parser.parse_args(argv)
    if args.corpus:
        args.out.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(peers_benchmark(args))
        out = args.out / f"peers-{result['size']}.json"
        out.write_text(json.dumps(result, indent=2, default=str))
        text = json.dumps(result, indent=2, default=str) if args.json else None
        print(text or peers_report(result, False))
        if args.markdown:
            print()
            print(peers_report(result, True))
        return
    data_file("bbc_news.jsonl", args.data)  # fail fast, before any work
    result = asyncio.run(benchmark(args))
    out = args.out / f"scale-{args.articles}{'-fill' if args.fill else ''}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))


if __name__ == "__main__":
    main()
