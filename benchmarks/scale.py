"""Data-parallel scaling: steps/s and samples/s of `easytrain run --nproc-per-node N`.

    python -m benchmarks.scale                  # 1 and 2 CPU processes (gloo)
    python -m benchmarks.scale --procs 1 2 4 8  # on a GPU machine: one process per GPU (nccl)

The batch size is per process, so N processes train N× the examples per step; scaling
efficiency = samples/s with N processes ÷ (N × samples/s with one). Times are the training
loop's own (metrics.csv `seconds`, validation excluded), not start-up.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

RECIPE = """
name: scale
data: {{source: builtin, name: digits, split: {{val: 0.0, test: 0.1}}}}
preprocess: {{normalize: true}}
model: {{type: mlp, hidden: [1024, 1024], dropout: 0.0}}
train: {{epochs: {epochs}, batch_size: {batch}, tensorboard: false, monitor: train_loss}}
evaluate: {{metrics: [accuracy]}}
"""


def measure(procs: int, epochs: int, batch: int, device: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        recipe = Path(folder) / "scale.yaml"
        recipe.write_text(RECIPE.format(epochs=epochs, batch=batch))
        out = Path(folder) / "run"
        command = [
            sys.executable,
            "-m",
            "easytrain",
            "run",
            str(recipe),
            "--out",
            str(out),
            "--device",
            device,
        ]
        if procs > 1:
            command += ["--nproc-per-node", str(procs)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        rows = list(csv.DictReader((out / "metrics.csv").open()))
        seconds = sum(float(row["seconds"]) for row in rows[1:])  # the first epoch warms up
        train = json.loads((out / "summary.json").read_text())
        examples = 1797 - math.ceil(1797 * 0.1)
        assert train["status"] == "succeeded"
    steps = (len(rows) - 1) * math.ceil(examples / (batch * procs))
    return steps / seconds, (len(rows) - 1) * examples / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64, help="per process")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(
        f"digits, MLP 1024×1024, batch {args.batch} per process, {args.epochs - 1} timed epochs, "
        f"device {args.device}\n"
    )
    print("| processes | steps/s | samples/s | scaling efficiency |")
    print("| ---: | ---: | ---: | ---: |")
    base = None
    for procs in args.procs:
        steps, samples = measure(procs, args.epochs, args.batch, args.device)
        base = base or samples
        print(f"| {procs} | {steps:,.1f} | {samples:,.0f} | {samples / (procs * base):.0%} |")


if __name__ == "__main__":
    main()
