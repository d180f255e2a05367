"""Broadcast benchmark: Herald's delivery worker against the fake Bot API under Telegram limits.

Herald runs as a real ``python -m bot`` subprocess (its own interpreter, its own core) and the
fake Bot API runs in the benchmark's process, where the user side of the fake (``send_text``)
and the per-call listeners that time deliveries must live. Scenarios: ``limit30``,
``plain_loop``, ``limit1000``, ``fanout1m``, ``latest_during_broadcast``, ``memory100k``.

    .venv/bin/python -m bench.broadcast [--scenario NAME ...] [--quick] [--profile]

Results are printed per scenario and written to ``bench/out/broadcast[-quick].{json,md}``.
"""
