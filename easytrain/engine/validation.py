"""An epoch's validation scores: one forward pass over the val split, scored on the device.

Accuracy, the classification default, is counted where the logits are (argmax of the softmax,
as the host path takes it, so ties break alike), and two numbers come back to the host: the loss
and the count. Every other metric, a plugin's accuracy, or a language model goes through
metrics/scoring.py, which moves the predictions to numpy.
"""

from __future__ import annotations

import torch

from easytrain.engine.setup import Training
from easytrain.metrics.scoring import evaluate_split, outputs, predictions, score

ON_DEVICE = {"accuracy": "easytrain.metrics.compute:accuracy"}  # name: the built-in it stands for


def _on_device(t: Training) -> bool:
    return t.task == "classification" and all(
        ON_DEVICE.get(name) == t.registry.get("metric", name).target for name in t.metric_names
    )


def val_scores(t: Training, batch_size: int) -> dict[str, float]:
    """{'loss': …, metric: …} of the val split; the same numbers as evaluate_split."""
    assert t.val is not None
    if t.task == "language_model":
        return evaluate_split(
            t.model,
            t.val.x,
            t.val.y,
            task=t.task,
            loss_fn=t.loss_fn,
            names=t.metric_names,
            registry=t.registry,
            batch_size=batch_size,
            device=t.device,
        )
    out = outputs(t.model, t.val.x, batch_size, t.device)
    y = t.val.y.to(t.device)
    loss = float(t.loss_fn(out, y))
    if not (_on_device(t) and out.ndim == 2 and out.shape[-1] > 1):
        return {
            "loss": loss,
            **score(predictions(t.task, out, t.val.y), t.metric_names, t.registry),
        }
    found: dict[str, float] = {"loss": loss}
    if t.metric_names:  # the count divided on the host: what numpy's mean of matches gives
        pred = torch.softmax(out.float(), dim=-1).argmax(-1)
        found["accuracy"] = int((pred == y).sum()) / len(y)
    return found
