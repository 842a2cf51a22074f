"""Real-ish data written to disk the way users keep it: image folders, CSV files, text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.datasets import load_digits


def digits_folder(root: Path, size: int = 16, limit: int | None = None) -> Path:
    """scikit-learn's real handwritten digits as PNG files: root/<digit>/<n>.png, 1 channel."""
    digits = load_digits()
    images = (digits.images * (255 / 16)).astype(np.uint8)
    count = len(images) if limit is None else limit
    for index in range(count):
        folder = root / str(digits.target[index])
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(images[index]).resize((size, size), Image.Resampling.BILINEAR)
        image.save(folder / f"{index:04d}.png")
    return root


def color_folder(root: Path, per_class: int = 6, size: tuple[int, int] = (12, 10)) -> Path:
    """Two classes of small RGB images (reddish, bluish) in every format image_folder reads."""
    rng = np.random.default_rng(0)
    formats = ["png", "jpg", "webp", "bmp"]
    for label, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / label).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            noise = rng.integers(-20, 20, (*size, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
            fmt = formats[index % len(formats)]
            Image.fromarray(pixels).save(root / label / f"{index}.{fmt}")
    return root


def mixed_table(path: Path, rows: int = 600, seed: int = 0) -> Path:
    """Numeric, categorical and boolean columns with empty cells; the label depends on all three."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, rows).round()
    income = rng.lognormal(10, 0.5, rows).round(2)
    city = rng.choice(["paris", "lyon", "nice"], rows)
    member = rng.choice([True, False], rows)
    score = 0.08 * (age - 40) + (city == "paris") * 2.0 + member * 1.5 + rng.normal(0, 0.4, rows)
    frame = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": city,
            "member": member.astype(object),
            "label": np.where(score > 1.0, "yes", "no"),
        }
    )
    for column, share in (("age", 0.07), ("city", 0.05), ("member", 0.03)):
        frame.loc[rng.choice(rows, max(1, int(rows * share)), replace=False), column] = np.nan
    _write(frame, path)
    return path


TOPICS = {
    "sport": [
        "match",
        "team",
        "goal",
        "player",
        "coach",
        "league",
        "season",
        "score",
        "win",
        "referee",
        "stadium",
        "ball",
    ],
    "science": [
        "atom",
        "cell",
        "energy",
        "theory",
        "experiment",
        "lab",
        "molecule",
        "physics",
        "data",
        "gene",
        "research",
    ],
}
COMMON = [
    "the",
    "a",
    "of",
    "and",
    "in",
    "on",
    "to",
    "with",
    "was",
    "is",
    "for",
    "this",
    "that",
    "new",
]


def topic_texts(path: Path, rows: int = 400, seed: int = 0) -> Path:
    """Sentences from two topic vocabularies plus common words: a text classification set."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for index in range(rows):
        topic = ("sport", "science")[index % 2]
        words = list(rng.choice(TOPICS[topic], rng.integers(3, 7)))
        words += list(rng.choice(COMMON, rng.integers(4, 10)))
        other = "science" if topic == "sport" else "sport"
        words += list(rng.choice(TOPICS[other], rng.integers(0, 3)))  # some noise
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
        labels.append(topic)
    _write(pd.DataFrame({"text": texts, "topic": labels}), path)
    return path


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)


def _idx(path: Path, array: np.ndarray) -> None:
    """The IDX format of the MNIST files: a magic number, the sizes, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def mnist_files(root: Path, name: str = "MNIST", train: int = 1200, test: int = 300) -> Path:
    """scikit-learn's real digits, upscaled to 28×28, written as torchvision's MNIST raw files."""
    digits = load_digits()
    images = np.stack(
        [
            np.asarray(Image.fromarray((d * (255 / 16)).astype(np.uint8)).resize((28, 28)))
            for d in digits.images[: train + test]
        ]
    )
    labels = digits.target[: train + test]
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    _idx(raw / "train-images-idx3-ubyte", images[:train])
    _idx(raw / "train-labels-idx1-ubyte", labels[:train])
    _idx(raw / "t10k-images-idx3-ubyte", images[train:])
    _idx(raw / "t10k-labels-idx1-ubyte", labels[train:])
    return root
