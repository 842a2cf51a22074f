"""TensorBoard event files: one event per epoch, holding a scalar per metrics.csv column.

The events are encoded with TensorBoard's own protocol buffers and record format and written by
the training thread to one open file, a record per epoch in one write(): a few microseconds, and
a kill loses nothing written. torch's SummaryWriter sent each scalar to a thread that opened,
appended to and closed the file once per value; that thread held the interpreter lock against
training for ~0.2 s of a 10 s run of short epochs.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


class TensorBoardLog:
    def __init__(self, folder: Path):
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event, self._summary = Event, Summary
        folder.mkdir(parents=True, exist_ok=True)
        # the name TensorBoard's own writer gives a file: its reader looks for this pattern
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.0"
        self._file = (folder / name).open("wb")
        self._records = RecordWriter(self._file)
        self._write(file_version="brain.Event:2")

    def _write(self, **fields: object) -> None:
        self._records.write(self._event(wall_time=time.time(), **fields).SerializeToString())
        self._file.flush()

    def epoch(self, row: dict[str, float]) -> None:
        values = [
            self._summary.Value(tag=key, simple_value=float(value))
            for key, value in row.items()
            if key != "epoch"
        ]
        self._write(step=int(row["epoch"]), summary=self._summary(value=values))

    def close(self) -> None:
        self._file.close()
