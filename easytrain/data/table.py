"""`data.source: table`: one example per row of a CSV, TSV, Parquet or JSON Lines file.

Loading checks the columns and the target now; the features are encoded later, by an encoder
fitted on the training rows only (data/encoders.py), once the preprocess stage has split them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from easytrain.config.data import TableData, Task
from easytrain.data.encoders import TableEncoder
from easytrain.data.frames import read_table, require_columns, row_locator, trim_heap
from easytrain.data.raw import Encoded, RawData
from easytrain.errors import RecipeError, RunFailed
from easytrain.metrics import TaskKind

MAX_CLASSES_FOR_NUMBERS = 20  # an integer target with at most this many values is a class label
MOSTLY_NUMBERS = 0.9  # a text column whose values are mostly numbers is probably a typo'd number
FLOAT32_MAX = float(np.finfo(np.float32).max)  # models read float32: 1e308 became inf there


def infer_task(target: pd.Series) -> TaskKind:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    whole = pd.api.types.is_integer_dtype(target) or bool((target.dropna() % 1 == 0).all())
    return (
        "classification" if whole and target.nunique() <= MAX_CLASSES_FOR_NUMBERS else "regression"
    )


def as_numbers(values: pd.Series, where: Callable[[int], str], what: str) -> pd.Series:
    """The column as numbers, or a RunFailed naming the first cell that is not a finite number
    (an inf is standardized into NaN, and its row's predictions and metrics with it), or that
    is beyond float32's range (finite as read, inf once the model's inputs are made)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(np.float32)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values  # kept as read: a float64 copy of every column would cost memory only
    elif _is_boolean(values):
        return values.map({True: 1.0, False: 0.0}).astype(np.float64)
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    bad = (values.notna() & numbers.isna()) | np.isinf(numbers)
    if bad.any():
        row, value = bad.idxmax(), values[bad.idxmax()]
        shown = repr(value) if isinstance(value, str) else value
        raise RunFailed(f"{where(row)}: {what} holds {shown}, which is not a finite number")
    if pd.api.types.is_float_dtype(numbers):  # integers of 64 bits stay under it
        huge = np.abs(numbers) > FLOAT32_MAX
        if huge.any():
            row = huge.idxmax()
            raise RunFailed(
                f"{where(row)}: {what} holds {values[row]}, beyond the range of 32-bit floats "
                f"(±{FLOAT32_MAX:.4g}) that the model computes in"
            )
    return numbers


def _is_boolean(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and all(isinstance(v, bool | np.bool_) for v in present.head(1000))


def _column_kinds(
    frame: pd.DataFrame,
    config: TableData,
    features: list[str],
    notes: list[str],
    where: Callable[[int], str],
) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature columns; listed ones as listed, the rest by their values."""
    listed_numeric = set(config.numeric_columns or [])
    listed_categorical = set(config.categorical_columns or [])
    both = listed_numeric & listed_categorical
    if both:
        raise RecipeError(
            f"column(s) {', '.join(sorted(both))} are in both data.numeric_columns and "
            "data.categorical_columns"
        )
    numeric, categorical = [], []
    for column in features:
        values = frame[column]
        if column in listed_categorical:
            categorical.append(column)
        elif (
            column in listed_numeric or pd.api.types.is_numeric_dtype(values) or _is_boolean(values)
        ):
            listed = " (data.numeric_columns)" if column in listed_numeric else ""
            numbers = as_numbers(values, where, f"column '{column}'{listed}")
            if numbers is not values:
                frame[column] = numbers
            numeric.append(column)
        else:
            categorical.append(column)
            _warn_if_mostly_numbers(values, column, notes, where)
    return numeric, categorical


def _warn_if_mostly_numbers(
    values: pd.Series, column: str, notes: list[str], where: Callable[[int], str]
) -> None:
    present = values.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().mean() >= MOSTLY_NUMBERS:
        row = numbers.isna().idxmax()
        notes.append(
            f"warning: column '{column}' is read as categories because of {present[row]!r} at "
            f"{where(row)}; list it in data.numeric_columns to make that an error"
        )


def target_values(
    frame: pd.DataFrame, column: str, task: Task, path: Path, where: Callable[[int], str]
) -> tuple[np.ndarray, TaskKind, list[str] | None]:
    """(y, task, class names) of the target column; task 'auto' is inferred from its values."""
    target = frame[column]
    kind = infer_task(target) if task == "auto" else task
    if kind == "regression":
        values = as_numbers(target, where, f"the target column '{column}'")
        return values.to_numpy(np.float32), kind, None
    codes, classes = pd.factorize(target.astype("string"), sort=True)
    if len(classes) < 2:
        values = f"a single value ({classes[0]!r})" if len(classes) else "no values"
        raise RunFailed(
            f"{path}: the target column '{column}' has {values}; there is nothing to learn"
        )
    return codes.astype(np.int64), kind, [str(c) for c in classes]


def drop_empty_targets(frame: pd.DataFrame, column: str, notes: list[str]) -> pd.DataFrame:
    empty = frame[column].isna()
    if empty.any():
        notes.append(f"warning: {int(empty.sum())} row(s) without a target are left out")
        return frame[~empty]
    return frame


def load(config: TableData) -> RawData:
    frame = read_table(config.path)
    where_in_file = row_locator(config.path)
    features = config.features or [c for c in frame.columns if c != config.target]
    require_columns(
        frame,
        config.path,
        {
            "data.target": [config.target],
            "data.features": config.features or [],
            "data.numeric_columns": config.numeric_columns or [],
            "data.categorical_columns": config.categorical_columns or [],
        },
    )
    if config.target in features:
        raise RecipeError(f"data.features lists the target column '{config.target}'")
    notes: list[str] = []
    frame = drop_empty_targets(frame, config.target, notes)
    frame = frame[[*features, config.target]]  # copy-on-write: the columns changed below are new
    numeric, categorical = _column_kinds(frame, config, features, notes, where_in_file)
    if config.missing == "drop":
        incomplete = frame[features].isna().any(axis=1)
        if incomplete.any():
            notes.append(
                f"{int(incomplete.sum())} row(s) with empty cells are left out (missing: drop)"
            )
            frame = frame[~incomplete]
    if config.missing == "constant" and numeric:
        try:
            float(config.fill_value)  # type: ignore[arg-type]
        except ValueError:
            raise RecipeError(
                f"data.fill_value {config.fill_value!r} is not a number, but column "
                f"'{numeric[0]}' is numeric"
            ) from None
    y, task, classes = target_values(frame, config.target, config.task, config.path, where_in_file)
    rows = frame.index.to_numpy()
    encoder = TableEncoder(
        numeric, categorical, config.missing, config.fill_value, config.categorical
    )

    def encode(train: np.ndarray, wanted: np.ndarray | None = None) -> Encoded:
        encoder.fit(frame, train)
        trim_heap()  # the fit's temporaries, before the big matrix is allocated
        return Encoded(
            encoder.transform(frame, wanted), {"table": encoder.to_json()}, encoder.feature_names
        )

    return RawData.of_rows(y, task, classes, config.path, encode, rows, where_in_file, notes)
