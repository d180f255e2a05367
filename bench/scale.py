"""Scale benchmark: import rate, /search and article-open latency on a large synthetic corpus.

It builds (or reuses) the synthetic corpus of ``bench.corpus``, imports it through the real
``import_file`` into a fresh database in ``bench/out/``, then times a few hundred searches of
several classes through ``start_search`` and article opens through ``open_article``: the same
code paths a reader's /search and "open" buttons take. Phase timers are wrapped around the
import's and search's inner functions (module attributes, no code change) to show where the
time goes; their overhead is a few microseconds per call.

    .venv/bin/python -m bench.scale --articles 100000 [--json] [--reuse]

Targets (at 1M articles): /search p95 ≤ 50 ms, open p95 ≤ 5 ms, import ≥ 2,000 articles/s.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import random
import re
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
from bot.services.importer import BATCH, ImportSummary, import_file, read_articles
from bot.services.reading import open_article
from bot.services.search import start_search
from storage.articles import NewArticle, insert_articles
from storage.db import Database

TARGETS = {"search_p95_ms": 50.0, "open_p95_ms": 5.0, "import_rate": 2000.0}
COMMON = ("the", "said", "government", "year", "people", "new", "would", "one", "time", "first")
CLASS_BUDGET_S = 90.0  # a query class stops early after this long, to bound the run
_WORD = re.compile(r"[a-z]{4,}")


class PhaseTimer:
    """Accumulates wall time per named phase by wrapping module-level functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._undo: list[tuple[ModuleType, str, Any]] = []

    def wrap(self, module: ModuleType, name: str, phase: str | None = None) -> None:
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
    ):
        timer.wrap(related_store, name)


def instrument_search(timer: PhaseTimer) -> None:
    """Time a search's steps: recency-window probes, saving the search, ranking the page."""
    for name in ("newest_rowid", "has_matches", "save_search", "search_articles"):
        timer.wrap(search_store, name)


def import_phases(seconds: dict[str, float]) -> dict[str, float]:
    """Exclusive seconds per import phase from the (nested) wrapped totals."""
    related_inner = ("term_counts", "keyword_weights", "add_document_frequencies",
                     "document_frequencies", "add_keywords", "score_candidates",
                     "add_related", "offer_related")
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
                    lo = await db.scalar(
                        "SELECT min_rowid FROM searches WHERE id = ?", (page.search_id,)
                    )
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


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    source = corpus.build(args.articles, args.seed, args.out, args.data)
    suffix = "-fill" if args.fill else ""
    db_path = args.out / f"scale-{args.articles}-seed{args.seed}{suffix}.db"
    done_marker = db_path.with_suffix(".imported.json")
    timer = PhaseTimer()
    result: dict[str, Any] = {"articles": args.articles, "machine": machine()}
    if args.reuse and done_marker.is_file() and db_path.is_file():
        result["import"] = json.loads(done_marker.read_text())
        result["import"]["reused"] = True
        db = await Database.open(db_path)
    else:
        for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), done_marker):
            p.unlink(missing_ok=True)
        db = await Database.open(db_path)
        print(f"importing {source.name} into {db_path}", flush=True)
        if args.fill:
            result["import"] = await fill_without_related(db, source, args.import_budget)
        else:
            result["import"] = await run_import(
                db, source, args.articles, timer, args.import_budget
            )
        done_marker.write_text(json.dumps(result["import"]))
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
    args = parser.parse_args(argv)
    data_file("bbc_news.jsonl", args.data)  # fail fast, before any work
    result = asyncio.run(benchmark(args))
    out = args.out / f"scale-{args.articles}{'-fill' if args.fill else ''}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))


if __name__ == "__main__":
    main()
