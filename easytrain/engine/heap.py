"""Freed memory handed back to the system between batches of varying shape (glibc's malloc).

Token batches are cut to their longest text, so each batch's activations have sizes of their
own. glibc's malloc keeps a batch's freed activations in its heap, and the next batch's, of other
sizes, do not all fit in the holes: the heap, and with it the process's resident memory, grows
past what is live (fine-tuning all-MiniLM-L6-v2: a peak 30-90 MB over the Trainer's, whose
batches all have one shape; 2,591 MB against 2,687 MB with a release before each batch).
`malloc_trim(0)` returns the heap's free pages; the next batch faults them in again (about 0.2 s
of system time per step there, against ~1 s of compute). Elsewhere than glibc, nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


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
