"""Sample data for the shipped recipes: what `easytrain recipes copy NAME --with-data` writes.

Each sample is real data under a licence that allows shipping it (see data/README.md): small
files that ship with easytrain, image folders written from scikit-learn's handwritten digits,
and MNIST's four original files, which only a clone of the repository has (the package leaves
out their 11 MB; the recipe downloads them instead). A sample goes where the recipe looks for
it, relative to the current folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from easytrain.errors import RecipeError

Writer = Callable[[Path], int]  # writes the sample at a path; returns how many files


def samples_dir() -> Path:
    package = Path(__file__).parent.parent
    packaged = package / "samples"  # inside an installed wheel
    return packaged if packaged.is_dir() else package.parent / "data"  # a checkout


def _copy(name: str) -> Writer:
    def write(target: Path) -> int:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(samples_dir() / name, target)
        return 1

    return write


def _digit_images(target: Path) -> int:
    """scikit-learn's 1,797 handwritten digits (8×8, 17 grey levels) as PNG class folders 0–9."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = target / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * (255 / 16)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:04d}.png")
    return len(digits.images)


def _mnist_files() -> list[Path]:
    return sorted((samples_dir() / "MNIST" / "raw").glob("*-ubyte.gz"))


def _mnist(target: Path) -> int:
    """MNIST's original .gz files where torchvision looks: it checks their MD5 and unpacks them."""
    target.mkdir(parents=True, exist_ok=True)
    for path in _mnist_files():
        shutil.copyfile(path, target / path.name)
    return len(_mnist_files())


# the data path a shipped recipe names → what writes a sample there
SAMPLES: dict[str, tuple[str, Writer]] = {
    "data/penguins.csv": ("the Palmer penguins (CC0)", _copy("penguins.csv")),
    "data/reviews.csv": ("short labelled reviews (CC0)", _copy("reviews.csv")),
    "data/chat.jsonl": ("short chats in the messages format (CC0)", _copy("chat.jsonl")),
    "data/cats-vs-dogs/train": ("scikit-learn's handwritten digits as PNGs", _digit_images),
    "data/images/train": ("scikit-learn's handwritten digits as PNGs", _digit_images),
    "data/MNIST/raw": ("MNIST's four original files (CC BY-SA 3.0)", _mnist),
}


def sample_for(recipe: Path) -> tuple[str, str, Writer] | None:
    """(data path, what it is, writer) for a shipped recipe that reads a file; None otherwise."""
    data = yaml.safe_load(recipe.read_text(encoding="utf-8")).get("data") or {}
    path = data.get("path")
    if data.get("source") == "torchvision":  # where torchvision looks for the files
        path = f"{data.get('root', 'data')}/{data.get('name')}/raw"
        if path == "data/MNIST/raw" and not _mnist_files():
            return None  # an installed package: the recipe downloads MNIST
    if path in SAMPLES:
        what, writer = SAMPLES[path]
        return path, what, writer
    return None


def write_sample(recipe: Path, force: bool = False) -> str:
    """Write the recipe's sample data into the current folder; a line saying what was written."""
    found = sample_for(recipe)
    if found is None:
        if "download: true" in recipe.read_text(encoding="utf-8"):
            return (
                f"{recipe.stem}: its data is not in the package; the recipe downloads it on its "
                "first run (data.download: true; a clone of the repository has MNIST in data/)"
            )
        return f"{recipe.stem} needs no sample data: its data comes from a package or a download"
    path, what, writer = found
    target = Path(path)
    if target.exists() and not force:
        raise RecipeError(f"{target} exists; pass --force to overwrite it")
    if target.is_dir():
        shutil.rmtree(target)
    count = writer(target)
    return f"wrote {what} → {target} ({count} file{'s' if count != 1 else ''})"
