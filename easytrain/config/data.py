"""The `data:` section: where examples come from and how they are split. No torch here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from easytrain.config.base import Section

BuiltinName = Literal["digits", "iris", "wine", "breast_cancer", "diabetes"]
TorchvisionName = Literal["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "SVHN"]
Task = Literal["auto", "classification", "regression"]
Missing = Literal["mean", "median", "most_frequent", "constant", "drop"]
TABLE_FORMATS = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")


def _where(path: Path) -> str:
    return f"no such file or folder: {path} (relative paths start at {Path.cwd()})"


def _must_exist(path: Path) -> Path:
    if not path.exists():
        raise ValueError(_where(path))
    return path


def _must_be_folder(path: Path) -> Path:
    if not path.exists():
        raise ValueError(_where(path))
    if not path.is_dir():
        raise ValueError(f"{path} is a file; give the folder that holds one sub-folder per class")
    return path


def _must_be_table(path: Path) -> Path:
    if not path.exists():
        raise ValueError(_where(path))
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file ({', '.join(TABLE_FORMATS)})")
    if path.suffix.lower() not in TABLE_FORMATS:
        raise ValueError(
            f"{path}: cannot tell the format from '{path.suffix}'; "
            f"use one of {', '.join(TABLE_FORMATS)}"
        )
    return path


ExistingPath = Annotated[Path, AfterValidator(_must_exist)]
ImageFolderPath = Annotated[Path, AfterValidator(_must_be_folder)]
TablePath = Annotated[Path, AfterValidator(_must_be_table)]


def _torchvision_name(value: Any) -> Any:
    """Accept `mnist` or `fashion_mnist` for FashionMNIST: people type names as they remember them."""
    if isinstance(value, str):
        for name in get_args(TorchvisionName):
            if value.replace("_", "").replace("-", "").lower() == name.lower():
                return name
    return value


class SplitConfig(Section):
    """How one source is split into train / val / test."""

    val: float = Field(0.15, ge=0.0, lt=1.0)
    """Fraction of the examples held out for validation (early stopping, best checkpoint)."""
    test: float = Field(0.15, ge=0.0, lt=1.0)
    """Fraction held out for the final test metrics and gates."""
    stratify: bool = True
    """Keep class proportions equal across splits (classification only)."""

    @model_validator(mode="after")
    def _leaves_training_data(self) -> SplitConfig:
        if self.val + self.test >= 1.0:
            raise ValueError(
                f"val ({self.val}) + test ({self.test}) must be less than 1 "
                "so that some examples are left to train on"
            )
        return self


class ValSplit(Section):
    """Validation carved from the training set; the test set is the source's own."""

    val: float = Field(0.1, ge=0.0, lt=1.0)
    """Fraction of the training set held out for validation."""
    stratify: bool = True
    """Keep class proportions equal across train and val."""


class DataSource(Section):
    """What every data source shares, a plugin's too (its config extends this class): how
    training batches are drawn, and what the pipeline asks of any source."""

    sampler: Literal["shuffle", "balanced"] = "shuffle"
    """shuffle: every example once per epoch; balanced: drawn with replacement so that every class is equally likely (imbalanced classification)."""

    def stream_setting(self) -> bool | Literal["auto"]:
        """data.stream where the source has it (8-bit images); other sources never stream."""
        return False

    def resampling(self) -> str | None:
        """data.resample where the source has it (tables); other sources are not resampled."""
        return None


class Streamable(DataSource):
    """8-bit image sources: held in memory as model inputs, or streamed a batch at a time."""

    stream: bool | Literal["auto"] = "auto"
    """Make model inputs a batch at a time from the 8-bit images (memory-mapped from the cache), through a DataLoader with workers, instead of holding every image as floats; auto: when the float inputs would take over a quarter of this machine's memory."""
    workers: NonNegativeInt | Literal["auto"] = "auto"
    """DataLoader worker processes when streaming; auto: half the CPU cores, at most 4; 0: in the training process."""

    def stream_setting(self) -> bool | Literal["auto"]:
        return self.stream


class BuiltinData(DataSource):
    """A small real data set that ships with scikit-learn; works offline."""

    source: Literal["builtin"] = "builtin"
    """Where examples come from: builtin, table, text, image_folder, torchvision."""
    name: BuiltinName
    """digits (8×8 images, 10 classes), iris, wine, breast_cancer (classification), diabetes (regression)."""
    split: SplitConfig = SplitConfig()
    """Seeded train / val / test split."""


class TableData(DataSource):
    """A table with one example per row: CSV, TSV, Parquet or JSON Lines."""

    source: Literal["table"] = "table"
    """Where examples come from: builtin, table, text, image_folder, torchvision."""
    path: TablePath
    """The file; its extension names the format (.csv, .tsv, .parquet, .jsonl)."""
    target: str
    """The column to predict."""
    features: list[str] | None = None
    """Feature columns; all other columns when left out."""
    task: Task = "auto"
    """classification or regression; auto infers it from the target column."""
    numeric_columns: list[str] | None = None
    """Columns that must hold numbers (text in one is an error); default: those read as numbers."""
    categorical_columns: list[str] | None = None
    """Columns that are categories even when they hold numbers (codes, ids); text columns always are."""
    missing: Missing = "median"
    """Empty cells: mean or median (numbers; categories get a 'missing' category), most_frequent, constant (fill_value), or drop the row."""
    fill_value: int | float | str | None = None
    """missing: constant: the value put in empty cells."""
    categorical: Literal["onehot", "index"] = "onehot"
    """Categories as one-hot columns, or as one column of category numbers (0 = unseen)."""
    resample: Literal["oversample", "undersample", "smote"] | None = None
    """Imbalanced classes: rebalance the training split only (never val or test): oversample repeats rare-class rows, undersample drops common-class rows, smote adds rows between rare-class neighbours (needs pip install 'easytrain[imbalance]')."""
    split: SplitConfig = SplitConfig()
    """Seeded train / val / test split."""

    def resampling(self) -> str | None:
        return self.resample

    @model_validator(mode="after")
    def _fill_value_given(self) -> TableData:
        if self.missing == "constant" and self.fill_value is None:
            raise ValueError("missing: constant needs a fill_value")
        return self


class TextData(DataSource):
    """Text to classify or score: one example per row of a CSV, Parquet or JSON Lines file."""

    source: Literal["text"] = "text"
    """Where examples come from: builtin, table, text, image_folder, torchvision."""
    path: TablePath
    """The file; its extension names the format (.csv, .tsv, .parquet, .jsonl)."""
    text: str = "text"
    """The column that holds the text."""
    target: str
    """The column to predict."""
    task: Task = "auto"
    """classification or regression; auto infers it from the target column."""
    level: Literal["word", "char"] = "word"
    """Tokens are words (and punctuation marks) or single characters."""
    lowercase: bool = True
    """Lowercase the text before splitting it into tokens."""
    vocab_size: int = Field(20_000, ge=3)
    """The most tokens kept, counting padding (id 0) and unknown (id 1); by frequency in the training split."""
    min_freq: PositiveInt = 1
    """Tokens seen fewer times than this in the training split become unknown."""
    max_length: PositiveInt = 128
    """Tokens per example: longer texts are cut, shorter ones padded."""
    split: SplitConfig = SplitConfig()
    """Seeded train / val / test split."""


def _image_size(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 2:
        raise ValueError(f"image_size is [height, width] or one number, got {list(value)}")
    return value


class ImageFolderData(Streamable):
    """Images in a folder with one sub-folder per class: data/train/cat/001.jpg …"""

    source: Literal["image_folder"] = "image_folder"
    """Where examples come from: builtin, table, text, image_folder, torchvision."""
    path: ImageFolderPath
    """The folder of class sub-folders (JPEG, PNG, WebP, BMP); the training images when val/test are given."""
    val: ImageFolderPath | None = None
    """A folder laid out like path with the validation images; none: carved from path (split.val)."""
    test: ImageFolderPath | None = None
    """A folder laid out like path with the test images; none: carved from path (split.test)."""
    channels: Literal[1, 3] = 3
    """1 (grayscale) or 3 (RGB): every image is converted to this."""
    image_size: Annotated[
        PositiveInt | tuple[PositiveInt, PositiveInt] | None, BeforeValidator(_image_size)
    ] = None
    """Resize every image to [height, width] (or a square); none: keep sizes, which must all agree."""
    skip_bad_files: bool = False
    """Skip unreadable or truncated images with a warning, instead of failing the run."""
    cache: bool = True
    """Keep decoded images on disk, so that the next run skips decoding (changed files are noticed)."""
    cache_dir: Path | None = None
    """Where the cache lives; default $EASYTRAIN_CACHE or .easytrain-cache/ here."""
    split: SplitConfig = SplitConfig()
    """Seeded split of path into train / val / test; a share given as a folder is not carved."""


class TorchvisionData(Streamable):
    """A torchvision data set by name; the official test split is kept for test."""

    source: Literal["torchvision"] = "torchvision"
    """Where examples come from: builtin, table, text, image_folder, torchvision."""
    name: Annotated[TorchvisionName, BeforeValidator(_torchvision_name)]
    """MNIST, FashionMNIST, KMNIST (28×28 gray), CIFAR10, CIFAR100, SVHN (32×32 RGB)."""
    root: Path = Path("data")
    """The folder that holds (or receives) the data set's files."""
    download: bool = False
    """Download the files into root when they are not there (needs network access)."""
    limit: PositiveInt | None = None
    """Use only the first N images of the official training split and the first N of the test split: a quick first run on part of a big data set (all when left out)."""
    split: ValSplit = ValSplit()
    """Validation carved from the official training split."""


DataConfig = BuiltinData | TableData | TextData | ImageFolderData | TorchvisionData


def held_out_fractions(data: Any) -> dict[str, float]:
    """The val/test shares a raw `data:` mapping asks for; a folder or an official split counts as 1.

    Read from the raw mapping (defaults where keys are left out), for the cross-section checks.
    """
    data = data if isinstance(data, dict) else {}
    split = data.get("split") if isinstance(data.get("split"), dict) else {}
    source = data.get("source", "builtin")
    default = {"val": 0.1, "test": 1.0} if source == "torchvision" else {"val": 0.15, "test": 0.15}
    fractions = {name: split.get(name, share) for name, share in default.items()}
    if source == "torchvision":
        fractions["test"] = 1.0
    for name in ("val", "test"):
        if source == "image_folder" and data.get(name):
            fractions[name] = 1.0
    return fractions
