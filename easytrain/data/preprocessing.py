"""What predict needs to prepare raw inputs the way training did: the "preprocessing" entry of
preprocessing.json, typed. The file keeps its format, so old run folders load as before: the
entries named here are typed, the others (an image's size and channels, a text's tokens …)
are kept as they were written."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class TargetScale(BaseModel):
    """Regression: the training targets' mean and spread (the model outputs real units)."""

    mean: float
    std: float


class Preprocessing(BaseModel):
    model_config = ConfigDict(extra="allow")

    input_shape: list[int] = []
    encoding: dict[str, Any] = {}  # table: columns and categories; text: vocabulary …
    normalize: dict[str, Any] | None = None  # mean, std and per (feature | channel)
    target: TargetScale | None = None

    def encoded(self, kind: str) -> dict[str, Any]:
        """How inputs of a kind (table, text, chat) were encoded; {} for other kinds."""
        found: dict[str, Any] = self.encoding.get(kind) or {}
        return found

    def as_json(self) -> dict[str, Any]:
        """The entry as preprocessing.json holds it: only what was given, nothing added."""
        return self.model_dump(mode="json", exclude_unset=True)

    def merged(self, other: dict[str, Any]) -> Preprocessing:
        """These entries with `other`'s over them (new data put on a finished run's scale)."""
        return Preprocessing.model_validate({**self.as_json(), **other})
