"""What a run saves for predict, and the model card (export/model.json) built from it.

The pipeline writes preprocessing.json (the data card) and sample_inputs.pt right after the
preprocess stage, so that any finished run can be exported and can predict without its data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from easytrain import __version__
from easytrain.data.bundle import DataBundle, Split
from easytrain.data.preprocessing import Preprocessing

DATA_CARD = "preprocessing.json"
SAMPLE = "sample_inputs.pt"
SAMPLE_COUNT = 64  # validation inputs kept for checking exports later
SAMPLE_BYTES = 8_000_000  # … fewer when inputs are large images


def data_card(data: DataBundle) -> dict[str, Any]:
    """What the model was built from and how raw inputs become its inputs (JSON)."""
    return {
        "task": data.task,
        "classes": data.classes,
        "input_shape": list(data.input_shape),
        "input_dtype": str(data.train.x.dtype).removeprefix("torch."),
        "target_shape": list(data.train.y.shape[1:]),
        "feature_names": data.feature_names,
        "description": data.description,
        "preprocessing": data.preprocessing.as_json(),
    }


def sample_inputs(data: DataBundle) -> torch.Tensor:
    """A few real inputs, validation first: exports are checked on these."""
    source = data.val if data.val is not None and len(data.val) else data.test or data.train
    x = source.x
    per_example = max(x[:1].numel() * x.element_size(), 1)
    count = max(2, min(SAMPLE_COUNT, SAMPLE_BYTES // per_example))
    return x[:count].detach().cpu().clone()


def save_data_card(data: DataBundle, run_dir: Path) -> dict[str, str]:
    """Write preprocessing.json and sample_inputs.pt; return them as artifacts."""
    from easytrain.engine.checkpoint import write_atomic
    from easytrain.pipeline.folders import write_json

    write_json(run_dir / DATA_CARD, data_card(data))
    sample = sample_inputs(data)
    write_atomic(run_dir / SAMPLE, lambda file: torch.save({"x": sample}, file))
    return {"data_card": DATA_CARD, "sample_inputs": SAMPLE}


def bundle_from_card(card: dict[str, Any]) -> DataBundle:
    """A DataBundle without examples that builds the same model as the run's data did."""
    dtype = getattr(torch, card["input_dtype"])
    target = torch.int64 if card["task"] == "classification" else torch.float32
    empty = Split(
        torch.empty((0, *card["input_shape"]), dtype=dtype),
        torch.empty((0, *card["target_shape"]), dtype=target),
    )
    return DataBundle(
        train=empty,
        val=None,
        test=None,
        task=card["task"],
        input_shape=tuple(card["input_shape"]),
        classes=card["classes"],
        feature_names=card["feature_names"],
        description=card["description"],
        preprocessing=Preprocessing.model_validate(card["preprocessing"]),
    )


def input_kind(preprocessing: dict[str, Any]) -> str:
    """image (files), table (rows with named columns), text, or features (numbers in order)."""
    encoding = preprocessing.get("encoding", {})
    for kind in ("image", "table", "text"):
        if kind in encoding:
            return kind
    return "features"


def _steps(kind: str, pre: dict[str, Any]) -> list[str]:
    """How a raw input becomes the model's input, in words, for a consumer without easytrain."""
    encoding = pre.get("encoding", {})
    steps = []
    if kind == "image":
        image = encoding["image"]
        steps.append(f"decode to {image['channels']} channel(s), uint8")
        height, width = image["size"]
        if image.get("resize", "none") != "none":
            steps.append(f"resize to {height}x{width} ({image['resize']})")
        else:
            steps.append(f"images must be {height}x{width}")
        if pre.get("rescale"):
            steps.append("divide by 255")
    elif kind == "table":
        steps.append("numeric columns: booleans as 1/0, empty cells filled with their fill")
        steps.append(
            "categorical columns, compared as text (empty: their fill): "
            + (
                "one-hot over the listed categories, unknown last"
                if encoding["table"]["categorical_encoding"] == "onehot"
                else "category number (position in the list + 1; 0 = unknown)"
            )
        )
    elif kind == "text" and "tokenizer" in encoding["text"]:  # a pretrained model's own
        text = encoding["text"]
        steps.append(
            f"tokenize with the tokenizer saved in the run's {text['tokenizer']}/ folder "
            f"({text['tokenizer_class']}; special tokens added), at most {text['max_length']} tokens"
        )
        steps.append(
            f"pad with {text['pad_id']} to the longest text of the batch (-1 marks padding: the "
            "attention mask is ids >= 0)"
        )
    elif kind == "text":
        text = encoding["text"]
        steps.append(
            f"{'lowercase, ' if text['lowercase'] else ''}split into {text['level']}s "
            f"(pattern {text['token_pattern']!r})"
            if text["level"] == "word"
            else f"{'lowercase, ' if text['lowercase'] else ''}split into characters"
        )
        steps.append(
            f"id = position in vocab + 2 (unknown {text['unknown_id']}), first "
            f"{text['max_length']} tokens, padded with {text['pad_id']}"
        )
    norm = pre.get("normalize")
    if norm:
        steps.append(f"subtract normalize.mean and divide by normalize.std, per {norm['per']}")
    return steps


def output_spec(card: dict[str, Any], outputs: int) -> dict[str, Any]:
    if card["task"] == "regression":
        return {
            "size": outputs,
            "meaning": "values in target units (the target's standardization is undone inside)",
        }
    if outputs == 1:
        return {"size": 1, "meaning": "one logit: sigmoid gives the probability of classes[1]"}
    return {"size": outputs, "meaning": "logits: softmax gives the probability of each class"}


def model_card(
    name: str, card: dict[str, Any], threshold: float | None, outputs: int
) -> dict[str, Any]:
    """export/model.json: what a consumer of an export needs to feed it and read its output."""
    pre = card["preprocessing"]
    kind = input_kind(pre)
    return {
        "easytrain": __version__,
        "name": name,
        "task": card["task"],
        "classes": card["classes"],
        # two classes: predict classes[1] when its probability reaches this; null: the argmax
        "threshold": threshold,
        "input": {
            "kind": kind,
            "shape": card["input_shape"],  # one example; dimension 0 of a batch is dynamic
            "batch_dim": 0,
            "dtype": card["input_dtype"],
            "feature_names": card["feature_names"],
            "steps": _steps(kind, pre),
            **pre,  # input_shape, encoding (image / table / text), rescale, normalize, target
        },
        "output": output_spec(card, outputs),
    }


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
