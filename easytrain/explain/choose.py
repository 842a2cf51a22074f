"""Which examples an explanation shows, and how they are named in its files."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from easytrain.deploy.loaded import LoadedRun


def names(run: LoadedRun, values: Any) -> list[str]:
    values = np.asarray(values).reshape(len(values), -1)[:, 0]
    classes = run.card["classes"]
    return [classes[int(v)] if classes else f"{float(v):.4g}" for v in values]


def pick(
    correct: np.ndarray, confidence: np.ndarray, n: int, labels: np.ndarray | None = None
) -> np.ndarray:
    """Up to n examples: the most confident mistakes (at most half), then right answers, the
    most confident of each label in turn (so that several classes are shown)."""
    order = np.argsort(-confidence, kind="stable")
    wrong = order[~correct[order]][: n // 2]
    right = order[correct[order]]
    if labels is not None:
        rank = np.zeros(len(right), dtype=np.int64)  # place of each among its label's answers
        seen: dict[int, int] = {}
        for i, index in enumerate(right):
            rank[i] = seen.get(int(labels[index]), 0)
            seen[int(labels[index])] = rank[i] + 1
        right = right[np.argsort(rank, kind="stable")]
    return np.concatenate([wrong, right[: n - len(wrong)]]).astype(np.int64)


def explained(
    chosen: np.ndarray, true: list[str], predicted: list[str], confidence: np.ndarray
) -> list[dict[str, Any]]:
    """The explained examples in order (as in images.png / tokens.html): their row in the split."""
    return [
        {"row": int(row), "true": t, "predicted": p, "confidence": float(c)}
        for row, t, p, c in zip(chosen, true, predicted, confidence, strict=True)
    ]


def which(correct: np.ndarray, chosen: np.ndarray) -> str:
    wrong = int((~correct[chosen]).sum())
    return f"{wrong} wrong, {len(chosen) - wrong} right"


def tokens(
    run: LoadedRun, settings: dict[str, Any], ids: torch.Tensor, pad: int
) -> list[list[str]]:
    """Each row of token ids back to its tokens (padding left out): easytrain's vocabulary, or
    the pretrained model's tokenizer saved in the run folder."""
    rows = [[i for i in row.tolist() if i != pad] for row in ids]
    if "vocab" in settings:
        vocab = settings["vocab"]
        return [[vocab[i - 2] if i >= 2 else "<unk>" for i in row] for row in rows]
    from easytrain.models.hf import load_tokenizer

    tokenizer = load_tokenizer(folder=run.run_dir / settings["tokenizer"])
    return [tokenizer.convert_ids_to_tokens(row) for row in rows]
