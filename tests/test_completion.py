"""Shell completion is typer's own: the script it prints completes easytrain's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

EASYTRAIN = str(Path(sys.executable).parent / "easytrain")  # the installed command, as users run it


def test_show_completion_prints_a_bash_script_that_completes_commands() -> None:
    env = {**os.environ, "SHELL": "/bin/bash"}
    shown = subprocess.run(
        [EASYTRAIN, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "_EASYTRAIN_COMPLETE=complete_bash" in shown.stdout
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
