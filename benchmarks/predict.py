"""Predictions per second: PyTorch vs ONNX Runtime, for a table model and an image model.

    python -m benchmarks.predict                   # batch 1 and 256, 2 s per measurement
    python -m benchmarks.predict --seconds 5 --work /tmp/bench

Trains one short run of each (`easytrain run`, export: onnx) into --work, then times the model
alone on its own prepared inputs: the run's checkpoint in PyTorch (eval mode, inference_mode)
and export/model.onnx in ONNX Runtime (CPU), each with every core torch and ONNX Runtime use by
default. Batch 1 is the latency case (one request at a time); batch 256 the throughput case.
Each contender runs --repeats times, interleaved; the table shows the best rate. A second table
shows what `easytrain predict` achieves end to end on the raw files (read, decode or encode,
prepare, forward, answers), with the checkpoint, at --batch-size 256.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository root, not benchmarks/, first on the path: benchmarks/cuda.py would otherwise
# stand in for the `cuda` package that torch imports.
sys.path[0] = str(ROOT)

import torch  # noqa: E402

from benchmarks.data import make_images, make_table  # noqa: E402

TABLE = """
name: bench-table
data: {{source: table, path: {path}, target: label}}
model: {{type: mlp, hidden: [64, 64]}}
train: {{epochs: 1, batch_size: 256, tensorboard: false}}
evaluate: {{plots: false}}
export: {{formats: [onnx]}}
"""
IMAGE = """
name: bench-image
data: {{source: image_folder, path: {path}, channels: 1, cache: false}}
model:
  type: cnn
  layers:
    - conv: {{channels: 32, kernel: 3, padding: same}}
    - conv: {{channels: 64, kernel: 3, padding: same}}
    - pool: 2
    - flatten
    - dense: {{units: 128}}
train: {{epochs: 1, batch_size: 128, tensorboard: false}}
evaluate: {{plots: false}}
export: {{formats: [onnx]}}
"""


def train(work: Path, name: str, recipe: str, data: Path) -> Path:
    run = work / f"run-{name}"
    if not (run / "export" / "model.onnx").exists():
        path = work / f"{name}.yaml"
        path.write_text(recipe.format(path=data))
        subprocess.run(
            [sys.executable, "-m", "easytrain", "run", str(path), "--out", str(run)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
    return run


def rate(call: Callable[[torch.Tensor], object], x: torch.Tensor, seconds: float) -> float:
    """Examples per second of call(x), after a warm-up."""
    for _ in range(3):
        call(x)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call(x)
        count += 1
    return count * len(x) / elapsed


def predict_rate(run: Path, inputs: Path) -> tuple[int, float]:
    """(inputs, inputs per second) of `easytrain predict RUN INPUTS` in this process: read,
    decode or encode, prepare, forward and answers, at --batch-size 256, with the checkpoint."""
    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.predict import predict, sources
    from easytrain.deploy.predictor import Predictor

    predictor = Predictor(load_run(run))
    started = time.perf_counter()
    count = sum(1 for _ in predict(predictor, sources(predictor, [inputs], []), 256))
    return count, count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--images", type=int, default=5_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="easytrain-predict-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    from easytrain.deploy.loaded import load_run
    from easytrain.deploy.onnx import OnnxRunner

    make_table(work / "table.csv", args.rows)
    make_images(work / "images", args.images)
    runs = {
        "table (MLP 64-64)": (train(work, "table", TABLE, work / "table.csv"), work / "table.csv"),
        "image (CNN, 28×28 grey)": (train(work, "image", IMAGE, work / "images"), work / "images"),
    }
    print(f"threads: torch {torch.get_num_threads()}, work folder {work}", file=sys.stderr)
    print("| model | batch | PyTorch (pred/s) | ONNX Runtime (pred/s) | ONNX ÷ PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (run, _) in runs.items():
        loaded = load_run(run)
        model, onnx = loaded.model, OnnxRunner(run / "export" / "model.onnx")
        sample = loaded.sample
        for batch in (1, 256):
            x = sample.repeat((batch + len(sample) - 1) // len(sample), *[1] * (sample.ndim - 1))
            x = x[:batch].contiguous()
            best = {"torch": 0.0, "onnx": 0.0}
            for _ in range(args.repeats):
                with torch.inference_mode():
                    best["torch"] = max(best["torch"], rate(model, x, args.seconds))
                best["onnx"] = max(best["onnx"], rate(onnx, x, args.seconds))
            print(
                f"| {name} | {batch} | {best['torch']:,.0f} | {best['onnx']:,.0f} | "
                f"{best['onnx'] / best['torch']:.2f} |",
                flush=True,
            )
    print()
    print("| model | raw inputs | easytrain predict (inputs/s) |")
    print("| --- | ---: | ---: |")
    for name, (run, data) in runs.items():
        count, speed = predict_rate(run, data)
        print(f"| {name} | {count:,} | {speed:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
