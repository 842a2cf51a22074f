"""New data for `easytrain evaluate RUN --data path=…`: every example, prepared with the run's
saved preprocessing (preprocessing.json), as `easytrain predict` prepares it.

Running the preprocess stage on the new file refitted fill values, categories and the vocabulary
on it, so any new table or text was refused as "encoded differently", and it scored a re-carved
share of the file. Here the file's targets are read as the run read its own (the same classes),
its inputs go through deploy/inputs.py's Preparer (unseen categories are unknown, empty cells
get the run's fills, unknown words the unknown id), and all of it is the split evaluated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from easytrain.config.data import ImageFolderData, TableData, TextData
from easytrain.config.recipe import Recipe
from easytrain.data.bundle import DataBundle, Split
from easytrain.errors import RunFailed

SOURCES = ("table", "text", "image_folder")


def new_data_of(run_dir: Path, recipe: Recipe, overrides: list[str]) -> DataBundle | None:
    """The new data of `evaluate RUN --data path=… …` (recipe: the run's, with --data applied),
    or None where the preprocess stage prepares it as before: no new path (another split of the
    run's own data), a source that is no file of examples, or a run without preprocessing.json."""
    from easytrain.deploy.card import DATA_CARD, read_json
    from easytrain.pipeline.runfiles import run_file

    if not any(item.startswith("path=") for item in overrides):
        return None
    card = read_json(run_file(run_dir, DATA_CARD))
    if card is None or recipe.data.source not in SOURCES:
        return None
    return new_data(recipe, card, run_dir)


def new_data(recipe: Recipe, card: dict[str, Any], run_dir: Path | None = None) -> DataBundle:
    """The data `recipe.data` names, every example of it, on the run's preprocessing (card); it
    is both val and test: whichever split is evaluated scores all of it."""
    from easytrain.deploy.inputs import Preparer

    config = recipe.data
    assert isinstance(config, TableData | TextData | ImageFolderData), "SOURCES: files only"
    prepare = Preparer(card, run_dir)  # run_dir: a pretrained model's saved tokenizer
    if config.source == "image_folder":
        x, y = _images(config, card, prepare)
    else:
        x, y = _rows(config, card, prepare)
    evaluated = Split(x, y)
    return DataBundle(
        train=Split(x[:0], y[:0]),
        val=evaluated,
        test=evaluated,
        task=card["task"],
        input_shape=tuple(card["input_shape"]),
        classes=card["classes"],
        feature_names=card["feature_names"],
        description=str(config.path),
        preprocessing=card["preprocessing"],
    )


def _rows(config: Any, card: dict[str, Any], prepare: Any) -> tuple[torch.Tensor, torch.Tensor]:
    from easytrain.data.frames import read_table, require_columns, row_locator

    frame = read_table(config.path)
    where = row_locator(config.path)
    require_columns(frame, config.path, {"data.target": [config.target]})
    frame = frame[frame[config.target].notna()]  # a row without a target cannot be scored
    if frame.empty:
        raise RunFailed(f"{config.path}: no row has a value in the target column")
    y = _targets(frame[config.target], card, where, f"column '{config.target}'")
    if config.source == "text":
        column = config.text
        require_columns(frame, config.path, {"data.text": [column]})
        texts = ["" if pd.isna(v) else str(v) for v in frame[column]]
        return prepare.texts(texts, [where(i) for i in frame.index]), y
    return prepare.rows(frame, where, str(config.path)), y


def _images(config: Any, card: dict[str, Any], prepare: Any) -> tuple[torch.Tensor, torch.Tensor]:
    from easytrain.data.image_folder import class_folders

    files, labels = [], []
    for name, stamps in class_folders(config.path, "data.path").items():
        files += [config.path / name / stamp[0] for stamp in stamps]
        labels += [name] * len(stamps)
    y = _targets(pd.Series(labels), card, lambda i: str(files[i]), "its class folder")
    return prepare.images(files, [str(f) for f in files]), y


def _targets(values: pd.Series, card: dict[str, Any], where: Any, what: str) -> torch.Tensor:
    """The targets as the run's labels: class indices of its classes, or regression values."""
    from easytrain.data.table import as_numbers

    classes = card["classes"]
    if classes is None:
        numbers = as_numbers(values, where, what).to_numpy(np.float32)
        return torch.from_numpy(numbers.reshape(len(values), *card["target_shape"]))
    index = {name: i for i, name in enumerate(classes)}
    labels = values.astype("string")
    unknown = ~labels.isin(list(index))
    if unknown.any():
        row = unknown.idxmax()
        raise RunFailed(
            f"{where(row)}: {what} holds {labels[row]!r}, not one of the run's classes "
            f"({', '.join(classes)}); the model has no output for it"
        )
    return torch.tensor([index[label] for label in labels], dtype=torch.int64)
