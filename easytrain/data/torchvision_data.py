"""`data.source: torchvision`: MNIST, FashionMNIST, KMNIST, CIFAR10, CIFAR100 and SVHN by name.

The official test split is kept as the test split; validation is carved from the training split.
Nothing is downloaded unless the recipe says `download: true`; when the files are missing, the
error says which files to put where (derived from torchvision's own file lists).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision import datasets

from easytrain.config.data import TorchvisionData
from easytrain.data.raw import RawData
from easytrain.errors import RecipeError, RunFailed


def _unpack_local(cls: Any, root: Path) -> None:
    """Unpack the MNIST family's .gz files that are already in raw/ and pass torchvision's MD5
    check: what `download: true` does with files it finds, without any network access."""
    from torchvision.datasets.utils import check_integrity, extract_archive

    raw = root / cls.__name__ / "raw"
    for name, md5 in getattr(cls, "resources", []):
        packed = raw / name
        if not (raw / packed.stem).exists() and check_integrity(str(packed), md5):
            extract_archive(str(packed))


def _open(cls: type, config: TorchvisionData, train: bool) -> Any:
    if cls is datasets.SVHN:
        return cls(str(config.root), split="train" if train else "test", download=config.download)
    return cls(str(config.root), train=train, download=config.download)


def expected_files(cls: Any, root: Path) -> str:
    """Where torchvision looks for the files of `cls`, in words a person can act on."""
    if hasattr(cls, "resources"):  # the MNIST family: unpacked idx files
        folder = root / cls.__name__ / "raw"
        names = [os.path.splitext(os.path.basename(name))[0] for name, _ in cls.resources]
        return f"put {', '.join(names)} (the .gz files, unpacked or as they are) in {folder}/"
    if hasattr(cls, "base_folder"):  # CIFAR: one archive, unpacked
        names = [name for name, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
        return (
            f"unpack {cls.filename} into {root}/, so that {root / cls.base_folder}/ holds "
            f"{', '.join(names)}"
        )
    names = [cls.split_list[split][1] for split in ("train", "test")]  # SVHN
    return f"put {', '.join(names)} in {root}/"


def _arrays(dataset: Any, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (n, channels, height, width), int64 labels) of one torchvision data set,
    its first `limit` examples when given (data.limit)."""
    data = dataset.data[:limit]
    images = data.numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
    if images.ndim == 3:  # MNIST family: (n, 28, 28)
        images = images[:, None]
    elif images.shape[-1] == 3:  # CIFAR: (n, 32, 32, 3)
        images = images.transpose(0, 3, 1, 2)
    labels = getattr(dataset, "targets", None)
    labels = (dataset.labels if labels is None else labels)[:limit]
    labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    return np.ascontiguousarray(images, dtype=np.uint8), labels.astype(np.int64)


def load(config: TorchvisionData) -> RawData:
    cls = getattr(datasets, config.name)
    if not config.download:
        _unpack_local(cls, config.root)
    try:
        train, test = _open(cls, config, train=True), _open(cls, config, train=False)
    except (RuntimeError, OSError) as exc:
        where = expected_files(cls, config.root)
        if not config.download:
            raise RecipeError(
                f"data.root: {config.name} is not in {config.root}/: {where}; "
                "or set data.download: true to fetch it (needs network access)"
            ) from None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailed(
            f"{config.name}: the download into {config.root}/ failed ({reason}); {where} yourself"
        ) from None
    x_train, y_train = _arrays(train, config.limit)
    x_test, y_test = _arrays(test, config.limit)
    classes = [str(c) for c in getattr(train, "classes", None) or range(int(y_train.max()) + 1)]
    _, channels, height, width = x_train.shape
    return RawData(
        np.concatenate([x_train, x_test]),
        np.concatenate([y_train, y_test]),
        "classification",
        classes=classes,
        description=f"torchvision {config.name}",
        encoding={"image": {"channels": int(channels), "size": [int(height), int(width)]}},
        fixed={"test": np.arange(len(y_train), len(y_train) + len(y_test))},
        locate=lambda i: (
            f"{config.name} training example {i}"
            if i < len(y_train)
            else f"{config.name} test example {i - len(y_train)}"
        ),
    )
