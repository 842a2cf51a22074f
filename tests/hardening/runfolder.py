"""Every file of a run folder, read the way its format is read: a half-written one fails here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
import yaml


def _csv(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows and all(len(row) == len(rows[0]) for row in rows), "ragged or empty"


def _png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.load()


def _events(path: Path) -> None:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    assert list(EventFileLoader(str(path)).Load()), "no event"


READERS = {
    ".json": lambda p: json.loads(p.read_text(encoding="utf-8")),
    ".yaml": lambda p: yaml.safe_load(p.read_text(encoding="utf-8")),
    ".csv": _csv,
    ".txt": lambda p: p.read_text(encoding="utf-8"),
    ".pt": lambda p: torch.load(p, weights_only=True),
    ".pt2": lambda p: torch.export.load(p),
    ".png": _png,
    ".html": lambda p: p.read_text(encoding="utf-8"),
}


def unreadable(run_dir: Path) -> dict[str, str]:
    """{file: why} for every file that does not load; hidden `.*.tmp` files (a write that a kill
    cut short) are left out, and so is the TensorBoard event file being appended to."""
    problems = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue
        reader = (
            _events if path.name.startswith("events.out.tfevents") else READERS.get(path.suffix)
        )
        try:
            if reader is None:
                raise AssertionError("a file no test knows how to read")
            reader(path)
        except Exception as exc:
            problems[str(path.relative_to(run_dir))] = f"{type(exc).__name__}: {exc}"[:200]
    return problems


def leftovers(run_dir: Path) -> list[str]:
    return [str(p.relative_to(run_dir)) for p in run_dir.rglob(".*.tmp")]
