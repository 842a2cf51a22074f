"""env.json: what a run ran on. Cheap to gather: it is written before every run.

Versions come from modules already imported, else from the installed metadata (no import just for
a version: scikit-learn's takes seconds); the platform string is built from uname and the C
library's own answer (platform.platform() reads the Python binary to find it); the git commit is
read from .git itself, and no git process starts where there is no repository.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

PACKAGES = {"torch": "torch", "numpy": "numpy", "scikit-learn": "sklearn"}  # distribution: module


def version(distribution: str, module: str) -> str | None:
    loaded = sys.modules.get(module)
    if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
        return loaded.__version__
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def platform_name() -> str:
    """What platform.platform() says on Linux (Linux-6.1.0-x86_64-with-glibc2.36), quickly."""
    if not sys.platform.startswith("linux"):
        return platform.platform()
    name = os.uname()
    text = f"{name.sysname}-{name.release}-{name.machine}"
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (ValueError, OSError):
        libc = None
    return f"{text}-with-{libc.replace(' ', '')}" if libc else text


def _repository(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder / ".git"
    return None


def _read_head(git: Path) -> str | None:
    """HEAD's commit read from a plain .git folder; None where git itself must answer."""
    if not git.is_dir():
        return None  # a worktree or submodule: .git is a file pointing elsewhere
    head = (git / "HEAD").read_text().strip()
    if not head.startswith("ref: "):
        return head or None  # a detached HEAD holds the commit itself
    ref = head.removeprefix("ref: ")
    loose = git / ref
    if loose.is_file():
        return loose.read_text().strip() or None
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    return None


def git_commit(cwd: Path | None = None) -> str | None:
    git = _repository((cwd or Path.cwd()).resolve())
    if git is None:
        return None
    try:
        commit = _read_head(git)
    except OSError:
        commit = None
    if commit is not None:
        return commit
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=cwd
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment(device: str) -> dict[str, Any]:
    import torch

    from easytrain import __version__

    cuda = torch.cuda.is_available()
    versions = {name: version(name, module) for name, module in PACKAGES.items()}
    return {
        "easytrain": __version__,
        "python": sys.version.split()[0],
        **versions,
        "platform": platform_name(),
        "device": device,
        "cuda": torch.version.cuda if cuda else None,
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "cpu_threads": torch.get_num_threads(),
        "command": sys.argv,
        "cwd": os.getcwd(),
        "git_commit": git_commit(),
        "started": datetime.now().isoformat(timespec="seconds"),
    }
