"""Checkpoints written behind the training loop: the state is copied in memory, and one background
thread writes and fsyncs the copies, in order, while training goes on.

A checkpoint's fsync costs 15–30 ms, most of a short epoch (digits: ~90 ms), and needs no CPU. The
copy (tensors cloned to the CPU) is taken before the next step changes anything, so the file
holds exactly what a synchronous save would have. Writes land in the order they were asked for
(best.pt of an epoch before its last.pt), one at a time; a few copies at most wait. Nothing is
lost to a kill beyond the last write that landed: each one is still atomic (temp file, fsync,
rename). A write that fails stops the writes after it (they could pair a new last.pt with a stale
best.pt) and fails the run at the next checkpoint, or at the end, with the file named.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

from easytrain.errors import RunFailed

Write = Callable[[BinaryIO], Any]
_NONE: frozenset[str] = frozenset()

_active: ContextVar[BackgroundWriter | None] = ContextVar(
    "easytrain_checkpoint_writer", default=None
)


class BackgroundWriter:
    """One thread writing files with `write_atomic`, first asked, first written. At most `depth`
    writes wait, holding at most `budget` bytes of copies (an eighth of the memory, at least
    256 MiB): a state bigger than that is written at once, after the queue, without a copy."""

    def __init__(self, depth: int = 2, budget: int | None = None) -> None:
        self._depth = depth
        self.budget = budget if budget is not None else memory_budget()
        self._jobs: deque[tuple[Path, Write, int]] = deque()
        self._held = 0  # bytes of the copies queued or being written
        self._busy = False
        self._closed = False
        self._failure: RunFailed | None = None
        self._ready = threading.Condition()
        # not a daemon: even when the main thread is interrupted, Python waits for the last write
        self._thread = threading.Thread(target=self._work, name="easytrain-checkpoints")
        self._thread.start()

    def save_state(
        self, path: Path, state: dict[str, Any], settled: frozenset[str] = _NONE
    ) -> None:
        """torch.save(state) to path in the background, from a copy taken now. The values under
        `settled` keys are the caller's private copies that nothing changes later (the loop's
        history, the recipe): they are neither walked nor copied, which at 200 epochs of history
        took a short epoch a few milliseconds."""
        import torch

        size = sum(tensor_bytes(v) for k, v in state.items() if k not in settled)
        if size > self.budget:  # too big to copy: written here, once those before it landed
            from easytrain.engine.checkpoint import write_atomic

            self.wait()
            write_atomic(path, lambda file: torch.save(state, file))
            return
        self._make_room(size)
        snapshot = {k: v if k in settled else cpu_copy(v) for k, v in state.items()}
        self._queue(path, lambda file: torch.save(snapshot, file), size)

    def submit(self, path: Path, write: Write) -> None:
        """Queue a write; waits while `depth` others wait. Raises a previous write's failure."""
        self._make_room(0)
        self._queue(path, write, 0)

    def _make_room(self, size: int) -> None:
        with self._ready:
            while (
                self._failure is None
                and self._jobs
                and (len(self._jobs) >= self._depth or self._held + size > self.budget)
            ):
                self._ready.wait()
            self._raise_failure()

    def _queue(self, path: Path, write: Write, size: int) -> None:
        with self._ready:
            self._raise_failure()
            self._jobs.append((path, write, size))
            self._held += size
            self._ready.notify_all()

    def wait(self) -> None:
        """Until every queued write has landed; raises the failure of one that did not."""
        with self._ready:
            while self._jobs or self._busy:
                self._ready.wait()
            self._raise_failure()

    def close(self) -> RunFailed | None:
        """Let the queued writes land, stop the thread, and return a write's failure, if any."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join()
        return self._failure

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _work(self) -> None:
        from easytrain.engine.checkpoint import write_atomic

        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if not self._jobs:
                    return
                path, write, size = self._jobs.popleft()
                self._busy = True
                self._ready.notify_all()
            failure = None
            try:
                write_atomic(path, write)
            except RunFailed as exc:
                failure = exc
            except BaseException as exc:  # e.g. an object torch.save cannot pickle
                failure = RunFailed(f"cannot write {path}: {exc}")
                failure.__cause__ = exc
            with self._ready:
                self._busy = False
                self._held -= size
                if failure is not None:
                    self._failure = failure
                    self._jobs.clear()  # what follows a failed write must not land
                    self._held = 0
                self._ready.notify_all()


def active() -> BackgroundWriter | None:
    """The writer of the training under way in this thread, if any."""
    return _active.get()


@contextmanager
def background_writes(depth: int = 2) -> Iterator[BackgroundWriter]:
    """checkpoint.save writes in the background while this is active; leaving waits for the
    last write, also on an error or Ctrl-C. A failed write fails the run (exit 1, the file
    named), even when the body stopped for another reason: then its files are not what it says."""
    writer = BackgroundWriter(depth)
    token = _active.set(writer)
    try:
        yield writer
    except BaseException as exc:
        _active.reset(token)
        failure = writer.close()
        if failure is not None and failure is not exc and not isinstance(exc, KeyboardInterrupt):
            raise failure from exc
        raise
    _active.reset(token)
    failure = writer.close()
    if failure is not None:
        raise failure


def memory_budget() -> int:
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        physical = 0
    return max(256 << 20, physical // 8)


def tensor_bytes(value: Any) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(tensor_bytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(item) for item in value)
    return 0


def cpu_copy(value: Any) -> Any:
    """A copy of a checkpoint's state that later steps cannot change: tensors cloned to the CPU,
    containers rebuilt; numbers and strings are immutable already."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):  # copy.copy keeps a state_dict's _metadata (its versions)
        copied = copy.copy(value)
        for key, item in value.items():
            if isinstance(item, (dict, list, tuple, torch.Tensor)):  # not numbers, strings
                copied[key] = cpu_copy(item)
        return copied
    if isinstance(value, list):
        return [cpu_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(cpu_copy(item) for item in value)
    return value
