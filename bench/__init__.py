"""Herald benchmarks: related-story quality and scale (import rate, search and open latency).

Run from the repository root, e.g. ``.venv/bin/python -m bench.related_quality``. The data
files live outside the repository (``../shared/data``); generated files go to ``bench/out/``.
"""
