"""Freed memory handed back to the system before batches that are larger than any before them.

Token batches are cut to their longest text, so each batch's activations have sizes of their
own. glibc's malloc keeps a batch's freed activations in its heap, and the next batch's, of other
sizes, do not all fit in the holes: the heap, and with it the process's resident memory, grows
past what is live (fine-tuning all-MiniLM-L6-v2: a peak 96 MB over the Trainer's, whose batches
all have one shape). `malloc_trim(0)` returns the heap's free pages; it runs only before a batch
that is larger than every one before it in the epoch (a few times an epoch, as a random order
sets records), so the pages are not faulted in again at every step. Elsewhere than glibc, nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Sequence


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None


def release() -> None:
    """Give the heap's free pages back to the system (glibc), else nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def records(sizes: Sequence[int]) -> list[bool]:
    """For each batch, whether it is larger than every batch before it (the first is)."""
    largest, out = 0, []
    for size in sizes:
        out.append(size > largest)
        largest = max(largest, size)
    return out
