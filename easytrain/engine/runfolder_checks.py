"""Checks of the files a run folder from elsewhere hands us: one line naming the file and what is
wrong with it (exit 1), instead of a KeyError or a size-mismatch dump deep in torch.

`torch.load(weights_only=True)` only promises that loading runs no code; what comes out can be
any mix of dicts, lists and tensors. These check the shape each reader relies on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from easytrain.errors import RecipeError, RunFailed

# last.pt's layout; 3: the history and the recipe as JSON text, Python's RNG state as a tensor
CHECKPOINT_FORMAT = 3
MAX_INPUT_VALUES = 100_000_000  # numbers in one example: 400 MB as float32, far above any real one
TRAINING_STATE: dict[
    str, type | tuple[type, ...]
] = {  # last.pt's `state`: LoopState's fields and the types they must have
    "epoch": int,
    "batch": int,
    "step": int,
    "history": str,  # JSON: a list of epoch rows
    "best_value": (float, int, type(None)),
    "best_epoch": (int, type(None)),
    "bad_epochs": int,
}
LAST_KEYS = ("model", "optimizer", "schedule", "ranks", "state")


def _fail(path: Path, why: str) -> RunFailed:
    return RunFailed(f"{path}: {why}")


def weights(saved: Any, path: Path, key: str | None = "model") -> dict[str, Any]:
    """The weights in a checkpoint (saved[key]): a mapping of parameter names to tensors."""
    import torch

    state = saved
    if key is not None:
        if not isinstance(saved, dict) or key not in saved:
            raise _fail(path, f"not an easytrain checkpoint (no '{key}' entry)")
        state = saved[key]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise _fail(path, "its weights are not a mapping of parameter names to tensors")
    return state


def load_into(model: Any, state: dict[str, Any], path: Path) -> None:
    """model.load_state_dict, with a mismatch said in one line: which keys, which shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    sizes = [
        f"{k} {list(state[k].shape)} (the model has {list(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [
        f"{len(found)} {what}: {', '.join(found[:3])}{' …' if len(found) > 3 else ''}"
        for what, found in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("of another size", sizes),
        )
        if found
    ]
    if problems:
        raise _fail(path, "does not fit the model recipe.yaml builds: " + "; ".join(problems))
    model.load_state_dict(state)


def _decoded(text: Any, kind: type) -> Any:
    """The value of a JSON text if it is a `kind`, else None."""
    try:
        found = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return found if isinstance(found, kind) else None


def training_checkpoint(saved: Any, path: Path) -> dict[str, Any]:
    """last.pt, before --resume reads it: every entry there, and its state of the right types;
    its history and recipe, stored as JSON text, decoded in place."""
    if not isinstance(saved, dict):
        raise _fail(path, f"not an easytrain checkpoint (a {type(saved).__name__}, not a mapping)")
    if saved.get("format") != CHECKPOINT_FORMAT:
        raise RecipeError(f"--resume: {path} was written by another version of easytrain")
    missing = [key for key in LAST_KEYS if key not in saved]
    if missing:
        raise _fail(path, f"not a whole checkpoint: it has no {', '.join(missing)}")
    weights(saved, path)
    state, ranks = saved["state"], saved["ranks"]
    if not isinstance(state, dict):
        raise _fail(path, "its 'state' is not a mapping")
    for name, kind in TRAINING_STATE.items():
        value = state.get(name)
        if name not in state or isinstance(value, bool) or not isinstance(value, kind):
            raise _fail(path, f"state.{name} is {value!r}, not what a checkpoint holds")
    history = _decoded(state["history"], list)
    if history is None or not all(isinstance(row, dict) for row in history):
        raise _fail(path, "state.history is not a list of epoch rows")
    recipe = _decoded(saved.get("recipe", "{}"), dict)
    if recipe is None:
        raise _fail(path, "its recipe is not the JSON text of a mapping")
    state["history"], saved["recipe"] = history, recipe
    if not isinstance(ranks, list) or not all(
        isinstance(r, dict) and "rng" in r and "loss_sum" in r for r in ranks
    ):
        raise _fail(path, "its 'ranks' (random states per process) are damaged")
    if not isinstance(saved["optimizer"], dict) or not isinstance(saved["schedule"], dict):
        raise _fail(path, "its optimizer or schedule state is not a mapping")
    return saved


def input_shape(value: Any, path: Path) -> list[int]:
    """An example's shape from preprocessing.json: positive whole numbers, of a size that fits."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
    ):
        raise _fail(path, f"input_shape {value!r} is not a list of positive whole numbers")
    if math.prod(value) > MAX_INPUT_VALUES:
        raise _fail(
            path,
            f"input_shape {value} is {math.prod(value):,} numbers per example; "
            f"more than {MAX_INPUT_VALUES:,} is no real model's input",
        )
    return value


def data_card(card: Any, path: Path) -> dict[str, Any]:
    """preprocessing.json: a mapping with a sane input_shape, classes and preprocessing."""
    if not isinstance(card, dict):
        raise _fail(path, f"not a data card (a {type(card).__name__}, not a mapping)")
    input_shape(card.get("input_shape"), path)
    classes = card.get("classes")
    if classes is not None and not (
        isinstance(classes, list) and all(isinstance(c, str | int) for c in classes)
    ):
        raise _fail(path, f"classes {classes!r} is not a list of class names")
    if not isinstance(card.get("preprocessing", {}), dict):
        raise _fail(path, "its 'preprocessing' is not a mapping")
    inner = card.get("preprocessing", {}).get("input_shape")
    if inner is not None and inner != card["input_shape"]:
        raise _fail(
            path,
            f"input_shape {card['input_shape']} and preprocessing.input_shape {inner} disagree",
        )
    return card


def sample(saved: Any, path: Path, shape: list[int]) -> Any:
    """sample_inputs.pt: {'x': a batch of inputs of the run's input shape}."""
    import torch

    x = saved.get("x") if isinstance(saved, dict) else None
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or len(x) == 0:
        raise _fail(path, "not a batch of sample inputs (no tensor 'x')")
    if list(x.shape[1:]) != list(shape):
        raise _fail(path, f"its inputs have shape {list(x.shape[1:])}, the run's are {shape}")
    return x


SUMMARY_TYPES: dict[str, Any] = {  # summary.json's entries that a report reads, and their types
    "metrics": dict,
    "gates": list,
    "per_class": dict,
    "confusion_matrix": dict,
    "data": (dict, type(None)),
    "threshold": (dict, type(None)),
    "timings": dict,
    "best_epoch": (int, type(None)),
    "epochs_completed": int,
    "status": str,
}
GATE_KEYS = ("metric", "split", "value", "op", "bound", "passed", "missed_by")


def summary(found: Any, path: Path) -> dict[str, Any]:
    """summary.json as `easytrain report` reads it: each entry of its type, gates whole, and
    metrics numbers. A missing entry is fine (a failed run writes few)."""
    if not isinstance(found, dict):
        raise _fail(path, f"not a run summary (a {type(found).__name__}, not a mapping)")
    for key, kind in SUMMARY_TYPES.items():
        if key in found and (isinstance(found[key], bool) or not isinstance(found[key], kind)):
            raise _fail(path, f"'{key}' is {_short(found[key])}, not what a run summary holds")
    for split, values in found.get("metrics", {}).items():
        if not isinstance(values, dict) or not all(_number(v) for v in values.values()):
            raise _fail(path, f"metrics.{split} is {_short(values)}, not metric names and numbers")
    for gate in found.get("gates", []):
        if not isinstance(gate, dict) or any(key not in gate for key in GATE_KEYS):
            raise _fail(path, f"a gate {_short(gate)} lacks {', '.join(GATE_KEYS)}")
    threshold = found.get("threshold")
    if threshold and not _number(threshold.get("value")):
        raise _fail(path, f"threshold {_short(threshold)} has no numeric value")
    return found


def _number(value: Any) -> bool:
    return value is None or isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
