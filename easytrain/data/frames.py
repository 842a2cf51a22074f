"""Reading tables (CSV, TSV, Parquet, JSON Lines) into pandas, and naming a row for messages."""

from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import json
import math
import re
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
BLOCK_BYTES = 16 * 2**20  # JSON Lines are scanned for their keys this much at a time
# a key of a flat JSON object without escapes: "name" followed by a colon
_KEY = re.compile(rb'"([^"\\]*)"\s*:')


def read_table(path: Path, header: bool = True) -> pd.DataFrame:
    """The whole file as a DataFrame; its index is the row's position in the file. header=False:
    a CSV or TSV whose first line is a row too (its columns are named 0, 1, …)."""
    suffix = path.suffix.lower()
    if path.exists() and not (path.is_file() or path.is_dir()):  # opening a FIFO waits forever
        raise RunFailed(f"{path} is not a regular file (a FIFO, device or socket); give a file")
    _refuse_wide(path, suffix, header)
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
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(path, sep=sep, header=0 if header else None)
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


def _refuse_wide(path: Path, suffix: str, header: bool = True) -> None:
    """A RunFailed for a file with more than MAX_COLUMNS columns, told from its first line
    (or, for JSON Lines, from every line), or with a column name twice in its header."""
    try:
        if suffix in PARQUET:
            import pyarrow.parquet as pq

            columns = len(pq.read_schema(path).names)
        elif suffix in JSON_LINES:
            columns = _json_lines_columns(path)
        else:
            first = _header(path, "\t" if suffix == ".tsv" else ",")
            columns = len(first)
            if header:
                _refuse_duplicates(path, first)
    except (ImportError, OSError, ValueError, TypeError, csv.Error):
        return  # pandas, reading the file, says what is wrong with it
    if columns > MAX_COLUMNS:
        raise RunFailed(
            f"{path}: {columns:,} columns; easytrain reads tables of up to {MAX_COLUMNS:,} columns"
        )


def numbers_only(path: Path) -> bool:
    """Whether the first line of a CSV or TSV is all numbers: a row, not a header."""
    if path.suffix.lower() not in (".csv", ".tsv"):
        return False
    try:
        first = _header(path, "\t" if path.suffix.lower() == ".tsv" else ",")
        return bool(first) and all(math.isfinite(float(field)) for field in first)
    except (OSError, ValueError, csv.Error, RunFailed):
        return False


def _refuse_duplicates(path: Path, header: list[str]) -> None:
    """pandas renames a second 'y' to 'y.1', which then became a feature: a duplicated target
    column leaked the label into the inputs."""
    seen: set[str] = set()
    for name in header:
        if name and name in seen and len(header) <= MAX_COLUMNS:  # pandas names empty ones
            raise RunFailed(
                f"{path}:1: the column name {name!r} appears twice in the header; rename or "
                "remove one (pandas would read the second as a column of its own)"
            )
        seen.add(name)


def _header(path: Path, delimiter: str) -> list[str]:
    """The fields of the first record, quoted line breaks included (a quoted newline in the
    header made the first line look narrow)."""
    with path.open("rb") as file:
        head = file.read(HEADER_BYTES)
    text = io.StringIO(head.decode("utf-8", errors="replace"), newline="")
    header = next(csv.reader(text, delimiter=delimiter), [])
    if len(head) == HEADER_BYTES and text.tell() >= len(text.getvalue()):
        raise RunFailed(
            f"{path}: the header is over {HEADER_BYTES:,} bytes long; easytrain "
            f"reads tables of up to {MAX_COLUMNS:,} columns"
        )
    return header


def _json_lines_columns(path: Path) -> int:
    """The top-level keys of all lines together, or a number over MAX_COLUMNS as soon as they
    pass it: pandas makes a column of every key of any line, so a narrow first line said
    nothing. Flat objects without escapes are scanned with a regular expression; a block with
    nested objects or escapes is parsed line by line."""
    keys: set[bytes] = set()
    with path.open("rb") as file:
        rest = b""
        while block := file.read(BLOCK_BYTES):
            block, rest = _whole_lines(rest + block)
            keys |= _keys(block)
            if len(keys) > MAX_COLUMNS:
                break
        keys |= _keys(rest)
    return len(keys)


def _whole_lines(data: bytes) -> tuple[bytes, bytes]:
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _keys(block: bytes) -> set[bytes]:
    if b"\\" not in block and block.count(b"{") <= block.count(b"\n") + 1:
        return set(_KEY.findall(block))
    keys: set[bytes] = set()
    for line in block.splitlines():
        if line.strip():
            found = json.loads(line)
            keys |= {str(key).encode() for key in found} if isinstance(found, dict) else set()
    return keys


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


def row_locator(path: Path, header: bool = True) -> Callable[[int], str]:
    """File row (0-based, as read) → 'data.csv:14' (the line, after the header) or 'data.parquet row 13'."""
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        return lambda row: f"{path} row {row + 1}"
    first_line = 1 if suffix in JSON_LINES or not header else 2  # CSV/TSV: line 1 is the header
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
