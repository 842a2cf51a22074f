"""Model outputs of a whole split → loss, predictions and metric values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from easytrain.metrics.threshold import labels_at
from easytrain.registry import Registry

if TYPE_CHECKING:
    from easytrain.data.bundle import SplitInputs


@dataclass
class Predictions:
    y: np.ndarray  # true targets
    pred: np.ndarray  # predicted labels or values
    proba: np.ndarray | None  # class probabilities (classification)


@torch.no_grad()
def outputs(
    model: nn.Module, x: SplitInputs, batch_size: int, device: torch.device
) -> torch.Tensor:
    """The model's raw outputs for x, in eval mode, batched, on the device."""
    was_training = model.training
    model.eval()
    chunks = [
        model(x[i : i + batch_size].to(device, non_blocking=True))
        for i in range(0, len(x), batch_size)
    ]
    model.train(was_training)
    return torch.cat(chunks)


def predictions(
    task: str, out: torch.Tensor, y: torch.Tensor, threshold: float | None = None
) -> Predictions:
    """Labels are the most probable class, or for two classes `threshold` on class 1's probability."""
    if task == "classification":
        if out.shape[-1] == 1:  # one logit (bce): the probability of class 1
            positive = torch.sigmoid(out.float())
            proba = torch.cat([1 - positive, positive], dim=-1)
        else:
            proba = torch.softmax(out.float(), dim=-1)
        p = proba.cpu().numpy()
        if threshold is not None and p.shape[1] == 2:
            pred = labels_at(p[:, 1], threshold)
        else:
            pred = p.argmax(-1)
        return Predictions(y.cpu().numpy(), pred, p)
    if out.ndim == y.ndim + 1 and out.shape[-1] == 1:
        out = out.squeeze(-1)
    return Predictions(y.cpu().numpy(), out.float().cpu().numpy(), None)


def score(predicted: Predictions, names: list[str], registry: Registry) -> dict[str, float]:
    return {
        name: registry.get("metric", name).load()(predicted.y, predicted.pred, predicted.proba)
        for name in names
    }


def predict_split(
    model: nn.Module,
    x: SplitInputs,
    y: torch.Tensor,
    *,
    task: str,
    loss_fn: nn.Module,
    batch_size: int,
    device: torch.device,
    threshold: float | None = None,
) -> tuple[float, Predictions]:
    """The loss and the predictions of one split. Language models: y holds each example's summed
    loss and pred its answer tokens (their logits would not fit in memory at once)."""
    if task == "language_model":
        from easytrain.models.hf_causal import token_losses

        # 8 rows of (length × vocabulary) logits at a time: a 150k vocabulary makes them large
        totals, counts = token_losses(model, x, y, min(batch_size, 8), device)
        return float(totals.sum() / max(counts.sum(), 1)), Predictions(totals, counts, None)
    out = outputs(model, x, batch_size, device)
    loss = float(loss_fn(out, y.to(device)))
    return loss, predictions(task, out, y, threshold)


def evaluate_split(
    model: nn.Module,
    x: SplitInputs,
    y: torch.Tensor,
    *,
    task: str,
    loss_fn: nn.Module,
    names: list[str],
    registry: Registry,
    batch_size: int,
    device: torch.device,
    threshold: float | None = None,
) -> dict[str, float]:
    """{'loss': …, metric: …} for one split."""
    loss, predicted = predict_split(
        model,
        x,
        y,
        task=task,
        loss_fn=loss_fn,
        batch_size=batch_size,
        device=device,
        threshold=threshold,
    )
    return {"loss": loss, **score(predicted, names, registry)}
