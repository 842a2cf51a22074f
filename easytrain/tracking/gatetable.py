"""The gates as a table: rich on a terminal, plain aligned text in CI logs and files."""

from __future__ import annotations

import sys
from typing import Any, TextIO

HEADER = ("metric", "split", "value", "bound", "baseline", "result")


def rows(gates: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    table = []
    for g in gates:
        value = "missing" if g["value"] is None else f"{g['value']:.4f}"
        baseline = f"{g['baseline']:.4f} (max drop {g['max_drop']:g})" if "baseline" in g else ""
        result = "pass" if g["passed"] else "FAIL"
        if not g["passed"] and g.get("missed_by") is not None:
            result += f" (by {g['missed_by']:.4g})"
        table.append(
            (g["metric"], g["split"], value, f"{g['op']} {g['bound']:.6g}", baseline, result)
        )
    return table


def plain(gates: list[dict[str, Any]]) -> str:
    """Columns padded to their widest cell; the baseline column only when a gate has one."""
    table = [HEADER, *rows(gates)]
    keep = [i for i in range(len(HEADER)) if i != 4 or any(r[4] for r in table[1:])]
    widths = {i: max(len(r[i]) for r in table) for i in keep}
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in keep).rstrip() for r in table)


def show(gates: list[dict[str, Any]], stream: TextIO | None = None) -> None:
    """Print the table to stream (stderr by default): rich when it is a terminal."""
    stream = stream or sys.stderr
    if not gates:
        return
    if not stream.isatty():
        print(plain(gates), file=stream, flush=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="quality gates", title_justify="left")
    has_baseline = any("baseline" in g for g in gates)
    for i, name in enumerate(HEADER):
        if i != 4 or has_baseline:
            table.add_column(name, justify="right" if name in ("value", "bound") else "left")
    for g, row in zip(gates, rows(gates), strict=True):
        cells = [cell for i, cell in enumerate(row) if i != 4 or has_baseline]
        style = "green" if g["passed"] else "bold red"
        cells[-1] = f"[{style}]{cells[-1]}[/]"
        table.add_row(*cells)
    Console(file=stream).print(table)
