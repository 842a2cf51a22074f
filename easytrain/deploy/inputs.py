"""Raw inputs (image files or bytes, table rows, texts, numbers) → the run's model inputs.

Each step is the data modules' own code with the run's saved settings: images.try_decode,
TableEncoder.from_json, text.encode_texts, inputs.prepare. Nothing here decodes or encodes
on its own, so predict feeds the model exactly what training fed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from easytrain.data.encoders import TableEncoder
from easytrain.data.images import try_decode
from easytrain.data.inputs import prepare
from easytrain.data.table import as_numbers
from easytrain.data.text import encode_texts
from easytrain.errors import RecipeError

Where = Callable[[int], str]  # row position in a frame → "data.csv:14", for messages


class Preparer:
    """Turns one kind of raw input into model inputs, as the run prepared its training data."""

    def __init__(self, card: dict[str, Any], run_dir: Path | None = None):
        self.card = card
        self.run_dir = run_dir  # where a pretrained model's tokenizer/ folder is
        self.pre: dict[str, Any] = card["preprocessing"]
        self.shape: tuple[int, ...] = tuple(card["input_shape"])
        self.encoding: dict[str, Any] = self.pre.get("encoding", {})

    # images ------------------------------------------------------------------------------
    def images(self, sources: Sequence[Path | torch.Tensor], names: Sequence[str]) -> torch.Tensor:
        """Image files, or encoded image bytes (uint8 tensors), decoded like the training images."""
        image = self.encoding["image"]
        resized = image.get("resize", "none") != "none"
        size = tuple(image["size"]) if resized else None
        decoded = []
        for source, name in zip(sources, names, strict=True):
            found = try_decode(source, image["channels"], size)
            if isinstance(found, str):
                raise RecipeError(f"{name}: cannot read the image: {found}")
            if tuple(found.shape) != self.shape:
                raise RecipeError(
                    f"{name}: the image is {found.shape[-2]}×{found.shape[-1]}, the model takes "
                    f"{self.shape[-2]}×{self.shape[-1]} (the run did not resize its images; "
                    "data.image_size makes a run resize them all)"
                )
            decoded.append(found)
        return prepare(torch.stack(decoded).numpy(), self.pre)

    # tables ------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        """The columns a row must have."""
        if "table" in self.encoding:
            table = self.encoding["table"]
            return [*table["numeric"], *table["categorical"]]
        return list(self.card["feature_names"] or [])

    def rows(self, frame: pd.DataFrame, where: Where, origin: str) -> torch.Tensor:
        """Table rows from `origin` (other columns, the target among them, are ignored)."""
        wanted = self.columns()
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise RecipeError(
                f"{origin}: no column(s) {', '.join(missing)}; the model reads {', '.join(wanted)}"
            )
        if "table" not in self.encoding:
            return self._numbers(frame, where, origin)
        frame = frame.copy()
        encoder = TableEncoder.from_json(self.encoding["table"])
        for column in encoder.numeric:
            frame[column] = as_numbers(frame[column], where, f"column '{column}'")
        return prepare(encoder.transform(frame), self.pre)

    def _numbers(self, frame: pd.DataFrame, where: Where, origin: str) -> torch.Tensor:
        """Plain numeric features (built-in data sets): named columns, or every column in order."""
        names = self.columns() or list(frame.columns)
        size = math.prod(self.shape)
        if len(names) != size:
            raise RecipeError(
                f"{origin}: {len(names)} column(s), the model takes {size} "
                f"numbers per example (shape {list(self.shape)}, flattened)"
            )
        values = [as_numbers(frame[c], where, f"column '{c}'").to_numpy(np.float32) for c in names]
        x = np.stack(values, axis=1) if values else np.zeros((len(frame), 0), np.float32)
        if np.isnan(x).any():
            row = frame.index[int(np.isnan(x).any(axis=1).argmax())]
            raise RecipeError(f"{where(row)}: an empty cell; this model has no fill values")
        return prepare(x.reshape(len(frame), *self.shape), self.pre)

    # texts -------------------------------------------------------------------------------
    def texts(self, texts: Sequence[str], names: Sequence[str]) -> torch.Tensor:
        settings = self.encoding["text"]
        if "tokenizer" in settings:  # a pretrained model's own tokenizer (model.type hf)
            return self._tokenized(texts, names, settings)
        ids = encode_texts(list(texts), settings)
        empty = np.flatnonzero((ids != settings["pad_id"]).sum(axis=1) == 0)
        if len(empty):
            raise RecipeError(f"{names[int(empty[0])]}: the text is empty")
        return prepare(ids, self.pre)

    def _tokenized(
        self, texts: Sequence[str], names: Sequence[str], settings: dict[str, Any]
    ) -> torch.Tensor:
        """Token ids from the run's saved tokenizer, padded with -1 to the longest of texts."""
        from easytrain.data.hf_text import encode
        from easytrain.models.hf_files import load_tokenizer

        for name, text in zip(names, texts, strict=True):
            if not text.strip():
                raise RecipeError(f"{name}: the text is empty")
        if getattr(self, "_tokenizer", None) is None:
            assert self.run_dir is not None, "a run folder holds the tokenizer"
            self._tokenizer = load_tokenizer(folder=self.run_dir / settings["tokenizer"])
        return torch.from_numpy(encode(list(texts), settings, self._tokenizer))
