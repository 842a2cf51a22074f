"""CSV tables: numeric columns as they are, other columns one-hot encoded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from easytrain.config.data import TableData
from easytrain.data.raw import RawData
from easytrain.errors import RecipeError, RunFailed

MAX_CLASSES_FOR_NUMBERS = 20  # an integer target with at most this many values is a class label


def _infer_task(target: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    whole = pd.api.types.is_integer_dtype(target) or bool((target.dropna() % 1 == 0).all())
    return (
        "classification" if whole and target.nunique() <= MAX_CLASSES_FOR_NUMBERS else "regression"
    )


def load(config: TableData) -> RawData:
    try:
        frame = pd.read_csv(config.path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise RunFailed(f"{config.path}: cannot read the CSV: {exc}") from None
    if config.target not in frame.columns:
        raise RecipeError(
            f"{config.path}: no column '{config.target}' (data.target); "
            f"the columns are: {', '.join(map(str, frame.columns))}"
        )
    frame = frame.dropna(subset=[config.target])
    features = config.features or [c for c in frame.columns if c != config.target]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise RecipeError(f"{config.path}: no column(s) {', '.join(missing)} (data.features)")
    target = frame[config.target]
    task = _infer_task(target) if config.task == "auto" else config.task
    inputs = frame[features]
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(inputs[c]) and not pd.api.types.is_bool_dtype(inputs[c])
    ]
    categorical = [c for c in features if c not in numeric]
    medians = inputs[numeric].median()
    encoded = pd.get_dummies(
        inputs[categorical].astype("string").fillna("<missing>"), dtype=np.float32
    )
    x = pd.concat([inputs[numeric].fillna(medians).astype(np.float32), encoded], axis=1)
    encoding = {
        "numeric": numeric,
        "medians": {k: float(v) for k, v in medians.items()},
        "categorical": {
            c: sorted(inputs[c].astype("string").fillna("<missing>").unique().tolist())
            for c in categorical
        },
    }
    if task == "classification":
        codes, classes = pd.factorize(target.astype("string"), sort=True)
        if len(classes) < 2:
            raise RunFailed(
                f"{config.path}: the target column '{config.target}' has a single value; nothing to learn"
            )
        y = codes.astype(np.int64)
        class_names: list[str] | None = [str(c) for c in classes]
    else:
        if not pd.api.types.is_numeric_dtype(target):
            raise RunFailed(
                f"{config.path}: task is regression but '{config.target}' is not numeric"
            )
        y, class_names = target.to_numpy(np.float32), None
    return RawData(
        x.to_numpy(np.float32),
        y,
        task,
        classes=class_names,
        feature_names=[str(c) for c in x.columns],
        description=str(config.path),
        encoding=encoding,
    )
