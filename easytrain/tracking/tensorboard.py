"""TensorBoard event files, one scalar per metrics.csv column per epoch."""

from __future__ import annotations

from pathlib import Path


class TensorBoardLog:
    def __init__(self, folder: Path):
        from torch.utils.tensorboard import SummaryWriter  # imports the tensorboard package

        self.writer = SummaryWriter(log_dir=str(folder))

    def epoch(self, row: dict[str, float]) -> None:
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
