"""Training-loop overhead: easytrain vs a hand-written PyTorch loop (vs Lightning and Keras 3 on
torch, if installed: pip install 'easytrain[bench]').

Long epochs: same model, same data (in memory), same batch size, same number of optimizer steps,
same optimizer; the best steps/s of each contender and its ratio to the hand-written loop.
Small data (benchmarks/smalldata.py): digits, 200 short epochs with validation and a checkpoint
each; each contender a fresh process; training and whole-process seconds and their ratios.
Contenders run `--repeats` times, interleaved.

    OMP_NUM_THREADS=1 python -m benchmarks.overhead            # every workload (~15 min, 2 cores)
    OMP_NUM_THREADS=1 python -m benchmarks.overhead --quick    # a short run of each (~2 min)
    python -m benchmarks.overhead --only small --repeats 3
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from easytrain.config.data import DataSource, SplitConfig
from easytrain.config.load import load_recipe
from easytrain.data.raw import RawData
from easytrain.pipeline.run import RunOptions, run_pipeline
from easytrain.registry import default_registry
from easytrain.tracking.console import PlainReporter

WORKLOADS = {
    # name: rows, input shape, batch size
    "mlp, 200,000 rows × 32": (200_000, (32,), 256),
    "cnn, 28×28 images": (30_000, (1, 28, 28), 128),
}


class BenchData(DataSource):
    """Synthetic in-memory data for this benchmark."""

    source: Literal["bench"] = "bench"
    rows: int
    shape: list[int]
    split: SplitConfig = SplitConfig()


def make_data(rows: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    x = generator.standard_normal((rows, *shape), dtype=np.float32)
    y = (x.reshape(rows, -1)[:, :8].sum(axis=1) > 0).astype(np.int64) * 5 + generator.integers(
        0, 5, rows
    )
    return x, y


def load(config: BenchData) -> RawData:
    x, y = make_data(config.rows, tuple(config.shape))
    return RawData(x, y, "classification", classes=[str(i) for i in range(10)], description="bench")


def model_section(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return "{type: mlp, hidden: [256, 256], dropout: 0.0}"
    return (
        "{type: cnn, layers: [{conv: {channels: 16, padding: same}}, {pool: 2}, "
        "{conv: {channels: 32, padding: same}}, {pool: 2}, flatten, {dense: {units: 64}}]}"
    )


def hand_model(shape: tuple[int, ...]) -> nn.Module:
    """The same networks as easytrain builds, written out by hand."""
    if len(shape) == 1:
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(shape[0], 256),
            nn.ReLU(),
            nn.Linear(256, 256),
            nn.ReLU(),
            nn.Linear(256, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def run_easytrain(rows: int, shape: tuple[int, ...], batch: int, epochs: int) -> float:
    """Steps/s of the training loop (epoch seconds from metrics.csv: no validation, no I/O)."""
    with tempfile.TemporaryDirectory() as folder:
        recipe = Path(folder) / "bench.yaml"
        recipe.write_text(
            f"name: bench\ndata: {{source: bench, rows: {rows}, shape: {list(shape)}}}\n"
            f"preprocess: {{normalize: false}}\nmodel: {model_section(shape)}\n"
            f"train: {{epochs: {epochs}, batch_size: {batch}, tensorboard: false, monitor: train_loss}}\n"
            "evaluate: {metrics: [accuracy]}\n"
        )
        loaded = load_recipe(recipe, ["data.split={val: 0.0, test: 0.01}"])
        run_dir = Path(folder) / "run"
        run_dir.mkdir()
        with open("/dev/null", "w") as quiet:
            result = run_pipeline(
                loaded, run_dir, default_registry(), PlainReporter(quiet), RunOptions(device="cpu")
            )
        assert result["status"] == "succeeded"
        seconds = [
            float(line.split(",")[-1])
            for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]
        ]
        train_rows = int(rows * 0.99)
        return epochs * math.ceil(train_rows / batch) / sum(seconds)


def run_hand(rows: int, shape: tuple[int, ...], batch: int, epochs: int) -> float:
    """A careful hand-written loop: tensors in memory, a shuffled index, no per-step .item()."""
    x, y = (torch.from_numpy(a) for a in make_data(rows, shape))
    n = int(rows * 0.99)
    x, y = x[:n], y[:n]
    torch.manual_seed(0)
    model = hand_model(shape)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps, total = 0, 0.0
    for epoch in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch))
        loss_sum = torch.zeros(())
        for i in range(0, n, batch):
            index = order[i : i + batch]
            loss = loss_fn(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            steps += 1
        float(loss_sum)
        total += time.perf_counter() - started
    return steps / total


def run_lightning(rows: int, shape: tuple[int, ...], batch: int, epochs: int) -> float | None:
    try:
        import lightning as L
    except ImportError:
        return None
    from torch.utils.data import DataLoader, TensorDataset

    x, y = (torch.from_numpy(a) for a in make_data(rows, shape))
    n = int(rows * 0.99)

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.loss = hand_model(shape), nn.CrossEntropyLoss()

        def training_step(self, batch_, _):
            inputs, targets = batch_
            return self.loss(self.net(inputs), targets)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class Timer(L.Callback):
        seconds = 0.0

        def on_train_epoch_start(self, *_):
            self.started = time.perf_counter()

        def on_train_epoch_end(self, *_):
            Timer.seconds += time.perf_counter() - self.started

    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=batch, shuffle=True)
    trainer = L.Trainer(
        max_epochs=epochs,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=[Timer()],
    )
    Timer.seconds = 0.0
    trainer.fit(Module(), loader)
    return epochs * math.ceil(n / batch) / Timer.seconds


def long_epochs(epochs: int, repeats: int) -> None:
    contenders = {
        "hand-written loop": run_hand,
        "easytrain": run_easytrain,
        "Lightning": run_lightning,
    }
    print("| workload | contender | steps/s | vs hand-written |")
    print("| --- | --- | ---: | ---: |")
    for workload, (rows, shape, batch) in WORKLOADS.items():
        best: dict[str, float | None] = {}
        for _ in range(repeats):
            for name, contender in contenders.items():
                rate = contender(rows, shape, batch, epochs)
                best[name] = None if rate is None else max(rate, best.get(name) or 0.0)
        for name, rate in best.items():
            if rate is None:
                print(f"| {workload} | {name} | not installed | |")
            else:
                print(
                    f"| {workload} | {name} | {rate:,.0f} | {rate / best['hand-written loop']:.3f} |"
                )


def small_data(epochs: int, repeats: int, contenders: list[str]) -> None:
    from benchmarks import smalldata

    found: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for contender in ["hand", *(c for c in contenders if c != "hand")]:
            if smalldata.installed(contender):
                found.setdefault(contender, []).append(smalldata.measure(contender, epochs))
    hand_train = min(t for t, _ in found["hand"])
    hand_process = min(p for _, p in found["hand"])
    print(
        f"| digits, MLP 64-256-256-10, batch 32, {epochs} epochs | training (s) | vs hand | "
        "process (s) | vs hand |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for contender, name in smalldata.NAMES.items():
        if contender not in contenders and contender != "hand":
            continue
        if contender not in found:
            print(f"| {name} | not installed | | | |")
            continue
        train, process = min(t for t, _ in found[contender]), min(p for _, p in found[contender])
        print(
            f"| {name} | {train:.1f} | {train / hand_train:.2f} | {process:.1f} | "
            f"{process / hand_process:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="long-epoch workloads")
    parser.add_argument("--small-epochs", type=int, default=200, help="the small-data workload")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["long", "small"], help="one kind of workload")
    parser.add_argument(
        "--contenders",
        default="easytrain,lightning,keras",
        help="small data: who runs beside the hand-written loop (comma-separated)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch / 20 small epochs, 1 repeat: checks it runs, not a measurement",
    )
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.small_epochs, args.repeats = 1, 20, 1
    default_registry().add("data", "bench", "benchmarks.overhead:load", BenchData)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, best of {args.repeats}, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    if args.only != "small":
        print(f"Long epochs ({args.epochs} each):\n")
        long_epochs(args.epochs, args.repeats)
    if args.only != "long":
        print("\nSmall data (a fresh process each; training = the contender's fit):\n")
        small_data(args.small_epochs, args.repeats, args.contenders.split(","))
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
