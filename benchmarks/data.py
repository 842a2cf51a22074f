"""Data loading: image folders decoded vs cached vs streamed, and a big table, easytrain vs by hand.

    python -m benchmarks.data                       # 20,000 PNGs, 1,000,000 rows × 20 columns
    python -m benchmarks.data --images 2000 --rows 100000 --work /tmp/bench

Each measurement runs in a fresh process (so peak memory is its own) and prints one JSON line;
the table shows wall seconds and peak resident memory (ru_maxrss), also over what the imports
took. The data is written once into --work and reused.

- image folder: `easytrain.data.image_folder.load` (decode every PNG with torchvision.io, write
  the cache) and the same call again (the cache, memory-mapped); then one epoch of an MLP (and
  the validation pass) by `easytrain run` from the cache, with the images in memory and streamed
  through DataLoader workers, vs the hand-written torchvision ImageFolder + DataLoader loop.
- table: `easytrain run` with train.epochs=1 (read the CSV, split, fit fill values and one-hot
  categories on the training rows, standardize, one epoch, validation, test) vs the hand-written
  equivalent: pandas, get_dummies, TensorDataset and a shuffling DataLoader. Two models: a linear
  one, where serving the data is the work, and an MLP 64-64, where the model's arithmetic is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (name, hidden layers, batch size): where serving the data is the work, and where the model is
TABLE_RUNS = [("linear", [], 256), ("linear", [], 1024), ("MLP 64-64", [64, 64], 256)]
IMAGE_BATCH, LR = 64, 0.001
IMAGE_HIDDEN = [128]
WORKERS = min(4, max(1, (os.cpu_count() or 2) // 2))  # easytrain's data.workers: auto


def make_images(folder: Path, count: int) -> None:
    """scikit-learn's digits at 28×28, shifted and noised into `count` distinct PNG files."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    if len(list(folder.rglob("*.png"))) == count:
        return
    digits = load_digits()
    rng = np.random.default_rng(0)
    for index in range(count):
        source = index % len(digits.images)
        base = Image.fromarray((digits.images[source] * 15).astype(np.uint8)).resize((28, 28))
        pixels = np.roll(np.asarray(base, dtype=np.int16), rng.integers(-2, 3, 2), axis=(0, 1))
        pixels = np.clip(pixels + rng.integers(0, 30, pixels.shape), 0, 255).astype(np.uint8)
        target = folder / str(digits.target[source])
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(target / f"{index:06d}.png")


def make_table(path: Path, rows: int) -> None:
    """20 feature columns (12 float, 4 int, 3 text categories, 1 boolean), empty cells, a label."""
    import numpy as np
    import pandas as pd

    if path.exists():
        return
    rng = np.random.default_rng(0)
    columns = {f"f{i}": rng.normal(0, 1 + i, rows) for i in range(12)}
    columns |= {f"n{i}": rng.integers(0, 100 * (i + 1), rows) for i in range(4)}
    columns |= {
        f"c{i}": rng.choice([f"cat{j}" for j in range(size)], rows)
        for i, size in enumerate((5, 20, 100))
    }
    columns["flag"] = rng.random(rows) < 0.3
    frame = pd.DataFrame(columns)
    score = frame["f0"] + 0.5 * frame["f1"] - (frame["c0"] == "cat1") + frame["flag"]
    frame["label"] = np.where(score + rng.normal(0, 0.5, rows) > 0.5, "yes", "no")
    for column in ("f2", "f3", "c1"):
        frame.loc[rng.random(rows) < 0.05, column] = None
    frame.to_csv(path, index=False)


# Appended to each child: seconds, peak memory, and memory over what the imports took.
REPORT = """
import json, resource
_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"data": round(_data, 2), "epoch": round(_epoch, 2), "total": round(_total, 2),
                  "peak_mb": round(_peak), "added_mb": round(_peak - _before),
                  "inputs_mb": round(_inputs / 2**20)}))
"""
# Before the clock in the hand-written scripts: the optimizer's first step imports torch._dynamo
# (a second), which easytrain's imports, also before its clock, already hold.
WARM_UP = """
_warm = torch.nn.Linear(2, 1)
_optimizer = torch.optim.Adam(_warm.parameters())
_warm(torch.ones(1, 2)).sum().backward()
_optimizer.step()
"""
RSS = "_before = int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20"

IMAGES = """
import time
from pathlib import Path
from easytrain.config.data import ImageFolderData
from easytrain.data.image_folder import load
config = ImageFolderData(path=Path({folder!r}), channels=1, cache_dir=Path({cache!r}))
{rss}
_started = time.perf_counter()
raw = load(config)
_data = _total = time.perf_counter() - _started
_epoch, _inputs = float("nan"), raw.x.size * 4
assert len(raw.y) == {count}, len(raw.y)
"""

EASYTRAIN = """
import json, math, time
from pathlib import Path
import pandas, sklearn, torch  # imported before the clock starts, as in the hand-written loop
import easytrain.pipeline.run, easytrain.stages.preprocess, easytrain.stages.train
from easytrain.cli import app
{rss}
_started = time.perf_counter()
try:
    app(["run", {recipe!r}, "--out", {out!r}, *{overrides!r}])
except SystemExit as exit:
    assert not exit.code, exit.code
_total = time.perf_counter() - _started
timings = json.loads((Path({out!r}) / "summary.json").read_text())["timings"]
_data, _epoch = timings["preprocess"], timings["train"]
_shape = json.loads((Path({out!r}) / "preprocessing.json").read_text())["input_shape"]
_inputs = math.prod(_shape) * 4 * {rows}  # the float32 model inputs of every row
"""

# The hand-written scripts: each prepares `layers`, `width`, `loader` (training batches) and
# `val_batches`, then this trains one epoch and runs the validation pass.
BY_HAND_EPOCH = """
for hidden in {hidden}:
    layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.1)]
    width = hidden
model = nn.Sequential(*layers, nn.Linear(width, {classes}))
optimizer = torch.optim.Adam(model.parameters(), lr={lr})
loss_fn = nn.CrossEntropyLoss()
model.train()
for xb, yb in loader:
    loss = loss_fn(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
with torch.no_grad():
    right = sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in val_batches)
_epoch = time.perf_counter() - _started - _data
_total = time.perf_counter() - _started
"""

TABLE_BY_HAND = (
    """
import time
import numpy as np, pandas as pd, torch
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
{warm_up}
{rss}
_started = time.perf_counter()
torch.manual_seed(0)
frame = pd.read_csv({path!r})
y = torch.from_numpy(pd.factorize(frame.pop("label"), sort=True)[0].astype(np.int64))
numeric = frame.select_dtypes("number").columns
frame[numeric] = frame[numeric].fillna(frame[numeric].median())
x = pd.get_dummies(frame, dummy_na=True, dtype=np.float32).to_numpy(np.float32)
index = np.arange(len(y))
train, rest = train_test_split(index, test_size=0.3, random_state=0, stratify=y)
val, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=y[rest])
mean, std = x[train].mean(0), x[train].std(0) + 1e-8
x = torch.from_numpy((x - mean) / std)
_data = time.perf_counter() - _started
_inputs = x.numel() * 4
layers, width = [], x.shape[1]
loader = {loader}
val_batches = [(x[val], y[val])]
"""
    + BY_HAND_EPOCH
)

IMAGES_BY_HAND = (
    """
import time
import torch
from torch import nn
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms
{warm_up}
{rss}
_started = time.perf_counter()
torch.manual_seed(0)
convert = transforms.Compose(
    [transforms.Grayscale(), transforms.ToTensor(), transforms.Normalize([0.5], [0.25])]
)
data = datasets.ImageFolder({folder!r}, transform=convert)
train, val, test = random_split(data, [0.7, 0.15, 0.15])
_data = time.perf_counter() - _started
_inputs = len(data) * 28 * 28 * 4
layers, width = [nn.Flatten()], 28 * 28
loader = DataLoader(train, batch_size={batch}, shuffle=True, num_workers={workers})
val_batches = DataLoader(val, batch_size=256, num_workers={workers})
"""
    + BY_HAND_EPOCH
)

# How the hand-written table scripts draw training batches: the usual DataLoader, and shuffled
# batches sliced out of the tensors (easytrain's way, without easytrain): what the model alone costs.
TABLE_LOADERS = {
    "pandas + TensorDataset + DataLoader": (
        "DataLoader(TensorDataset(x[train], y[train]), batch_size={batch}, shuffle=True)"
    ),
    "the same, batches sliced out of the tensors": (
        "((x[i], y[i]) for i in torch.from_numpy(train)[torch.randperm(len(train))].split({batch}))"
    ),
}

TABLE_RECIPE = """
name: bench-table
data: {{source: table, path: {path}, target: label, split: {{val: 0.15, test: 0.15}}}}
model: {{type: mlp, hidden: {hidden}, dropout: 0.1}}
train: {{epochs: 1, batch_size: {batch}, optimizer: {{lr: {lr}}}, tensorboard: false}}
evaluate: {{plots: false}}
"""

IMAGE_RECIPE = """
name: bench-images
data: {{source: image_folder, path: {folder}, channels: 1, cache_dir: {cache},
        split: {{val: 0.15, test: 0.15}}}}
model: {{type: mlp, hidden: {hidden}, dropout: 0.1}}
train: {{epochs: 1, batch_size: {batch}, optimizer: {{lr: {lr}}}, tensorboard: false}}
evaluate: {{plots: false}}
"""


def measure(script: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + REPORT],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def easytrain_run(recipe: Path, out: Path, rows: int, *overrides: str) -> dict[str, float]:
    subprocess.run(["rm", "-rf", str(out)], check=True)
    script = EASYTRAIN.format(
        recipe=str(recipe), out=str(out), rows=rows, overrides=list(overrides), rss=RSS
    )
    return measure(script)


def image_rows(work: Path, count: int) -> list[tuple[str, dict[str, float]]]:
    folder, cache = work / f"images-{count}", work / "cache"
    make_images(folder, count)
    for old in cache.glob("*"):
        old.unlink()
    load = IMAGES.format(folder=str(folder), cache=str(cache), count=count, rss=RSS)
    what = f"image folder, {count:,} PNGs 28×28"
    rows = [(f"{what}: first load (decode)", measure(load))]
    rows.append((f"{what}: cached load (mmap)", measure(load)))
    recipe = work / "images.yaml"
    recipe.write_text(
        IMAGE_RECIPE.format(
            folder=folder, cache=cache, hidden=IMAGE_HIDDEN, batch=IMAGE_BATCH, lr=LR
        )
    )
    epoch = f"{what}, 1 epoch of an MLP 128"
    for mode in ("false", "true"):
        name = "in memory" if mode == "false" else f"streamed, {WORKERS} worker(s)"
        result = easytrain_run(recipe, work / "run-images", count, f"data.stream={mode}")
        rows.append((f"{epoch}: easytrain, cached, {name}", result))
    by_hand = IMAGES_BY_HAND.format(
        folder=str(folder),
        hidden=IMAGE_HIDDEN,
        batch=IMAGE_BATCH,
        lr=LR,
        workers=WORKERS,
        classes=10,
        warm_up=WARM_UP,
        rss=RSS,
    )
    rows.append((f"{epoch}: ImageFolder + DataLoader, {WORKERS} worker(s)", measure(by_hand)))
    return rows


def table_rows(work: Path, count: int) -> list[tuple[str, dict[str, float]]]:
    table = work / f"table-{count}.csv"
    make_table(table, count)
    rows = []
    for model, hidden, batch in TABLE_RUNS:
        recipe = work / "table.yaml"
        recipe.write_text(TABLE_RECIPE.format(path=table, hidden=hidden, batch=batch, lr=LR))
        what = f"table, {count:,} rows × 20 columns, load + 1 epoch, {model}, batch {batch}"
        rows.append((f"{what}: easytrain run", easytrain_run(recipe, work / "run-table", count)))
        for name, loader in TABLE_LOADERS.items():
            by_hand = TABLE_BY_HAND.format(
                path=str(table),
                hidden=hidden,
                lr=LR,
                classes=2,
                loader=loader.format(batch=batch),
                warm_up=WARM_UP,
                rss=RSS,
            )
            rows.append((f"{what}: {name}", measure(by_hand)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "easytrain-bench"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = image_rows(args.work, args.images) + table_rows(args.work, args.rows)

    print(
        "| measurement | data (s) | epoch (s) | total (s) | peak memory | over imports "
        "| over imports ÷ float inputs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        epoch = "" if r["epoch"] != r["epoch"] else f"{r['epoch']:.2f}"  # NaN: no epoch
        ratio = f"{r['added_mb'] / r['inputs_mb']:.2f}" if r["inputs_mb"] else ""
        print(
            f"| {name} | {r['data']:.2f} | {epoch} | {r['total']:.2f} | "
            f"{r['peak_mb']:,} MB | {r['added_mb']:,} MB | {ratio} |"
        )


if __name__ == "__main__":
    main()
