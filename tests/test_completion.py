"""Shell completion is typer's own: the script it prints completes easytrain's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

EASYTRAIN = str(Path(sys.executable).parent / "easytrain")  # the installed command, as users run it


def test_bash_completion_completes_commands() -> None:
    """What the script of `easytrain --install-completion` asks the command for, as bash does."""
    env = {**os.environ, "SHELL": "/bin/bash"}
    completed = subprocess.run(
        [EASYTRAIN],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env
        | {"_EASYTRAIN_COMPLETE": "complete_bash", "COMP_WORDS": "easytrain re", "COMP_CWORD": "1"},
    )
    assert set(completed.stdout.split()) == {"recipes", "report"}
