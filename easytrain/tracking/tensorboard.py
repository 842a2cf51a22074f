"""TensorBoard event files, one scalar per metrics.csv column per epoch.

The events are written by the SummaryWriter's own thread, which flushes the file every
FLUSH_SECONDS (and at close). Flushing after every epoch instead made the training thread wait
for that thread to drain its queue: milliseconds of a short epoch, more while the checkpoint
writer held the interpreter lock. A live TensorBoard lags by at most FLUSH_SECONDS; a killed run
can miss that much of its newest events (metrics.csv and the checkpoint still hold them).
"""

from __future__ import annotations

from pathlib import Path

FLUSH_SECONDS = 2


class TensorBoardLog:
    def __init__(self, folder: Path):
        from torch.utils.tensorboard import SummaryWriter  # imports the tensorboard package

        self.writer = SummaryWriter(log_dir=str(folder), flush_secs=FLUSH_SECONDS)

    def epoch(self, row: dict[str, float]) -> None:
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, epoch)

    def close(self) -> None:
        self.writer.close()
