"""Hardening tests: the tally of cases tried is printed after the run."""

from __future__ import annotations

import pytest

from tests.hardening import tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not tally.COUNTS:
        return
    terminalreporter.section("hardening: cases tried")
    for line in tally.lines():
        terminalreporter.write_line(line)
    tally.dump()
