"""The gates as a table: rich on a terminal, plain aligned text in CI logs and files."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from easytrain.metrics.gates import Gate

HEADER = ("metric", "split", "value", "bound", "baseline", "result")


def _row(g: Gate) -> tuple[str, ...]:
    value = "missing" if g.value is None else f"{g.value:.4f}"
    baseline = f"{g.baseline:.4f} (max drop {g.max_drop:g})" if g.relative else ""
    result = "pass" if g.passed else "FAIL"
    if not g.passed and g.missed_by is not None:
        result += f" (by {g.missed_by:.4g})"
    return (g.metric, g.split, value, f"{g.op} {g.bound_text()}", baseline, result)


def table(gates: Sequence[Gate]) -> tuple[list[str], list[list[str]]]:
    """Header and rows; the baseline column only when a gate compares against a baseline."""
    keep = [i for i in range(len(HEADER)) if i != 4 or any(g.relative for g in gates)]
    rows = [[row[i] for i in keep] for row in map(_row, gates)]
    return [HEADER[i] for i in keep], rows


def plain(gates: Sequence[Gate]) -> str:
    """Columns padded to their widest cell."""
    header, rows = table(gates)
    cells = [header, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def show(gates: Sequence[Gate], stream: TextIO | None = None) -> None:
    """Print the table to stream (stderr by default): rich when it is a terminal."""
    stream = stream or sys.stderr
    if not gates:
        return
    if not stream.isatty():
        print(plain(gates), file=stream, flush=True)
        return
    from rich.console import Console
    from rich.table import Table

    header, rows = table(gates)
    rich_table = Table(title="quality gates", title_justify="left")
    for name in header:
        rich_table.add_column(name, justify="right" if name in ("value", "bound") else "left")
    for g, row in zip(gates, rows, strict=True):
        style = "green" if g.passed else "bold red"
        rich_table.add_row(*row[:-1], f"[{style}]{row[-1]}[/]")
    Console(file=stream).print(rich_table)


def show_records(records: Sequence[dict[str, Any]], stream: TextIO | None = None) -> None:
    """The table of gates as summary.json and evaluations/*.json keep them."""
    from easytrain.metrics.gates import Gate

    show([Gate.from_json(record) for record in records], stream)
