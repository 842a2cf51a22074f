"""Decoded data kept on disk, so that the next run skips decoding.

An entry is one torch.save file named by a hash of everything that decides its content: the
files' names, sizes and modification times, and the decode settings. A changed file or setting is
a different name, hence a miss; entries are loaded memory-mapped, so a hit costs little memory and
almost no time. Only files with our suffix are ever removed (the folder may be shared).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_ENV = "EASYTRAIN_CACHE"
DEFAULT_DIR = ".easytrain-cache"
SUFFIX = ".easytrain.pt"
FORMAT = 1  # bump when the layout of an entry changes: old entries become misses


def cache_dir(configured: Path | None = None) -> Path:
    """data.cache_dir, else $EASYTRAIN_CACHE, else .easytrain-cache/ in the working folder."""
    if configured is not None:
        return configured
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_DIR)


def key(kind: str, *parts: Any) -> str:
    """A name for an entry: the hash of JSON-able parts that decide its content."""
    text = json.dumps([FORMAT, kind, *parts], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def load(folder: Path, name: str) -> dict[str, Any] | None:
    """The entry, memory-mapped; None on a miss or an entry that cannot be read."""
    import torch

    path = folder / f"{name}{SUFFIX}"
    if not path.is_file():
        return None
    try:
        return torch.load(path, mmap=True, weights_only=True)
    except Exception:  # a damaged or foreign file is a miss; saving replaces it
        return None


def save(folder: Path, name: str, entry: dict[str, Any]) -> str | None:
    """Write an entry atomically; a reason instead of an error when it cannot be written."""
    import torch

    from easytrain.engine.checkpoint import write_atomic
    from easytrain.errors import RunFailed

    try:
        write_atomic(folder / f"{name}{SUFFIX}", lambda file: torch.save(entry, file))
    except (RunFailed, OSError) as exc:
        return str(exc)
    return None


# ours: decoded images (SUFFIX), tokenized chats (data/chat_cache.py: .arrow + .json), and the
# temp files and work folders that a killed write leaves
OURS = (f"*{SUFFIX}", "*.easytrain.arrow", "*.easytrain.json", ".*.easytrain.*.tmp")
WORK = ".*.easytrain.work"


def entries(folder: Path) -> list[Path]:
    """Our files in folder: entries and temp files left by a killed write."""
    if not folder.is_dir():
        return []
    ours = [path for pattern in OURS for path in folder.glob(pattern)]
    return sorted(p for p in ours if p.is_file())


def clear(folder: Path) -> tuple[int, int]:
    """Remove every entry (and a killed build's work folder); (files removed, bytes freed)."""
    import shutil

    count = size = 0
    for path in entries(folder):
        size += path.stat().st_size
        path.unlink(missing_ok=True)
        count += 1
    for work in folder.glob(WORK) if folder.is_dir() else []:
        files = [p for p in work.rglob("*") if p.is_file()]
        size, count = size + sum(p.stat().st_size for p in files), count + len(files)
        shutil.rmtree(work, ignore_errors=True)
    return count, size
