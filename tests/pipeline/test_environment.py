"""env.json is gathered without slow calls, and says what the slow calls would have said."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from easytrain.pipeline import environment as env


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _repository(folder: Path) -> str:
    _git(folder, "init", "-q")
    (folder / "a.txt").write_text("a")
    _git(folder, "add", "a.txt")
    _git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a")
    return _git(folder, "rev-parse", "HEAD")


def _no_git_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a git process was started")

    monkeypatch.setattr(env.subprocess, "run", refuse)


def test_the_commit_is_read_from_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _repository(tmp_path)
    (tmp_path / "sub").mkdir()
    _no_git_process(monkeypatch)
    assert env.git_commit(tmp_path / "sub") == head
    monkeypatch.undo()
    _git(tmp_path, "pack-refs", "--all")  # the branch now lives in packed-refs only
    _no_git_process(monkeypatch)
    assert env.git_commit(tmp_path) == head
    monkeypatch.undo()
    _git(tmp_path, "checkout", "-q", "--detach")
    _no_git_process(monkeypatch)
    assert env.git_commit(tmp_path) == head


def test_no_repository_means_no_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if any((folder / ".git").exists() for folder in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temp folder is inside a repository")
    _no_git_process(monkeypatch)
    assert env.git_commit(tmp_path) is None


def test_platform_and_versions_match_the_slow_answers() -> None:
    if sys.platform.startswith("linux"):
        assert env.platform_name() == platform.platform()
    assert env.version("scikit-learn", "not_imported_here") == metadata.version("scikit-learn")
    import numpy

    assert env.version("numpy", "numpy") == numpy.__version__
    assert env.version("no-such-distribution", "no_such_module") is None
