"""Small data, many short epochs: scikit-learn's digits (1,797 rows × 64), an MLP 64-256-256-10,
batch 32, Adam (lr 1e-3), validation and a checkpoint every epoch, then the test accuracy.

Each contender is a fresh process, so "process" is what a user waits for (imports, data, training,
files, exit) and "training" is the contender's own fit: easytrain's train stage (timings.train
in summary.json), the hand-written loop's epochs, Lightning's `Trainer.fit`, Keras's `fit`.

    python -m benchmarks.smalldata hand --epochs 200 --out DIR   # one contender (used by overhead)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPE = """\
name: bench-digits
data: {{source: builtin, name: digits, split: {{val: 0.15, test: 0.15, stratify: true}}}}
preprocess: {{normalize: true}}
model: {{type: mlp, hidden: [256, 256], dropout: 0.0}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{name: adam, lr: 0.001}}}}
evaluate: {{metrics: [accuracy]}}
"""
BATCH, LR = 32, 1e-3


def digits_splits() -> tuple:
    """70 / 15 / 15, stratified, standardized with the training split's statistics."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    return tuple(
        ((a - mean) / std, b) for a, b in ((x_train, y_train), (x_val, y_val), (x_test, y_test))
    )


def mlp():
    from torch import nn

    return nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def hand(epochs: int, out: Path) -> float:
    """What a careful user writes: tensors in memory, a shuffled index, the loss read once an
    epoch, validation, best.pt when val_loss improves and last.pt every epoch (torch.save)."""
    import csv

    import torch
    from torch import nn

    (train, val, test) = ((torch.from_numpy(x), torch.from_numpy(y)) for x, y in digits_splits())
    started = time.perf_counter()  # like easytrain's train stage: from building the optimizer
    torch.manual_seed(0)
    model, loss_fn = mlp(), nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    (x, y), n, best, rows = train, len(train[1]), float("inf"), []
    for epoch in range(epochs):
        model.train()
        order, loss_sum = torch.randperm(n), torch.zeros(())
        for i in range(0, n, BATCH):
            index = order[i : i + BATCH]
            loss = loss_fn(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        model.eval()
        with torch.no_grad():
            logits = model(val[0])
            val_loss = float(loss_fn(logits, val[1]))
            accuracy = float((logits.argmax(1) == val[1]).float().mean())
        rows.append([epoch + 1, float(loss_sum) / n, val_loss, accuracy])
        if val_loss < best:
            best = val_loss
            torch.save(model.state_dict(), out / "best.pt")
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1},
            out / "last.pt",
        )
    seconds = time.perf_counter() - started
    with (out / "metrics.csv").open("w", newline="") as file:
        csv.writer(file).writerows([["epoch", "train_loss", "val_loss", "val_accuracy"], *rows])
    model.load_state_dict(torch.load(out / "best.pt"))
    with torch.no_grad():
        test_accuracy = float((model(test[0]).argmax(1) == test[1]).float().mean())
    assert test_accuracy > 0.9, test_accuracy
    return seconds


def lightning(epochs: int, out: Path) -> float:
    import logging
    import warnings

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    train, val, test = (
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)) for x, y in digits_splits()
    )

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.loss = mlp(), nn.CrossEntropyLoss()

        def training_step(self, batch, _):
            return self.loss(self.net(batch[0]), batch[1])

        def validation_step(self, batch, _):
            logits = self.net(batch[0])
            self.log("val_loss", self.loss(logits, batch[1]))
            self.log("val_accuracy", (logits.argmax(1) == batch[1]).float().mean())

        test_step = validation_step

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=LR)

    torch.manual_seed(0)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        default_root_dir=out,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCheckpoint(dirpath=out, monitor="val_loss", save_last=True)],
    )
    module = Module()
    started = time.perf_counter()
    trainer.fit(
        module, DataLoader(train, batch_size=BATCH, shuffle=True), DataLoader(val, batch_size=512)
    )
    seconds = time.perf_counter() - started
    trainer.test(module, DataLoader(test, batch_size=512), ckpt_path="best", verbose=False)
    return seconds


def keras(epochs: int, out: Path) -> float:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras as K

    (x, y), val, test = digits_splits()
    K.utils.set_random_seed(0)
    model = K.Sequential(
        [
            K.Input((64,)),
            K.layers.Dense(256, activation="relu"),
            K.layers.Dense(256, activation="relu"),
            K.layers.Dense(10),
        ]
    )
    model.compile(
        K.optimizers.Adam(LR),
        K.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callbacks = [
        K.callbacks.ModelCheckpoint(out / "best.keras", monitor="val_loss", save_best_only=True),
        K.callbacks.ModelCheckpoint(out / "last.keras"),
        K.callbacks.CSVLogger(out / "metrics.csv"),
    ]
    started = time.perf_counter()
    model.fit(
        x, y, batch_size=BATCH, epochs=epochs, validation_data=val, callbacks=callbacks, verbose=0
    )
    seconds = time.perf_counter() - started
    model = K.models.load_model(out / "best.keras")
    model.evaluate(*test, verbose=0)
    return seconds


CONTENDERS = {"hand": hand, "lightning": lightning, "keras": keras}
NAMES = {
    "hand": "hand-written loop",
    "easytrain": "easytrain",
    "lightning": "Lightning",
    "keras": "Keras 3 (torch)",
}


def installed(contender: str) -> bool:
    import importlib.util

    module = {"lightning": "lightning", "keras": "keras"}.get(contender)
    return module is None or importlib.util.find_spec(module) is not None


def measure(contender: str, epochs: int) -> tuple[float, float]:
    """(training seconds, whole-process seconds) of one fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        if contender == "easytrain":
            (out / "bench.yaml").write_text(RECIPE.format(epochs=epochs))
            command = [
                str(Path(sys.executable).with_name("easytrain")),
                "run",
                str(out / "bench.yaml"),
                "--out",
                str(out / "run"),
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "benchmarks.smalldata",
                contender,
                "--epochs",
                str(epochs),
                "--out",
                str(out),
            ]
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=Path(__file__).parent.parent
        )
        process = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{contender} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        if contender == "easytrain":
            summary = json.loads((out / "run" / "summary.json").read_text())
            return summary["timings"]["train"], process
        return json.loads(done.stdout.strip().splitlines()[-1])["train_seconds"], process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    seconds = CONTENDERS[args.contender](args.epochs, args.out)
    print(json.dumps({"train_seconds": seconds}))


if __name__ == "__main__":
    main()
