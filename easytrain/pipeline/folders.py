"""The run folder: where it goes, and the small JSON files that describe a run."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from easytrain.errors import RecipeError, RunFailed

RUNS_ROOT = Path("runs")


def new_run_dir(name: str, out: Path | None, prefix: str = "") -> Path:
    """`--out DIR` exactly, or runs/<name>/<prefix><timestamp>[-N]: two runs started at once
    never share one."""
    if out is not None:
        if out.exists() and not out.is_dir():
            raise RecipeError(f"--out {out} is a file; give a folder (new or empty) for the run")
        if out.exists() and any(out.iterdir()):
            raise RecipeError(
                f"--out {out} already holds files; pick an empty folder, or add --resume"
            )
        out.mkdir(parents=True, exist_ok=True)
        return out
    parent = runs_of(name)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        folder = parent / (f"{prefix}{stamp}" if attempt == 0 else f"{prefix}{stamp}-{attempt}")
        try:
            folder.mkdir()  # atomic: only one process can create it
            return folder
        except FileExistsError:
            continue
    raise RecipeError(f"cannot create a new run folder under {parent}")


def check_writable(run_dir: Path, writes: str) -> None:
    """Before any work: a run folder we cannot write to (a read-only mount, another user's) is
    said up front, not after minutes of evaluation or export. Tried, not guessed from
    permissions: root passes every permission check, yet not a read-only file system."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".easytrain-write-check.", suffix=".tmp", dir=run_dir)
    except OSError as exc:
        raise RunFailed(
            f"{run_dir} is not writable ({exc.strerror or exc}); this command writes {writes} "
            "there: copy the run folder somewhere writable, or make it writable"
        ) from None
    os.close(fd)
    os.unlink(probe)


def runs_of(name: str) -> Path:
    """runs/<name>, which must not be a symbolic link: a recipe's name (from a shared file) keeps
    its runs under runs/; only the user's own --out writes elsewhere."""
    parent = RUNS_ROOT / name
    if parent.is_symlink():
        raise RecipeError(
            f"{parent} is a symbolic link (to {os.readlink(parent)}); run folders stay under "
            f"{RUNS_ROOT}/: remove the link, or pass --out DIR to write elsewhere"
        )
    return parent


def latest_run_dir(name: str) -> Path | None:
    parent = runs_of(name)
    if not parent.is_dir():
        return None
    runs = sorted(
        (
            p
            for p in parent.iterdir()
            if not p.is_symlink() and (p / "checkpoints" / "last.pt").exists()
        ),
        key=lambda p: p.stat().st_mtime,
    )
    return runs[-1] if runs else None


def write_json(path: Path, data: Any) -> None:
    from easytrain.engine.checkpoint import write_atomic

    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    write_atomic(path, lambda file: file.write(text.encode()))
