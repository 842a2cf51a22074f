"""How much image decoding one `easytrain serve` request may ask for, and how many at once.

A request body is limited in bytes, but an image is not decoded in proportion to its file: a
315 kB PNG of 9000×9000 took the server from 860 MB to 1.3 GB, four at once to 2 GB. Each
request's images are sized from their headers before any is decoded: over the budget, 413; and
only a few requests decode at a time: one that waits too long for its turn gets 503.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from easytrain.data.images import decoded_bytes
from easytrain.errors import RunFailed

DECODE_BYTES = 128 * 2**20  # per request, decoded (4096×4096 RGB is 48 MiB)
DECODING_AT_ONCE = 2
WAIT_S = 10.0  # for a decoding slot, before answering 503


class TooLarge(RunFailed):
    """413: the request's images would decode to more than the budget."""


class Busy(RunFailed):
    """503: every decoding slot stayed taken."""


class DecodeLimit:
    def __init__(
        self,
        budget: int = DECODE_BYTES,
        at_once: int = DECODING_AT_ONCE,
        wait_s: float = WAIT_S,
    ):
        self.budget, self.wait_s = budget, wait_s
        self.slots = threading.BoundedSemaphore(at_once)

    def check(self, blobs: Sequence[bytes]) -> None:
        """TooLarge when the images, sized from their headers, decode to over the budget."""
        total = 0
        for i, blob in enumerate(blobs):
            total += decoded_bytes(blob) or 0  # unknown: the decoder says what is wrong
            if total > self.budget:
                raise TooLarge(
                    f"images[{i}]: the images of this request would decode to over "
                    f"{self.budget // 2**20} MiB; send fewer or smaller images"
                )

    @contextmanager
    def slot(self) -> Iterator[None]:
        """A decoding turn; Busy when none frees up within wait_s."""
        if not self.slots.acquire(timeout=self.wait_s):
            raise Busy(f"the server is busy decoding images; retry in {self.wait_s:.0f} s")
        try:
            yield
        finally:
            self.slots.release()
