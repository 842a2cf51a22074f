"""Table columns → one float matrix, with fill values and category lists from training rows only.

Numeric columns get their empty cells filled (mean, median, most frequent or a constant).
Categorical columns become one-hot columns or one column of category numbers; a category the
training rows never had goes to an 'unknown' slot, so val, test and predict never fail on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MISSING = "<missing>"  # the category of an empty cell, when missing is mean or median
UNKNOWN = "<unknown>"  # the slot of a category the training rows never had


@dataclass
class TableEncoder:
    numeric: list[str]  # columns already converted to float (NaN = empty)
    categorical: list[str]  # columns of any type, compared as text
    missing: str = "median"
    fill_value: int | float | str | None = None
    style: str = "onehot"  # or "index"
    fills: dict[str, float] = field(default_factory=dict)
    category_fills: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame, train: np.ndarray) -> TableEncoder:
        """Fill values and category lists from the rows `train` of `frame`, a column at a time
        (a copy of the training rows of a big table would cost as much as the table)."""
        for column in self.numeric:
            self.fills[column] = self._number_fill(frame[column].iloc[train])
        for column in self.categorical:
            values = _as_text(frame[column].iloc[train])
            self.category_fills[column] = self._category_fill(values)
            filled = values.fillna(self.category_fills[column])
            self.categories[column] = sorted(filled.unique().tolist())
        return self

    def _number_fill(self, values: pd.Series) -> float:
        present = values.dropna()
        if self.missing == "constant":
            return float(self.fill_value)  # type: ignore[arg-type]
        if present.empty:
            return 0.0
        if self.missing == "mean":
            return float(present.mean())
        if self.missing == "most_frequent":
            return float(present.mode().iloc[0])
        return float(present.median())  # median; drop leaves nothing to fill

    def _category_fill(self, values: pd.Series) -> str:
        if self.missing == "constant":
            return str(self.fill_value)
        if self.missing == "most_frequent" and values.notna().any():
            return str(values.mode().iloc[0])
        return MISSING

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column in self.categorical:
            if self.style == "onehot":
                names += [f"{column}={c}" for c in [*self.categories[column], UNKNOWN]]
            else:
                names.append(column)
        return names

    def transform(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The float matrix of `rows` of `frame` (all when None), in that order; written into
        one array a column at a time, so memory holds the matrix once."""

        def column_of(name: str) -> pd.Series:
            return frame[name] if rows is None else frame[name].iloc[rows]

        count = len(frame) if rows is None else len(rows)
        out = np.zeros((count, len(self.feature_names)), dtype=np.float32)
        for i, column in enumerate(self.numeric):
            out[:, i] = column_of(column).fillna(self.fills[column]).to_numpy(np.float32)
        offset = len(self.numeric)
        positions = np.arange(count)
        for column in self.categorical:
            known = self.categories[column]
            values = _as_text(column_of(column)).fillna(self.category_fills[column])
            codes = pd.Index(known).get_indexer(values).astype(np.int64)  # -1: never seen
            if self.style == "onehot":
                codes[codes < 0] = len(known)  # the unknown slot, last
                out[positions, offset + codes] = 1.0
                offset += len(known) + 1
            else:
                out[:, offset] = codes + 1  # 0 = unknown
                offset += 1
        return out

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> TableEncoder:
        """The fitted encoder back from to_json's output, to encode new rows (predict)."""
        return cls(
            numeric=list(saved["numeric"]),
            categorical=list(saved["categorical"]),
            style=saved["categorical_encoding"],
            fills={column: spec["fill"] for column, spec in saved["numeric"].items()},
            category_fills={column: spec["fill"] for column, spec in saved["categorical"].items()},
            categories={
                column: spec["categories"] for column, spec in saved["categorical"].items()
            },
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "numeric": {column: {"fill": self.fills[column]} for column in self.numeric},
            "categorical": {
                column: {"categories": self.categories[column], "fill": self.category_fills[column]}
                for column in self.categorical
            },
            "categorical_encoding": self.style,
            "unknown": UNKNOWN if self.style == "onehot" else 0,
            "columns": self.feature_names,
        }


def _as_text(values: pd.Series) -> pd.Series:
    """Categories compared as text: 3 and '3' are one category, so predict's CSV rows match.
    A string column (Arrow-backed where pyarrow is installed), not Python objects: a million
    rows of objects cost more memory than the whole encoded table."""
    return values.astype("string")
