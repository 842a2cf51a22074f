"""The run folder: where it goes, and the small JSON files that describe a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from easytrain.errors import RecipeError

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


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment(device: str) -> dict[str, Any]:
    import numpy
    import sklearn
    import torch

    from easytrain import __version__

    return {
        "easytrain": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "command": sys.argv,
        "cwd": os.getcwd(),
        "git_commit": _git_commit(),
        "started": datetime.now().isoformat(timespec="seconds"),
    }
