"""Counts of the faults and bad inputs the hardening tests tried, and what came of each.

Every test adds its cases here; the totals are printed at the end of the pytest run (and written
as JSON to $EASYTRAIN_HARDENING_COUNTS when set), which is where docs/reliability.md's numbers
come from.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict

COUNTS: defaultdict[str, Counter[str]] = defaultdict(Counter)


def record(case: str, outcome: str, times: int = 1) -> None:
    """One more `case` (e.g. "recipe fuzz: python tag") that ended in `outcome` (e.g. "exit 2")."""
    COUNTS[case][outcome] += times


def lines() -> list[str]:
    return [
        f"{case}: {sum(outcomes.values())} × ("
        + ", ".join(f"{outcome} {n}" for outcome, n in sorted(outcomes.items()))
        + ")"
        for case, outcomes in sorted(COUNTS.items())
    ]


def dump() -> None:
    target = os.environ.get("EASYTRAIN_HARDENING_COUNTS")
    if target and COUNTS:
        with open(target, "w", encoding="utf-8") as file:
            json.dump({case: dict(outcomes) for case, outcomes in COUNTS.items()}, file, indent=2)
