"""Exceptions that the CLI maps to exit codes, and the codes themselves."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from easytrain.metrics.gates import Gate


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1  # data error, NaN loss, out of memory …
    BAD_RECIPE = 2  # bad recipe or usage
    GATE_FAILED = 3  # a quality gate failed
    INTERRUPTED = 130  # Ctrl-C; a resumable checkpoint was written


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe, located as precisely as we can."""

    message: str
    key: str = ""  # dotted path, e.g. "train.optimizer.lr"
    where: str = ""  # "recipe.yaml:14:5" or "override train.epochs=x"

    def __str__(self) -> str:
        head = " ".join(part for part in (self.where, self.key and f"{self.key}:") if part)
        return f"{head} {self.message}" if head else self.message


class EasytrainError(Exception):
    exit_code: ExitCode = ExitCode.RUN_FAILED


class RecipeError(EasytrainError):
    """A recipe (or the command line) is wrong. Carries every problem found, not just the first."""

    exit_code = ExitCode.BAD_RECIPE

    def __init__(self, problems: Sequence[Problem | str] | Problem | str):
        listed = [problems] if isinstance(problems, Problem | str) else problems
        self.problems = [p if isinstance(p, Problem) else Problem(p) for p in listed]
        super().__init__("\n".join(str(p) for p in self.problems))


class RunFailed(EasytrainError):
    """The run started but could not finish: bad data, NaN loss, out of memory …"""

    exit_code = ExitCode.RUN_FAILED


class GateFailed(EasytrainError):
    """The model trained, but a quality gate was missed. Carries every gate, for the table."""

    exit_code = ExitCode.GATE_FAILED

    def __init__(self, message: str, gates: list[Gate] | None = None):
        super().__init__(message)
        self.gates = gates or []
        self.run_dir: Path | None = None  # set by easytrain.run, for load_run


class Pruned(Exception):
    """A tuning trial's pruner stopped the run after an epoch: a clean stop, not a failure.

    Raised by `RunContext.on_epoch`; `run_pipeline` writes status "pruned" and returns.
    """

    def __init__(self, epoch: int, message: str = ""):
        super().__init__(message or f"pruned after epoch {epoch}")
        self.epoch = epoch


class Interrupted(EasytrainError):
    """The user pressed Ctrl-C; a resumable checkpoint was written."""

    exit_code = ExitCode.INTERRUPTED


def suggest(word: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' when one choice is close to word, else ''."""
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\udc80-\udcff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00 if code >= 0xDC80 else code:02x}"


def shown(text: object) -> str:
    """Text for the terminal: control characters (a file name's escape sequences) and bytes of a
    name that are not UTF-8 are written as \\xNN, never sent raw to the console."""
    return _UNPRINTABLE.sub(_escape, str(text))
