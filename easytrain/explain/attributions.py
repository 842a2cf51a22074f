"""Per-example attributions with Captum: which parts of one input moved the model's output.

Integrated gradients add up the gradient along a straight path from a baseline input to the real
one; the attributions sum to the output's change (completeness). The baseline is the all-zero
input: for standardized tables and images that is the training split's average, for text the
all-padding text (its embeddings are zero). Inputs the gradient cannot reach (category numbers
that a tabular model embeds) are measured by ablation instead: each column set to its baseline.
"""

from __future__ import annotations

import torch
from torch import nn

from easytrain.explain import captum
from easytrain.explain.importance import Groups

STEPS = 32  # points on the integral's path; more is closer, each costs a forward and backward


class _Logits(nn.Module):
    """The model with 2-D outputs (n, k), so that every output has a target index."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out.unsqueeze(-1) if out.ndim == 1 else out


def targets(out: torch.Tensor) -> torch.Tensor:
    """The output to explain for each example: the predicted class (index 0 for one output)."""
    if out.ndim == 1 or out.shape[-1] == 1:
        return torch.zeros(len(out), dtype=torch.long)
    return out.argmax(-1)


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Attributions shaped like x, for float inputs (table rows, images)."""
    method = captum().IntegratedGradients(_Logits(model))
    x = x.detach().float().requires_grad_()
    found = method.attribute(
        x,
        torch.zeros_like(x),
        target=target,
        n_steps=STEPS,
        internal_batch_size=max(len(x) * 8, 16),
    )
    return found.detach()


def ablation(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, groups: Groups
) -> torch.Tensor:
    """Attributions shaped like x: the output's change when each column is set to 0, spread
    over that column's inputs."""
    mask = torch.zeros(x.shape[1], dtype=torch.long)
    for number, (_, columns) in enumerate(groups):
        mask[columns] = number
    method = captum().FeatureAblation(_Logits(model))
    return method.attribute(
        x.float(),
        torch.zeros_like(x, dtype=torch.float32),
        target=target,
        feature_mask=mask.unsqueeze(0),
    ).detach()


def by_column(attributions: torch.Tensor, groups: Groups) -> torch.Tensor:
    """(n, inputs) → (n, columns): a column's attribution is the sum over its inputs."""
    return torch.stack([attributions[:, cols].sum(dim=1) for _, cols in groups], dim=1)


def token_embedding(model: nn.Module, vocab_size: int | None) -> nn.Embedding | None:
    """The layer that turns token ids into vectors: the first nn.Embedding with the vocabulary's
    size (or the first one at all)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    sized = [m for m in layers if m.num_embeddings == vocab_size]
    return (sized or layers)[0] if layers else None


def token_attributions(
    model: nn.Module,
    ids: torch.Tensor,
    target: torch.Tensor,
    layer: nn.Embedding,
    pad: int = 0,
    blank: int = 0,
) -> torch.Tensor:
    """(n, length): each token's share, by layer integrated gradients over the embeddings. The
    baseline text has every real token replaced by `blank` (the padding token); `pad` marks
    the padding of the inputs, which gets no share."""
    method = captum().LayerIntegratedGradients(_Logits(model), layer)
    found = method.attribute(
        ids,
        torch.where(ids == pad, ids, torch.full_like(ids, blank)),
        target=target,
        n_steps=STEPS,
        internal_batch_size=max(len(ids) * 8, 16),
    )
    return found.sum(dim=-1).detach() * (ids != pad)
