"""Reading tables (CSV, TSV, Parquet, JSON Lines) into pandas, and naming a row for messages."""

from __future__ import annotations

import contextlib
import csv
import ctypes
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from easytrain.errors import RecipeError, RunFailed, suggest

PARQUET = (".parquet", ".pq")
JSON_LINES = (".jsonl", ".ndjson")
# pandas took 2 minutes and 4.4 GB just to read the header of a million-column CSV, and the
# per-column encoding grows faster than the columns (30,000 took 40 s); so wider files are refused
# from their first line.
MAX_COLUMNS = 10_000
HEADER_BYTES = 4_000_000  # the most of the first line read to count its columns


def read_table(path: Path) -> pd.DataFrame:
    """The whole file as a DataFrame; its index is the row's position in the file."""
    suffix = path.suffix.lower()
    _refuse_wide(path, suffix)
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
    except UnicodeDecodeError as exc:
        raise RunFailed(
            f"{_first_bad_line(path)} is not UTF-8 text ({exc.reason}); save it as UTF-8"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise RunFailed(f"{path}: cannot read it as {_kind(suffix)}: {exc}") from None
    except OSError as exc:
        raise RunFailed(f"{path}: cannot read it: {exc.strerror or exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    trim_heap()
    return frame.reset_index(drop=True)


def trim_heap() -> None:
    """Give the memory freed since the last call back to the system. glibc keeps small freed
    blocks in its heap: pandas' CSV parser left 120 MB there after a 1,000,000-row file, which
    counted against the peak of everything built after it. A no-op where glibc is not the C
    library."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _refuse_wide(path: Path, suffix: str) -> None:
    """A RunFailed for a file with more than MAX_COLUMNS columns, told from its first line."""
    try:
        if suffix in PARQUET:
            import pyarrow.parquet as pq

            columns = len(pq.read_schema(path).names)
        else:
            with path.open("rb") as file:
                line = file.readline(HEADER_BYTES)
            if len(line) == HEADER_BYTES and not line.endswith(b"\n"):
                raise RunFailed(
                    f"{path}: the first line is over {HEADER_BYTES:,} bytes long; easytrain "
                    f"reads tables of up to {MAX_COLUMNS:,} columns"
                )
            text = line.decode("utf-8", errors="replace")
            if suffix in JSON_LINES:
                columns = len(json.loads(text)) if text.strip() else 0
            else:
                delimiter = "\t" if suffix == ".tsv" else ","
                columns = len(next(csv.reader([text], delimiter=delimiter), []))
    except (ImportError, OSError, ValueError, TypeError, csv.Error):
        return  # pandas, reading the file, says what is wrong with it
    if columns > MAX_COLUMNS:
        raise RunFailed(
            f"{path}: {columns:,} columns; easytrain reads tables of up to {MAX_COLUMNS:,} columns"
        )


def _first_bad_line(path: Path) -> str:
    """'file:line' of the first line that is not UTF-8 (a character never spans a line break)."""
    with path.open("rb") as file:
        for number, line in enumerate(file, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return f"{path}:{number}"
    return str(path)


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
