"""Data loading: image folders decoded vs cached, and a big table through easytrain vs by hand.

    python -m benchmarks.data                       # 20,000 PNGs, 1,000,000 rows × 20 columns
    python -m benchmarks.data --images 2000 --rows 100000 --work /tmp/bench

Each measurement runs in a fresh process (so peak memory is its own) and prints one JSON line;
the table shows wall seconds and peak resident memory (ru_maxrss). The data is written once
into --work and reused.

- image folder: `easytrain.data.image_folder.load` (decode every PNG with torchvision.io, write
  the cache) and the same call again (the cache, memory-mapped).
- table: `easytrain run` with train.epochs=1 (read the CSV, split, fit fill values and one-hot
  categories on the training rows, standardize, one epoch of an MLP, validation, test) vs the
  hand-written equivalent: pandas, get_dummies, TensorDataset and a shuffling DataLoader.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"hidden": [64, 64], "batch": 256, "lr": 0.001}


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
                  "peak_mb": round(_peak), "added_mb": round(_peak - _before)}))
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
_epoch = float("nan")
assert len(raw.y) == {count}, len(raw.y)
"""

EASYTRAIN = """
import json, time
from pathlib import Path
import pandas, sklearn, torch  # imported before the clock starts, as in the hand-written loop
import easytrain.pipeline, easytrain.stages.preprocess, easytrain.stages.train
from easytrain.cli import app
{rss}
_started = time.perf_counter()
try:
    app(["run", {recipe!r}, "--out", {out!r}])
except SystemExit as exit:
    assert not exit.code, exit.code
_total = time.perf_counter() - _started
timings = json.loads((Path({out!r}) / "summary.json").read_text())["timings"]
_data, _epoch = timings["preprocess"], timings["train"]
"""

BY_HAND = """
import time
import numpy as np, pandas as pd, torch
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
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
layers, width = [], x.shape[1]
for hidden in {hidden}:
    layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.1)]
    width = hidden
model = nn.Sequential(*layers, nn.Linear(width, 2))
optimizer = torch.optim.Adam(model.parameters(), lr={lr})
loss_fn = nn.CrossEntropyLoss()
loader = DataLoader(TensorDataset(x[train], y[train]), batch_size={batch}, shuffle=True)
model.train()
for xb, yb in loader:
    loss = loss_fn(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = (model(x[val]).argmax(1) == y[val]).float().mean().item()
_epoch = time.perf_counter() - _started - _data
with torch.no_grad():
    accuracy = (model(x[test]).argmax(1) == y[test]).float().mean().item()
_total = time.perf_counter() - _started
"""

RECIPE = """
name: bench-table
data: {{source: table, path: {path}, target: label, split: {{val: 0.15, test: 0.15}}}}
model: {{type: mlp, hidden: {hidden}, dropout: 0.1}}
train: {{epochs: 1, batch_size: {batch}, optimizer: {{lr: {lr}}}, tensorboard: false}}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "easytrain-bench"
    )
    args = parser.parse_args()
    folder, table = args.work / f"images-{args.images}", args.work / f"table-{args.rows}.csv"
    cache = args.work / "cache"
    args.work.mkdir(parents=True, exist_ok=True)
    make_images(folder, args.images)
    make_table(table, args.rows)
    for old in cache.glob("*"):
        old.unlink()

    rows = []
    images = IMAGES.format(folder=str(folder), cache=str(cache), count=args.images, rss=RSS)
    rows.append((f"image folder, {args.images:,} PNGs 28×28: first load (decode)", measure(images)))
    rows.append((f"image folder, {args.images:,} PNGs 28×28: cached load (mmap)", measure(images)))
    recipe = args.work / "table.yaml"
    recipe.write_text(RECIPE.format(path=table, **MODEL))
    run = EASYTRAIN.format(recipe=str(recipe), out=str(args.work / "run"), rss=RSS)
    subprocess.run(["rm", "-rf", str(args.work / "run")], check=True)
    what = f"table, {args.rows:,} rows × 20 columns, load + 1 epoch"
    rows.append((f"{what}: easytrain run", measure(run)))
    rows.append(
        (
            f"{what}: pandas + TensorDataset + DataLoader",
            measure(BY_HAND.format(path=str(table), rss=RSS, **MODEL)),
        )
    )

    print("| measurement | data (s) | epoch (s) | total (s) | peak memory | over imports |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        epoch = "" if r["epoch"] != r["epoch"] else f"{r['epoch']:.2f}"  # NaN: no epoch
        print(
            f"| {name} | {r['data']:.2f} | {epoch} | {r['total']:.2f} | "
            f"{r['peak_mb']:,} MB | {r['added_mb']:,} MB |"
        )


if __name__ == "__main__":
    main()
