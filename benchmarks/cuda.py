"""resnet18 training at 224×224 on a CUDA GPU: easytrain's training loop against a hand-written
loop with the same settings: fp32, bf16 autocast, bf16 + channels_last, and + torch.compile.

    python -m benchmarks.cuda [--batch 128] [--images 2048]
    python -m benchmarks.cuda --quick --device cpu     # checks that it runs, measures nothing

Both train on the same random images held on the device (as easytrain holds a split that fits),
drawn in a shuffled order, with SGD; the hand-written loop runs one epoch to warm up (and
compile), then one timed epoch; easytrain runs `easytrain run`'s pipeline for two epochs and its
second epoch's seconds (metrics.csv; no validation split) are timed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torchvision
from torch import nn

from easytrain.config.data import DataSource, SplitConfig
from easytrain.config.load import load_recipe
from easytrain.data.raw import RawData
from easytrain.pipeline.run import RunOptions, run_pipeline
from easytrain.registry import default_registry
from easytrain.tracking.console import PlainReporter

SETTINGS = [  # label, precision, channels_last, compile
    ("fp32", "32", False, False),
    ("bf16 autocast", "bf16", False, False),
    ("bf16 + channels_last", "bf16", True, False),
    ("bf16 + channels_last + compile", "bf16", True, True),
]


class ImagesData(DataSource):
    """Random images for this benchmark."""

    source: Literal["bench_images"] = "bench_images"
    rows: int
    size: int
    split: SplitConfig = SplitConfig()


def images(rows: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    x = generator.standard_normal((rows, 3, size, size), dtype=np.float32)
    return x, generator.integers(0, 10, rows)


def load(config: ImagesData) -> RawData:
    x, y = images(config.rows, config.size)
    return RawData(x, y, "classification", classes=[str(i) for i in range(10)], description="bench")


def hand(device: str, rows: int, size: int, batch: int, setting: tuple) -> float:
    """Images/s of the timed epoch of a plain loop: model, autocast, optimizer, nothing else."""
    _, precision, channels_last, compile_ = setting
    device_ = torch.device(device)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).to(device_)
    x, y = (torch.from_numpy(a).to(device_) for a in images(rows, size))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(model) if compile_ else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn, bf16 = nn.CrossEntropyLoss(), precision == "bf16"

    def epoch(seed: int) -> None:
        order = torch.randperm(rows, generator=torch.Generator().manual_seed(seed)).to(device_)
        for i in range(0, rows, batch):
            index = order[i : i + batch]
            with torch.autocast(device_.type, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(forward(x[index]), y[index])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    epoch(0)  # warm-up (and compilation)
    _sync(device_)
    started = time.perf_counter()
    epoch(1)
    _sync(device_)
    return rows / (time.perf_counter() - started)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def easytrain(device: str, rows: int, size: int, batch: int, setting: tuple) -> float:
    """Images/s of easytrain's second epoch, from metrics.csv (the first warms up and compiles)."""
    _, precision, channels_last, compile_ = setting
    with tempfile.TemporaryDirectory() as folder:
        recipe = Path(folder) / "bench.yaml"
        recipe.write_text(
            f"name: bench\ndata: {{source: bench_images, rows: {rows}, size: {size}}}\n"
            "preprocess: {normalize: false}\nmodel: {type: resnet18}\n"
            f"train: {{epochs: 2, batch_size: {batch}, precision: '{precision}', "
            f"channels_last: {str(channels_last).lower()}, compile: {str(compile_).lower()}, "
            "optimizer: {name: sgd, lr: 0.01, momentum: 0.9}, tensorboard: false, "
            "monitor: train_loss}\nevaluate: {metrics: [accuracy], plots: false}\n"
        )
        held_out = 2 * batch / rows  # a small test split; no validation pass
        split = f"data.split={{val: 0.0, test: {held_out}, stratify: false}}"
        loaded = load_recipe(recipe, [split])
        run_dir = Path(folder) / "run"
        run_dir.mkdir()
        with open("/dev/null", "w") as quiet:
            result = run_pipeline(
                loaded, run_dir, default_registry(), PlainReporter(quiet), RunOptions(device=device)
            )
        assert result["status"] == "succeeded", result
        lines = (run_dir / "metrics.csv").read_text().splitlines()
        seconds = float(lines[-1].split(",")[-1])
        return int(result["data"]["sizes"]["train"]) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--images", type=int, default=2048, help="images per epoch")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="64×64, 128 images, batch 16")
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled row")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.images, args.size = 16, 128, 64
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(
            "no CUDA GPU here: nothing to measure (--device cpu --quick checks it runs)"
        )
    default_registry().add("data", "bench_images", "benchmarks.cuda:load", ImagesData)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(
        f"{name}, torch {torch.__version__}, resnet18 at {args.size}², batch {args.batch}, "
        f"{args.images} images per epoch\n"
    )
    print("| settings | hand-written (images/s) | easytrain (images/s) | easytrain ÷ hand |")
    print("| --- | ---: | ---: | ---: |")
    for setting in SETTINGS:
        if setting[3] and args.no_compile:
            continue
        plain = hand(args.device, args.images, args.size, args.batch, setting)
        ours = easytrain(args.device, args.images, args.size, args.batch, setting)
        print(f"| {setting[0]} | {plain:,.0f} | {ours:,.0f} | {ours / plain:.3f} |")


if __name__ == "__main__":
    main()
