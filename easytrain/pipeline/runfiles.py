"""Files of a run folder, read only when they are regular files inside it.

Run folders are passed around (downloaded, unpacked, mounted), so they are not trusted. A
`model.txt` or `plots/curves.png` that is a symbolic link to ~/.ssh/id_rsa made `easytrain
report` embed that file in report.html, and a `checkpoints/best.pt` that is a FIFO would hang a
reader. Every reader of a run folder (report, evaluate, predict, serve, export, --resume) goes
through `run_file`: a file is read only when it resolves to a regular file inside the folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from easytrain.errors import RunFailed


def why_not(run_dir: Path, relative: str | Path, folder: bool = False) -> str | None:
    """Why run_dir/relative may not be read (it links out of the folder, or is no regular
    file, or with `folder`, no folder either); None when it may, or when it does not exist."""
    path = run_dir / relative
    if not os.path.lexists(path):
        return None
    real = path.resolve()
    if not real.is_relative_to(run_dir.resolve()):
        return f"{path} links outside the run folder; easytrain reads only files inside it"
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not (stat.S_ISREG(mode) or folder and stat.S_ISDIR(mode)):
        return f"{path} is not a regular file"
    return None


def run_file(run_dir: Path, relative: str | Path, folder: bool = False) -> Path:
    """run_dir/relative, for reading; a RunFailed (exit 1) when it links out of the folder or is
    not a regular file (or folder). A missing file is returned as it is: the caller says what
    it lacks."""
    problem = why_not(run_dir, relative, folder)
    if problem:
        raise RunFailed(problem)
    return run_dir / relative


def read_text(run_dir: Path, relative: str | Path) -> str | None:
    """The file's text, or None when it is missing or may not be read."""
    if why_not(run_dir, relative) is not None:
        return None
    try:
        return (run_dir / relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
