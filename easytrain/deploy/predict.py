"""`easytrain predict RUN_DIR INPUT...`: answers for raw inputs, prepared as the run prepared its data.

Inputs follow the run's data: image files and folders; table files (CSV, TSV, Parquet, JSON
Lines: every row, extra columns such as the target ignored); texts (--text, a .txt file with one
per line, or a table file with the run's text column). Answers go to a CSV or JSON file, or as
JSON lines to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from easytrain.data.frames import JSON_LINES, PARQUET, numbers_only, read_table, row_locator
from easytrain.data.images import EXTENSIONS
from easytrain.deploy.predictor import Predictor
from easytrain.errors import RecipeError

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

    from easytrain.deploy.inputs import Preparer

TABLES = (".csv", ".tsv", *PARQUET, *JSON_LINES)
OUTPUTS = (".csv", ".json", *JSON_LINES)


@dataclass
class Source:
    """Inputs from one place: their names, and a way to prepare a slice of them."""

    names: list[str]
    batch: Callable[[int, int], torch.Tensor]
    # Rows and texts are prepared this many at a time (pandas costs per call, not per row);
    # images one model batch at a time, since decoded images take memory.
    chunk: int = 8192


def _exists(path: Path) -> Path:
    if not path.exists():
        raise RecipeError(f"{path}: no such file or folder")
    return path


def _image_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(_exists, paths):
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in EXTENSIONS
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.suffix.lower() in EXTENSIONS:
            files.append(path)
        else:
            raise RecipeError(
                f"{path}: this run's model reads images: give JPEG, PNG, WebP or BMP files, "
                "or folders of them"
            )
    return files


def _rows(
    prep: Preparer, frame: pd.DataFrame, where: Callable[[int], str], path: str
) -> Callable[[int, int], torch.Tensor]:
    """Rows a:b of a table file, prepared (the frame is bound now, not when called)."""
    return lambda a, b: prep.rows(frame.iloc[a:b], where, path)


def _table(path: Path, what: str, header: bool = True) -> pd.DataFrame:
    """The rows of a table file; header=False: its first line is a row too."""
    if path.suffix.lower() not in TABLES:
        raise RecipeError(
            f"{path}: this run's model reads {what}: give CSV, TSV, Parquet or JSON Lines files"
        )
    return read_table(path, header=header)


def sources(predictor: Predictor, paths: list[Path], texts: list[str]) -> list[Source]:
    """The inputs of the command line, as the run's kind of data."""
    prep, kind = predictor.prepare, predictor.run.kind
    if texts and kind != "text":
        raise RecipeError(f"--text: this run's model reads {kind}, not text")
    found: list[Source] = []
    if kind == "image":
        files = _image_files(paths)
        names = [str(f) for f in files]
        found.append(Source(names, lambda a, b: prep.images(files[a:b], names[a:b]), chunk=0))
    elif kind == "text":
        # an argument that is no file, and not named like one, is a text: predict RUN "so good"
        inline = [p for p in paths if not p.exists() and p.suffix.lower() not in (*TABLES, ".txt")]
        paths = [p for p in paths if p not in inline]
        if texts or inline:
            names = [f"--text {i + 1}" for i in range(len(texts))]
            names += [f"text {i + 1}" for i in range(len(inline))]
            given = [*texts, *(str(p) for p in inline)]
            found.append(Source(names, lambda a, b: prep.texts(given[a:b], names[a:b])))
        found += [_text_file(predictor, _exists(path)) for path in paths]
    else:
        what = "table rows" if kind == "table" else "rows of numbers"
        for path in map(_exists, paths):
            # features without names (digits): a CSV whose first line is all numbers has no
            # header, and that line is the first row (pandas took it for the column names)
            headerless = kind == "features" and not prep.columns() and numbers_only(path)
            frame = _table(path, what, header=not headerless)
            where = row_locator(path, header=not headerless)
            names = [where(i) for i in range(len(frame))]
            found.append(Source(names, _rows(prep, frame, where, str(path))))
    if not any(source.names for source in found):
        raise RecipeError(
            "no inputs: give files or folders" + (", or --text" if kind == "text" else "")
        )
    return found


def _text_file(predictor: Predictor, path: Path) -> Source:
    """A .txt file (one text per non-empty line) or a table file with the run's text column."""
    prep = predictor.prepare
    if path.suffix.lower() in TABLES:
        column = prep.encoding["text"]["column"]
        frame = read_table(path)
        if column not in frame.columns:
            raise RecipeError(f"{path}: no column '{column}', the text column the run trained on")
        where = row_locator(path)
        names = [where(i) for i in range(len(frame))]
        texts = ["" if v is None or v != v else str(v) for v in frame[column]]  # NaN: empty
    else:
        lines = path.read_text().splitlines()
        kept = [(i, line) for i, line in enumerate(lines) if line.strip()]
        names = [f"{path}:{i + 1}" for i, _ in kept]
        texts = [line for _, line in kept]
    return Source(names, lambda a, b: prep.texts(texts[a:b], names[a:b]))


def predict(predictor: Predictor, found: list[Source], batch_size: int) -> Iterator[dict[str, Any]]:
    """Answers in input order, batch by batch, with a progress bar on a terminal."""
    total = sum(len(source.names) for source in found)
    with _progress(total) as advance:
        for source in found:
            chunk = max(source.chunk, batch_size)
            for first in range(0, len(source.names), chunk):
                prepared = source.batch(first, min(first + chunk, len(source.names)))
                for start in range(0, len(prepared), batch_size):
                    out = predictor.outputs(prepared[start : start + batch_size])
                    names = source.names[first + start : first + start + len(out)]
                    for name, answer in zip(names, predictor.answers(out), strict=True):
                        yield {"input": name, **answer}
                    advance(len(out))


class _progress:
    """A rich progress bar on stderr when it is a terminal and there is more than a moment's work."""

    def __init__(self, total: int):
        self.total = total
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[int], None]:
        if sys.stderr.isatty() and self.total > 256:
            from rich.progress import Progress

            bar = self.bar = Progress(transient=True)
            bar.start()
            task = bar.add_task("predict", total=self.total)
            return lambda n: bar.advance(task, n)
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in OUTPUTS:
        raise RecipeError(f"--out {out}: give a .csv, .json or .jsonl file")


def write(rows: Iterator[dict[str, Any]], out: Path | None) -> int:
    """CSV or JSON by out's suffix; JSON lines to stdout without out. Returns the count."""
    if out is None:
        count = 0
        for row in rows:
            print(json.dumps(row), flush=False)
            count += 1
        return count
    table = list(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        pd.DataFrame([_flat(row) for row in table]).to_csv(out, index=False)
    elif suffix == ".json":
        out.write_text(json.dumps(table, indent=2) + "\n")
    else:
        out.write_text("".join(json.dumps(row) + "\n" for row in table))
    return len(table)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: probabilities as p_<class> columns, several values as value_<i>."""
    flat = {k: v for k, v in row.items() if k not in ("probabilities", "value")}
    for name, p in row.get("probabilities", {}).items():
        flat[f"p_{name}"] = p
    value = row.get("value")
    if isinstance(value, list):
        flat |= {f"value_{i}": v for i, v in enumerate(value)}
    elif value is not None:
        flat["value"] = value
    return flat


def predict_run(
    run_dir: Path,
    paths: list[Path],
    texts: list[str],
    out: Path | None,
    format: str | None,
    batch_size: int,
    allow_code: bool,
) -> None:
    from easytrain.deploy.loaded import load_run

    check_out(out)
    predictor = Predictor(load_run(run_dir, allow_code), format)
    count = write(predict(predictor, sources(predictor, paths, texts), batch_size), out)
    if out is not None:
        print(f"{count} prediction(s) → {out}", file=sys.stderr)
