"""metrics.csv: one row per epoch, rewritten whole (and atomically) after each epoch."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from easytrain.engine.checkpoint import write_atomic


def write_metrics_csv(path: Path, history: list[dict[str, float]]) -> None:
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    if "lr" in columns:  # lr and seconds close each row, after the metrics
        columns = [c for c in columns if c not in ("lr", "seconds")] + ["lr", "seconds"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({key: (int(v) if key == "epoch" else v) for key, v in row.items()})
    write_atomic(path, lambda file: file.write(text.getvalue().encode()))
