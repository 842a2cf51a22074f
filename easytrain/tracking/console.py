"""What a person sees: rich progress on a terminal, one plain line per epoch elsewhere (CI logs).

Everything goes to stderr, so that `--json` can own stdout.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Protocol, TextIO

from easytrain.errors import shown

if TYPE_CHECKING:
    from rich.progress import TaskID


class Reporter(Protocol):
    def info(self, message: str) -> None: ...
    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int = 0) -> None: ...
    def advance(self) -> None: ...
    def status(self, text: str) -> None: ...
    def end_epoch(self, row: dict[str, float]) -> None: ...
    def close(self) -> None: ...


def _format_row(row: dict[str, float]) -> str:
    parts = []
    for key, value in row.items():
        if key == "epoch":
            continue
        parts.append(f"{key} {value:.3g}" if key in ("lr", "seconds") else f"{key} {value:.4f}")
    return "  ".join(parts)


class PlainReporter:
    """A line per epoch; nothing per step."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.epochs = 0

    def info(self, message: str) -> None:
        print(shown(message), file=self.stream, flush=True)

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int = 0) -> None:
        self.epochs = epochs

    def advance(self) -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def end_epoch(self, row: dict[str, float]) -> None:
        self.info(f"epoch {int(row['epoch'])}/{self.epochs}  {_format_row(row)}")

    def close(self) -> None:
        pass


class RichReporter:
    """A live progress bar per epoch with steps/s and ETA; a summary line when it ends."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task: TaskID | None = None
        self.epochs = 0

    def info(self, message: str) -> None:
        self.console.print(shown(message), highlight=False)

    def start_epoch(self, epoch: int, epochs: int, steps: int, done: int = 0) -> None:
        self.epochs = epochs
        if not self.progress.live.is_started:
            self.progress.start()
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(
            "train", total=steps, completed=done, epoch=f"{epoch}/{epochs}", rate="", status=""
        )

    def advance(self) -> None:
        if self.task is None:  # no epoch started
            return
        self.progress.advance(self.task)
        task = self.progress.tasks[-1]
        if task.completed % 10 == 0 and task.speed:
            task.fields["rate"] = f"{task.speed:.0f} steps/s"

    def status(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, status=text)

    def end_epoch(self, row: dict[str, float]) -> None:
        self.console.print(
            f"epoch {int(row['epoch'])}/{self.epochs}  {_format_row(row)}", highlight=False
        )

    def close(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


class SilentReporter(PlainReporter):
    """For every process but rank 0: one voice on the console is enough."""

    def info(self, message: str) -> None:
        pass

    def end_epoch(self, row: dict[str, float]) -> None:
        pass


def make_reporter() -> Reporter:
    from easytrain.engine.world import current_world

    if not current_world().main:
        return SilentReporter()
    return RichReporter() if sys.stderr.isatty() else PlainReporter()
