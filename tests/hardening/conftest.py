"""Hardening tests: a finished run to attack, and the tally of cases tried, printed at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening import tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not tally.COUNTS:
        return
    terminalreporter.section("hardening: cases tried")
    for line in tally.lines():
        terminalreporter.write_line(line)
    tally.dump()


FINISHED = """
name: finished
seed: 0
data: {source: builtin, name: digits}
model: {type: mlp, hidden: [64]}
train: {epochs: 2, tensorboard: false}
evaluate: {plots: false}
export: {formats: [pt2, state_dict]}
"""


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished run (digits, MLP, pt2 and state_dict exports), trained once; copy it
    before changing anything in it."""
    from tests.conftest import cli

    folder = tmp_path_factory.mktemp("finished")
    recipe = folder / "finished.yaml"
    recipe.write_text(FINISHED)
    result = cli("run", str(recipe), "--out", str(folder / "run"))
    assert result.returncode == 0, result.stderr
    return folder / "run"
