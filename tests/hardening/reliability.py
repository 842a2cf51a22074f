"""The tables of docs/reliability.md, from the counts a hardening run wrote.

    python -m tests.hardening.reliability COUNTS.json            # print the tables
    python -m tests.hardening.reliability COUNTS.json --write docs/reliability.md

One table per area, a row per case the tests recorded (tests/hardening/tally.py): what was tried,
how often, and what came of it. `--write` replaces what lies between the document's two markers,
so its numbers are always the output of a run, never typed in by hand; `make reliability` runs
the long suite and then this.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

START, END = "<!-- hardening-counts:start -->", "<!-- hardening-counts:end -->"

# area → the beginnings of the case names its tests record; a case that matches none goes under
# "Other", so a new test's counts are never left out
AREAS: dict[str, tuple[str, ...]] = {
    "Recipe fuzzing": ("recipe fuzz:", "recipe:"),
    "Data fuzzing": ("image fuzz:", "image file:", "table:", "text table:"),
    "Faults": ("SIGKILL:", "disk full", "8 runs", "2 runs"),
    "Hostile recipes and files": (
        "import path",
        "code-like",
        "YAML python tag",
        "run name",
        "runs/<name>",
        "crafted pickle",
        "a recipe naming",
        "run folder:",
        "damaged run folder:",
    ),
    "Server": ("serve:",),
}


def area_of(case: str) -> str:
    return next((area for area, starts in AREAS.items() if case.startswith(starts)), "Other")


def cell(text: str) -> str:
    """A table cell: a `|` would end it early, and `<name>` would vanish as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;")


def outcomes(counted: dict[str, int]) -> str:
    """'exit 2' when every try ended alike, else '63 valid; 37 exit 2', most frequent first."""
    if len(counted) == 1:
        return next(iter(counted))
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return "; ".join(f"{times:,} {outcome}" for outcome, times in ranked)


def tables(counts: dict[str, dict[str, int]]) -> str:
    rows: dict[str, list[str]] = {area: [] for area in [*AREAS, "Other"]}
    for case in sorted(counts):
        counted = counts[case]
        total = sum(counted.values())
        rows[area_of(case)].append(f"| {cell(case)} | {total:,} | {cell(outcomes(counted))} |")
    return "\n\n".join(
        "\n".join(
            [f"### {area}", "", "| what was tried | times | outcome(s) |", "| --- | ---: | --- |"]
            + lines
        )
        for area, lines in rows.items()
        if lines
    )


def write(document: Path, text: str) -> None:
    head, start, rest = document.read_text(encoding="utf-8").partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        raise SystemExit(f"{document} has no {START} … {END} markers")
    document.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", type=Path, help="the JSON $EASYTRAIN_HARDENING_COUNTS named")
    parser.add_argument("--write", type=Path, metavar="DOCUMENT", help="update it in place")
    args = parser.parse_args()
    text = tables(json.loads(args.counts.read_text(encoding="utf-8")))
    if args.write:
        write(args.write, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
