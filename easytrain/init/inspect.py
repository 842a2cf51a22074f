"""Look at a data set before any recipe exists: what it is, its columns, its classes, its images.

Only pandas and Pillow are used (never torch): `easytrain init` answers in about a second.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from easytrain.config.data import TABLE_FORMATS
from easytrain.data.frames import read_table
from easytrain.errors import RecipeError, suggest
from easytrain.init.chat import chat_columns, has_chat_source, refuse, words_p95

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")  # what image_folder decodes
TARGET_NAMES = ("target", "label", "labels", "class", "y", "outcome", "category", "sentiment")
TEXT_WORDS = 5.0  # a string column whose values average this many words or more is free text
MAX_CATEGORIES = 50  # a string column with more distinct values than this (and mostly unique) …
UNIQUE_SHARE = 0.5  # … is names or codes, not categories
IMAGES_SAMPLED = 200  # images opened to learn sizes and colour
ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key)$|^id[_\s-]", re.IGNORECASE)
WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class Column:
    name: str
    kind: str  # numeric | boolean | categorical | text | identifier | constant | sparse
    why: str
    distinct: int = 0


@dataclass
class Profile:
    """What init learned about the data; choose.py turns it into decisions."""

    kind: str  # table | text | image_folder
    path: Path
    rows: int
    target: str | None = None
    target_why: str = ""
    task: str = "classification"
    class_counts: dict[str, int] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)
    text_column: str | None = None
    tokens_p95: int = 0  # text: tokens per text, 95th percentile
    distinct_tokens: int = 0
    image_size: tuple[int, int] = (0, 0)  # median height, width of the sampled images
    sizes_agree: bool = True
    channels: int = 3
    chat_columns: dict[str, str] = field(default_factory=dict)  # chat: source key → column

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.kind in ("numeric", "boolean", "categorical")]

    @property
    def imbalance(self) -> float:
        """Largest class count ÷ smallest (1 for balanced data and for regression)."""
        counts = list(self.class_counts.values())
        return max(counts) / max(min(counts), 1) if counts else 1.0


def inspect(path: Path, target: str | None) -> Profile:
    """The data's profile, or a RecipeError that says what init cannot read and why."""
    if not path.exists():
        raise RecipeError(f"{path}: no such file or folder (relative paths start at {Path.cwd()})")
    if path.is_dir():
        return _image_folder(path)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise RecipeError(
            f"{path}: init reads tables ({', '.join(TABLE_FORMATS)}) and image folders "
            "(one sub-folder per class)"
        )
    frame = read_table(path)
    if frame.empty:
        raise RecipeError(f"{path}: the table has no rows")
    columns = chat_columns(frame)
    if columns is not None:
        if not has_chat_source():
            raise refuse(path, columns)
        profile = Profile("chat", path, len(frame), task="chat")
        profile.chat_columns, profile.tokens_p95 = columns, words_p95(frame, columns)
        return profile
    if frame.empty:
        raise RecipeError(f"{path}: the table has no rows")
    name, why = _target(frame, target, path)
    profile = Profile("table", path, len(frame), name, why)
    profile.columns = [_column(frame[c], len(frame)) for c in frame.columns if c != name]
    _describe_target(profile, frame[name].dropna())
    texts = [c for c in profile.columns if c.kind == "text"]
    if len(texts) == 1 and not profile.features:  # the text is all there is to learn from
        profile.kind, profile.text_column = "text", texts[0].name
        _describe_text(profile, frame[texts[0].name])
    return profile


def _target(frame: pd.DataFrame, given: str | None, path: Path) -> tuple[str, str]:
    columns = [str(c) for c in frame.columns]
    if given is not None:
        if given not in columns:
            raise RecipeError(
                f"--target: {path} has no column '{given}'{suggest(given, columns)}; "
                f"its columns: {', '.join(columns)}"
            )
        return given, "given with --target"
    for name in TARGET_NAMES:
        for column in columns:
            if column.lower() == name:
                return column, f"guessed from its name ('{column}'); pass --target to pick another"
    raise RecipeError(
        f"{path}: which column should the model predict? None is named like a target "
        f"({', '.join(TARGET_NAMES)}); pass --target COLUMN, one of: {', '.join(columns)}"
    )


def _column(values: pd.Series, rows: int) -> Column:
    """The kind of one input column, with the reason in words."""
    name = str(values.name)
    present = values.dropna()
    distinct = int(present.nunique())
    if distinct <= 1:
        return Column(
            name, "constant", "the same value in every row: nothing to learn from", distinct
        )
    if present.size < 0.05 * rows:
        return Column(name, "sparse", f"filled in only {present.size} of {rows} rows", distinct)
    if pd.api.types.is_bool_dtype(values) or _boolean(present):
        return Column(name, "boolean", "true/false: read as 1/0", distinct)
    numeric = pd.api.types.is_numeric_dtype(values)
    unique = distinct >= 0.95 * present.size
    if unique and ID_NAME.search(name) or unique and numeric and _counts_up(present):
        return Column(
            name,
            "identifier",
            "a different value in every row (an id), which says nothing about new rows",
            distinct,
        )
    if numeric:
        return Column(name, "numeric", f"numbers ({distinct} distinct values)", distinct)
    words = present.astype(str).head(2000).map(lambda t: len(WORD.findall(t))).mean()
    if words >= TEXT_WORDS:
        return Column(name, "text", f"free text ({words:.0f} words on average)", distinct)
    if distinct > MAX_CATEGORIES and distinct > UNIQUE_SHARE * present.size:
        return Column(
            name,
            "identifier",
            f"{distinct} distinct short strings in {present.size} "
            "rows: names or codes rather than categories",
            distinct,
        )
    return Column(name, "categorical", f"{distinct} categories", distinct)


def _boolean(present: pd.Series) -> bool:
    values = {str(v).strip().lower() for v in present.unique()[:3]}
    return len(values) == 2 and values <= {"true", "false"}


def _counts_up(present: pd.Series) -> bool:
    """Whole numbers that step up by one row after row: a row number."""
    if not pd.api.types.is_integer_dtype(present):
        return False
    return bool(present.is_monotonic_increasing and (present.diff().dropna() == 1).mean() > 0.9)


def _describe_target(profile: Profile, target: pd.Series) -> None:
    from easytrain.data.table import infer_task

    if target.empty:
        raise RecipeError(f"{profile.path}: the target column '{profile.target}' is empty")
    profile.task = infer_task(target)
    if profile.task == "classification":
        counts = target.astype(str).value_counts()
        if len(counts) < 2:
            raise RecipeError(
                f"{profile.path}: the target column '{profile.target}' has a single value "
                f"({counts.index[0]!r}); there is nothing to learn"
            )
        profile.class_counts = {str(k): int(v) for k, v in counts.sort_index().items()}


def _describe_text(profile: Profile, texts: pd.Series) -> None:
    tokens = texts.dropna().astype(str).str.lower().map(WORD.findall)
    profile.tokens_p95 = int(tokens.map(len).quantile(0.95))
    profile.distinct_tokens = len(Counter(t for row in tokens for t in row))


def _image_folder(path: Path) -> Profile:
    classes = {
        sub.name: sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        for sub in sorted(path.iterdir())
        if sub.is_dir() and not sub.name.startswith(".")
    }
    classes = {name: files for name, files in classes.items() if files}
    if len(classes) < 2:
        raise RecipeError(
            f"{path}: an image folder needs one sub-folder per class, each with images "
            f"({', '.join(IMAGE_SUFFIXES)}); found {len(classes)} such sub-folder(s)"
        )
    profile = Profile("image_folder", path, sum(len(f) for f in classes.values()))
    profile.class_counts = {name: len(files) for name, files in classes.items()}
    profile.target_why = "one class per sub-folder"
    _describe_images(profile, [f for files in classes.values() for f in files])
    return profile


def _describe_images(profile: Profile, files: list[Path]) -> None:
    from PIL import Image

    step = max(1, len(files) // IMAGES_SAMPLED)
    sizes: list[tuple[int, int]] = []
    modes: Counter[str] = Counter()
    for file in files[::step][:IMAGES_SAMPLED]:
        try:
            with Image.open(file) as image:
                sizes.append((image.height, image.width))
                modes[image.mode] += 1
        except OSError:
            continue  # unreadable: the run's skip_bad_files decides what to do with it
    if not sizes:
        raise RecipeError(f"{profile.path}: none of the sampled images could be read")
    heights, widths = sorted(h for h, _ in sizes), sorted(w for _, w in sizes)
    profile.image_size = (heights[len(heights) // 2], widths[len(widths) // 2])
    profile.sizes_agree = len(set(sizes)) == 1
    gray = sum(count for mode, count in modes.items() if mode in ("L", "1", "I;16", "I", "LA"))
    profile.channels = 1 if gray == sum(modes.values()) else 3
