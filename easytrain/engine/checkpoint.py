"""Checkpoints that are never half-written: temp file, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from easytrain.errors import RunFailed


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: Path, write: Any) -> None:
    """Call write(file) on a temp file beside path, then move it into place in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files are as readable as any
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RunFailed(
                f"cannot write {path}: {exc.strerror or exc}; the previous file is untouched"
            ) from exc
        raise


def save(state: dict[str, Any], path: Path) -> None:
    write_atomic(path, lambda file: torch.save(state, file))


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with weights_only=True: a checkpoint from elsewhere cannot run code."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise RunFailed(f"no checkpoint at {path}") from None
    except Exception as exc:
        raise RunFailed(f"{path} is not a checkpoint easytrain can load safely: {exc}") from None
