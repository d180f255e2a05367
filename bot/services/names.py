"""Suggesting what a reader meant: the names (topics, time zones) closest to a mistyped one."""

from __future__ import annotations

from difflib import SequenceMatcher

CUTOFF = 0.6  # below this a name shares too little with what was typed to be a suggestion
MARGIN = 0.1  # a second name is offered only when it is nearly as close as the best one
PREFIX_SCORE = 0.8  # "pol" for "politics": a typed beginning counts as close


def close_names(typed: str, names: list[str], limit: int = 3) -> list[str]:
    """Names close to ``typed`` (any letter case), closest first; [] when none is close.

    ``difflib.get_close_matches`` alone offered "politics or sport" for "politcs": "sport"
    shares five letters with it. Only names about as close as the best one are kept.
    """
    wanted = typed.casefold()
    scored = []
    for name in names:
        folded = name.casefold()
        score = SequenceMatcher(None, wanted, folded).ratio()
        if len(wanted) >= 3 and folded.startswith(wanted):
            score = max(score, PREFIX_SCORE)
        scored.append((score, name))
    return closest(scored, limit)


def closest(scored: list[tuple[float, str]], limit: int = 3) -> list[str]:
    """The names of (similarity, name) pairs worth suggesting, closest first.

    A name must pass ``CUTOFF`` and be within ``MARGIN`` of the best one: "Londn" suggests
    Europe/London, not Australia/Lindeman as well.
    """
    kept = sorted((pair for pair in scored if pair[0] >= CUTOFF), key=lambda p: (-p[0], p[1]))
    best = kept[0][0] if kept else 0.0
    return [name for score, name in kept if score >= best - MARGIN][:limit]
