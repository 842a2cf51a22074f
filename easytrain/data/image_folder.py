"""`data.source: image_folder`: one sub-folder per class, optionally separate val/test folders.

Images are decoded once into uint8 tensors and cached on disk (data/cache.py); the preprocess
stage turns them into floats. Unreadable files are all listed in one error, or skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from easytrain.config.data import ImageFolderData
from easytrain.data import cache
from easytrain.data.images import EXTENSIONS, Decoded, decode_all
from easytrain.data.raw import RawData
from easytrain.data.stream import STREAM_ABOVE, physical_memory
from easytrain.errors import RecipeError, RunFailed, shown

SHOWN = 10  # bad files named in an error; the rest are counted


Stamp = tuple[str, int, int]  # (name relative to its class folder, size, mtime in ns)


def _scan(folder: Path) -> list[Stamp]:
    """The image files under folder (sub-folders too; hidden ones skipped), sorted, stamped.

    os.scandir, not pathlib: a listing of 20,000 files is the whole cost of a cache hit.
    """
    found: list[Stamp] = []
    top = os.stat(folder)
    pending: list[tuple[str, str, tuple[tuple[int, int], ...]]] = [
        ("", str(folder), ((top.st_dev, top.st_ino),))
    ]
    while pending:
        prefix, path, above = pending.pop()  # above: the folders this one is inside
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    real = os.stat(entry.path)
                    if (real.st_dev, real.st_ino) in above:
                        raise RecipeError(
                            f"{shown(entry.path)} is a symbolic link that loops back to a folder "
                            "it is in; remove it (easytrain follows links into sub-folders)"
                        )
                    key = (real.st_dev, real.st_ino)
                    pending.append((f"{prefix}{entry.name}/", entry.path, (*above, key)))
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in EXTENSIONS:
                    stat = entry.stat()
                    found.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
    return sorted(found)


def class_folders(root: Path, key: str) -> dict[str, list[Stamp]]:
    """Class name → its image files, or a RecipeError saying what is wrong with the layout."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        loose = any(p.suffix.lower() in EXTENSIONS for p in root.iterdir())
        raise RecipeError(
            f"{root} ({key}) "
            + ("holds images but no class folders" if loose else "has no class folders")
            + f"; lay it out as {root}/<class>/<image>.png, one folder per class"
        )
    for folder in folders:
        try:
            folder.name.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8: no class name can hold them
            raise RecipeError(
                f"{root} ({key}): the class folder name {shown(folder.name)} is not UTF-8 "
                "text; rename it (it becomes the class label in predictions)"
            ) from None
    classes = {folder.name: _scan(folder) for folder in folders}
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise RecipeError(
            f"{root} ({key}): no JPEG, PNG, WebP or BMP images in "
            + ", ".join(f"{root / name}/" for name in empty)
        )
    return classes


def _layout(config: ImageFolderData) -> tuple[list[str], dict[str, dict[str, list[Stamp]]]]:
    """The class names (from path) and, per split folder given, each class's files."""
    roots = {"train": config.path, "val": config.val, "test": config.test}
    keys = {"train": "data.path", "val": "data.val", "test": "data.test"}
    found = {name: class_folders(root, keys[name]) for name, root in roots.items() if root}
    classes = list(found["train"])
    if len(classes) < 2:
        raise RecipeError(
            f"{config.path} (data.path) has one class folder, '{classes[0]}'; "
            "a classifier needs at least two"
        )
    for name, folders in found.items():
        unknown = [c for c in folders if c not in classes]
        if unknown:
            raise RecipeError(
                f"{roots[name]} ({keys[name]}): class folder(s) {', '.join(unknown)} "
                f"have no counterpart in {config.path} (data.path), so the model cannot learn them"
            )
    return classes, found


def _too_many_bad(bad: list[tuple[str, str]], total: int) -> RunFailed:
    lines = [f"  {path}: {why}" for path, why in bad[:SHOWN]]
    if len(bad) > SHOWN:
        lines.append(f"  … and {len(bad) - SHOWN} more")
    return RunFailed(
        "\n".join(
            [
                f"{len(bad)} of {total} image files cannot be read "
                "(set data.skip_bad_files: true to train without them):",
                *lines,
            ]
        )
    )


def _decode(config: ImageFolderData, files: list[Path], stamps: list, notes: list[str]) -> Decoded:
    """From the cache when it has these files and settings, else decoded (and cached)."""
    size = _size(config.image_size)
    folder = cache.cache_dir(config.cache_dir)
    name = cache.key("images", config.channels, size, stamps)
    entry = cache.load(folder, name) if config.cache else None
    if entry is not None:
        notes.append(f"image cache hit: {folder / name}{cache.SUFFIX}")
        bad = [(str(path), str(why)) for path, why in entry["bad"]]
        decoded = Decoded(entry["images"], entry["good"].tolist(), bad)
    else:
        # Images bigger than a quarter of the memory decode into a mapped file in the cache folder.
        spill = (folder, int(physical_memory() * STREAM_ABOVE))
        decoded = decode_all(files, config.channels, size, spill)
    if decoded.bad and not config.skip_bad_files:  # also for a hit cached by a skipping run
        raise _too_many_bad(decoded.bad, len(files))
    if entry is None and config.cache and decoded.good:
        import torch

        failed = cache.save(
            folder,
            name,
            {
                "images": decoded.images,
                "good": torch.tensor(decoded.good, dtype=torch.int64),
                "bad": [list(b) for b in decoded.bad],
            },
        )
        if failed:
            notes.append(f"warning: image cache not written ({failed})")
    return decoded


def _size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    return (
        (image_size, image_size) if isinstance(image_size, int) else (image_size[0], image_size[1])
    )


def load(config: ImageFolderData) -> RawData:
    classes, found = _layout(config)
    files: list[Path] = []
    labels: list[int] = []
    split_of: list[str] = []
    stamps = []
    roots = {"train": config.path, "val": config.val, "test": config.test}
    for split, folders in found.items():
        for label, name in enumerate(classes):
            entries = folders.get(name, [])
            folder = roots[split] / name  # type: ignore[operator]
            files += [folder / relative for relative, _, _ in entries]
            labels += [label] * len(entries)
            split_of += [split] * len(entries)
            stamps.append((split, name, entries))
    notes: list[str] = []
    decoded = _decode(config, files, stamps, notes)
    if decoded.bad:
        shown = "; ".join(f"{path}: {why}" for path, why in decoded.bad[:3])
        more = f" (and {len(decoded.bad) - 3} more)" if len(decoded.bad) > 3 else ""
        notes.append(f"warning: skipped {len(decoded.bad)} unreadable image(s): {shown}{more}")
    if not decoded.good:
        raise RunFailed(f"{config.path}: none of the {len(files)} image files could be read")
    good = np.asarray(decoded.good, dtype=np.int64)
    kept_files = [files[i] for i in decoded.good]
    where = np.asarray(split_of)[good]
    images = decoded.images
    _, channels, height, width = images.shape
    return RawData(
        images.numpy(),
        np.asarray(labels, dtype=np.int64)[good],
        "classification",
        classes=classes,
        description=f"image folder {config.path}",
        encoding={
            "image": {
                "channels": int(channels),
                "size": [int(height), int(width)],
                "resize": "bilinear, antialiased" if config.image_size else "none",
            }
        },
        fixed={name: np.flatnonzero(where == name) for name in ("val", "test") if name in found},
        locate=lambda i: str(kept_files[i]),
        notes=notes,
    )
