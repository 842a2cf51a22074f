"""The tune folder: where a search writes, and how --resume finds it and its study again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from easytrain.errors import RecipeError

INFO = "tune.json"  # the study's name and storage (password masked)


@dataclass(frozen=True)
class Where:
    folder: Path
    url: str  # the study's storage
    study: str
    own: bool  # the storage is this folder's study.db: nobody else uses it


def own_storage(folder: Path) -> str:
    return f"sqlite:///{(folder / 'study.db').resolve()}"


def new_tune_dir(name: str, out: Path | None) -> Path:
    """`--out DIR` exactly (empty), or runs/<name>/tune-<time>[-N], made as run folders are."""
    from easytrain.pipeline.folders import new_run_dir

    return new_run_dir(name, out, prefix="tune-")


def latest_tune_dir(name: str) -> Path | None:
    from easytrain.pipeline.folders import runs_of

    found = sorted(runs_of(name).glob(f"tune-*/{INFO}"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


def locate(
    name: str, out: Path | None, resume: bool, storage: str | None, study: str | None
) -> Where:
    """A new folder (and, by default, a new study in it), or for --resume the one to continue."""
    if not resume:
        folder = new_tune_dir(name, out)
        return Where(folder, storage or own_storage(folder), study or name, storage is None)
    found = out or latest_tune_dir(name)
    if found is None or not (found / INFO).exists():
        raise RecipeError(
            f"--resume: no tune folder with a {INFO} at {out or f'runs/{name}/tune-*'}"
        )
    folder = found
    saved = json.loads((folder / INFO).read_text())
    url = storage or saved.get("storage") or own_storage(folder)
    if "***" in url:
        raise RecipeError(
            f"--resume: the study is in {url}; pass --storage again with the password"
        )
    return Where(folder, url, study or saved["study"], url == own_storage(folder))


def save_info(where: Where, masked_url: str, extra: dict[str, Any]) -> None:
    info = {"study": where.study, "storage": None if where.own else masked_url, **extra}
    (where.folder / INFO).write_text(json.dumps(info, indent=2) + "\n")
