"""The `data:` section: where examples come from and how they are split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from easytrain.config.base import Section

BuiltinName = Literal["digits", "iris", "wine", "breast_cancer", "diabetes"]
Task = Literal["auto", "classification", "regression"]


def _must_exist(path: Path) -> Path:
    if not path.exists():
        raise ValueError(f"no such file or folder: {path} (relative paths start at {Path.cwd()})")
    return path


ExistingPath = Annotated[Path, AfterValidator(_must_exist)]


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


class BuiltinData(Section):
    """A small real data set that ships with scikit-learn; works offline."""

    source: Literal["builtin"] = "builtin"
    """Where examples come from: builtin, table …"""
    name: BuiltinName
    """digits (8×8 images, 10 classes), iris, wine, breast_cancer (classification), diabetes (regression)."""
    split: SplitConfig = SplitConfig()
    """Seeded train / val / test split."""


class TableData(Section):
    """A CSV file with one example per row."""

    source: Literal["table"] = "table"
    """Where examples come from: builtin, table …"""
    path: ExistingPath
    """The CSV file."""
    target: str
    """The column to predict."""
    features: list[str] | None = None
    """Feature columns; all other columns when left out."""
    task: Task = "auto"
    """classification or regression; auto infers it from the target column."""
    split: SplitConfig = SplitConfig()
    """Seeded train / val / test split."""
