"""Reading tables (CSV, TSV, Parquet, JSON Lines) into pandas, and naming a row for messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from easytrain.errors import RecipeError, RunFailed
from easytrain.registry import suggest

PARQUET = (".parquet", ".pq")
JSON_LINES = (".jsonl", ".ndjson")


def read_table(path: Path) -> pd.DataFrame:
    """The whole file as a DataFrame; its index is the row's position in the file."""
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET:
            try:
                import pyarrow  # noqa: F401  pandas reads Parquet through it
            except ImportError:
                raise RecipeError(
                    f"{path}: reading Parquet needs pyarrow: pip install pyarrow "
                    "(or pip install 'easytrain[parquet]')"
                ) from None
            frame = pd.read_parquet(path)
        elif suffix in JSON_LINES:
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise RunFailed(f"{path}: cannot read it as {_kind(suffix)}: {exc}") from None
    except OSError as exc:
        raise RunFailed(f"{path}: cannot read it: {exc.strerror or exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _kind(suffix: str) -> str:
    if suffix in PARQUET:
        return "Parquet"
    if suffix in JSON_LINES:
        return "JSON Lines"
    return "TSV" if suffix == ".tsv" else "CSV"


def row_locator(path: Path) -> Callable[[int], str]:
    """File row (0-based, as read) → 'data.csv:14' (the line, after the header) or 'data.parquet row 13'."""
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        return lambda row: f"{path} row {row + 1}"
    first_line = 1 if suffix in JSON_LINES else 2  # CSV/TSV: line 1 is the header
    return lambda row: f"{path}:{row + first_line}"


def require_columns(frame: pd.DataFrame, path: Path, wanted: dict[str, list[str]]) -> None:
    """Every column named in the recipe exists: one RecipeError naming all that do not."""
    columns = list(frame.columns)
    problems = [
        f"{path}: no column '{name}' ({key}){suggest(name, columns)}"
        for key, names in wanted.items()
        for name in names
        if name not in columns
    ]
    if problems:
        problems.append(f"  the columns are: {', '.join(columns)}")
        raise RecipeError(problems)
