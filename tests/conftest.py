"""Shared helpers: run the real `easytrain` command the way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"


def easytrain(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 240,
    env: dict | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m easytrain ARGS` in a subprocess (not a tty: plain console output)."""
    return subprocess.run(
        [sys.executable, "-m", "easytrain", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, cwd: Path | None = None) -> Result:
    """The same command in this process (no interpreter start-up: ~4 s saved per run)."""
    from typer.testing import CliRunner

    from easytrain.cli import app

    previous = Path.cwd()
    os.chdir(cwd or ROOT)
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return Result(result.exit_code, result.stdout, result.stderr)


def summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def recipes() -> Path:
    return RECIPES
