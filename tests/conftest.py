"""Shared helpers: run the real `easytrain` command the way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def recipes() -> Path:
    return RECIPES
